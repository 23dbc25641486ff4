"""What a workflow run may do to credentials: acting is refused where the run's code or
inputs can come from someone who does not own the repository.

A pull request's workflow runs code the pull request brings (`pull_request`) or runs with
the base's secrets on behalf of any author (`pull_request_target`); a fork's runs belong to
the fork's owner. None of them may rotate or revoke anything: plans are fine, applying is not.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakstop.errors import UsageError

UNTRUSTED_EVENTS = frozenset({"pull_request", "pull_request_target"})


def in_actions(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def event_payload(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The event payload ($GITHUB_EVENT_PATH); UsageError when it is named but unreadable."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the event payload {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def is_fork(payload: Mapping[str, Any]) -> bool:
    """The run is for a fork: a pull request from one (`pull_request.head.repo.fork`), a
    `workflow_run` that a fork's run triggered (`workflow_run.head_repository.fork`), or a run
    in the fork itself (`repository.fork`)."""
    return any(
        _get(payload, *path) is True
        for path in (
            ("pull_request", "head", "repo", "fork"),
            ("workflow_run", "head_repository", "fork"),
            ("repository", "fork"),
        )
    )


def _get(data: Mapping[str, Any], *keys: str) -> object:
    value: object = data
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def refuse_untrusted_apply(what: str, environ: Mapping[str, str] = os.environ) -> None:
    """Raise UsageError (one line) when this GitHub Actions run must not act on credentials;
    outside GitHub Actions nothing is checked. `what` names the act, e.g. 'respond --apply'."""
    if not in_actions(environ):
        return
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event in UNTRUSTED_EVENTS:
        raise UsageError(
            f"{what} never runs for {event} events: a pull request cannot rotate or revoke "
            "credentials; plan here, apply from a workflow on the default branch"
        )
    if is_fork(event_payload(environ)):
        raise UsageError(
            f"{what} never runs for a fork: only the repository's own runs on its default "
            "branch may rotate or revoke credentials"
        )


def default_branch(payload: Mapping[str, Any]) -> str:
    """The repository's default branch from the event payload; UsageError when absent."""
    repository = payload.get("repository")
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    if not isinstance(branch, str) or not branch:
        raise UsageError(
            "cannot tell the default branch: the event payload has no "
            "repository.default_branch (the config is read from the default branch in Actions)"
        )
    return branch
