"""Which scan a GitHub event asks for, and what an event may not carry."""

from __future__ import annotations

from typing import Any

import pytest

from leakstop.errors import SourceError
from leakstop.github.event import ZERO_SHA, ActionMode, plan

BASE, HEAD = "a" * 40, "b" * 40


def _pull(base: Any = BASE, head: Any = HEAD) -> dict[str, Any]:
    return {"pull_request": {"number": 5, "base": {"sha": base}, "head": {"sha": head}}}


def test_pull_request_scans_what_it_adds_with_trust_in_its_base() -> None:
    for event in ("pull_request", "pull_request_target"):
        scan = plan(event, _pull(), ActionMode.AUTO)
        assert (scan.mode, scan.base, scan.head, scan.trusted_commit) == (
            ActionMode.DIFF,
            BASE,
            HEAD,
            BASE,
        )


@pytest.mark.parametrize(
    "payload",
    [
        _pull(base="--upload-pack=touch x;true"),
        _pull(head="main"),
        _pull(base=None),
        _pull(base="A" * 40),
        {"pull_request": "yes"},
    ],
)
def test_a_pull_request_without_real_commit_ids_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(SourceError):
        plan("pull_request", payload, ActionMode.AUTO)


def test_push_ranges() -> None:
    pushed = plan("push", {"before": BASE, "after": HEAD}, ActionMode.AUTO)
    assert (pushed.mode, pushed.head, pushed.exclude) == (ActionMode.PUSH, HEAD, [BASE])
    new_branch = plan(
        "push",
        {"before": ZERO_SHA, "after": HEAD, "repository": {"default_branch": "main"}},
        ActionMode.AUTO,
    )
    assert (new_branch.head, new_branch.default_branch, new_branch.exclude) == (HEAD, "main", [])
    deleted = plan("push", {"before": BASE, "after": ZERO_SHA, "deleted": True}, ActionMode.AUTO)
    assert deleted.empty


@pytest.mark.parametrize(
    "payload",
    [
        {"before": "-n", "after": HEAD},
        {"before": BASE, "after": "--all"},
        {"before": ZERO_SHA, "after": HEAD, "repository": {"default_branch": "--output=x"}},
    ],
)
def test_a_push_cannot_carry_options(payload: dict[str, Any]) -> None:
    with pytest.raises(SourceError):
        plan("push", payload, ActionMode.AUTO)


def test_modes_need_their_events() -> None:
    assert plan("schedule", {}, ActionMode.AUTO).mode is ActionMode.HISTORY
    assert plan("workflow_dispatch", {}, ActionMode.AUTO).mode is ActionMode.HISTORY
    assert plan("release", {}, ActionMode.AUTO).mode is ActionMode.FILES
    with pytest.raises(SourceError, match="needs a pull_request event"):
        plan("push", {"before": BASE, "after": HEAD}, ActionMode.DIFF)
    with pytest.raises(SourceError, match="needs a push event"):
        plan("schedule", {}, ActionMode.PUSH)
