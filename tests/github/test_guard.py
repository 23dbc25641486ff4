"""Acting on credentials from GitHub Actions: refused for pull requests and forks, with one
line that says so; nothing is checked outside GitHub Actions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leakstop.errors import UsageError
from leakstop.github.guard import default_branch, is_fork, refuse_untrusted_apply


def _environ(tmp_path: Path, event_name: str, payload: dict[str, Any]) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(path),
    }


@pytest.mark.parametrize(
    ("payload", "fork"),
    [
        ({"pull_request": {"head": {"repo": {"fork": True}}}}, True),
        ({"pull_request": {"head": {"repo": {"fork": False}}}}, False),
        ({"workflow_run": {"head_repository": {"fork": True}}}, True),
        ({"repository": {"fork": True}}, True),
        ({"repository": {"fork": "true"}}, False),  # only JSON true counts, as GitHub sends
        ({"pull_request": None, "repository": []}, False),
        ({}, False),
    ],
)
def test_is_fork(payload: dict[str, Any], fork: bool) -> None:
    assert is_fork(payload) is fork


@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_pull_request_events_are_refused(tmp_path: Path, event: str) -> None:
    environ = _environ(tmp_path, event, {"repository": {"fork": False}})
    with pytest.raises(UsageError, match=f"respond --apply never runs for {event} events"):
        refuse_untrusted_apply("respond --apply", environ)


@pytest.mark.parametrize("event", ["push", "schedule", "workflow_dispatch", "workflow_run"])
def test_forks_are_refused_for_any_event(tmp_path: Path, event: str) -> None:
    environ = _environ(tmp_path, event, {"repository": {"fork": True}})
    with pytest.raises(UsageError, match="rotations run never runs for a fork"):
        refuse_untrusted_apply("rotations run", environ)


def test_the_repository_own_push_is_allowed(tmp_path: Path) -> None:
    environ = _environ(tmp_path, "push", {"repository": {"fork": False}})
    refuse_untrusted_apply("respond --apply", environ)


def test_outside_github_actions_nothing_is_checked(tmp_path: Path) -> None:
    environ = _environ(tmp_path, "pull_request", {"repository": {"fork": True}})
    environ["GITHUB_ACTIONS"] = "false"
    refuse_untrusted_apply("respond --apply", environ)


def test_an_unreadable_payload_is_one_line(tmp_path: Path) -> None:
    environ = _environ(tmp_path, "push", {})
    Path(environ["GITHUB_EVENT_PATH"]).write_text("{not json")
    with pytest.raises(UsageError, match="cannot read the event payload"):
        refuse_untrusted_apply("respond --apply", environ)


def test_default_branch() -> None:
    assert default_branch({"repository": {"default_branch": "trunk"}}) == "trunk"
    with pytest.raises(UsageError, match=r"has no repository\.default_branch"):
        default_branch({"repository": {}})
