"""What to scan for a GitHub Actions event: a pure function of the event name and payload.

* `pull_request` / `pull_request_target`: what the pull request adds (`base.sha..head.sha`,
  compared at their merge base). Config and baseline come from the base commit, so a pull
  request cannot weaken its own scan.
* `push`: every commit pushed (`before..after`); a new branch (`before` all zeros) is compared
  with the default branch; a deleted branch has nothing to scan.
* `schedule`, `workflow_dispatch`: the whole history of every branch.
* anything else: the files checked out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from leakstop.errors import SourceError
from leakstop.gitcli import object_id, revision

ZERO_SHA = "0" * 40
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
HISTORY_EVENTS = ("schedule", "workflow_dispatch")


class ActionMode(str, enum.Enum):
    AUTO = "auto"
    DIFF = "diff"
    PUSH = "push"
    HISTORY = "history"
    FILES = "files"


@dataclass(frozen=True)
class Plan:
    mode: ActionMode
    #: DIFF: the base and head commits (the scan compares head with their merge base).
    base: str = ""
    head: str = ""
    #: PUSH: the pushed commits are `head` minus what `exclude` reaches.
    exclude: list[str] = field(default_factory=list)
    #: PUSH of a new branch: the default branch to compare with.
    default_branch: str = ""
    #: Where config and baseline are read from; None: the checkout.
    trusted_commit: str | None = None
    #: Nothing to scan (a deleted branch).
    empty: bool = False
    description: str = ""


def plan(event_name: str, payload: dict[str, Any], requested: ActionMode) -> Plan:
    """The scan for this event; raises SourceError when the event lacks what a mode needs."""
    mode = requested
    if mode is ActionMode.AUTO:
        if event_name in PULL_REQUEST_EVENTS:
            mode = ActionMode.DIFF
        elif event_name == "push":
            mode = ActionMode.PUSH
        elif event_name in HISTORY_EVENTS:
            mode = ActionMode.HISTORY
        else:
            mode = ActionMode.FILES
    if mode is ActionMode.DIFF:
        pull = payload.get("pull_request")
        if not isinstance(pull, dict):
            raise SourceError(f"mode 'diff' needs a pull_request event, not {event_name!r}")
        base, head = _sha(pull, "base"), _sha(pull, "head")
        return Plan(
            ActionMode.DIFF,
            base=base,
            head=head,
            trusted_commit=base,
            description=f"pull request #{pull.get('number', '?')}: lines added since {base[:12]}",
        )
    if mode is ActionMode.PUSH:
        if event_name != "push":
            raise SourceError(f"mode 'push' needs a push event, not {event_name!r}")
        before, after = str(payload.get("before", "")), str(payload.get("after", ""))
        if after in ("", ZERO_SHA) or payload.get("deleted"):
            return Plan(
                ActionMode.PUSH, empty=True, description="a deleted branch: nothing to scan"
            )
        object_id(after, "the push event's 'after'")
        if before in ("", ZERO_SHA):
            default = str((payload.get("repository") or {}).get("default_branch") or "")
            if default:
                revision(default, "the default branch")
            return Plan(
                ActionMode.PUSH,
                head=after,
                default_branch=default,
                description=f"new branch: commits up to {after[:12]} not on "
                f"{default or 'the default branch'}",
            )
        object_id(before, "the push event's 'before'")
        return Plan(
            ActionMode.PUSH,
            base=before,
            head=after,
            exclude=[before],
            description=f"pushed commits {before[:12]}..{after[:12]}",
        )
    if mode is ActionMode.HISTORY:
        return Plan(ActionMode.HISTORY, description="the whole history of every branch")
    return Plan(ActionMode.FILES, description="the files in the checkout")


def _sha(pull: dict[str, Any], side: str) -> str:
    sha = (pull.get(side) or {}).get("sha")
    if not isinstance(sha, str):
        raise SourceError(f"the pull_request event has no {side}.sha")
    return object_id(sha, f"the pull_request event's {side}.sha")
