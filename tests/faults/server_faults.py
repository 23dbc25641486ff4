"""What the server-fault tests share: a `leakstop` run with a fault injected after a rotation
step, the check that a failed run said so in one line, and the audit trail's steps."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from leakstop.audit.log import AuditLog
from leakstop.cli import main
from leakstop.rotator import machine
from leakstop.rotator.machine import Step

#: The records a rotation writes (reads of the local store are audited too, and left out).
ROTATION_RECORDS = frozenset(
    {
        "rotation_started",
        "rotation_step",
        "rotation_completed",
        "rotation_failed",
        "rollback",
        "revoked",
    }
)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def rotate(
    name: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    after: Callable[[Step], None] | None = None,
) -> Run:
    """`leakstop rotate NAME --apply --resume` as a user runs it; `after` is called after each
    step of the run's machine (the command builds its machine itself, so it is given one
    that calls back)."""
    capsys.readouterr()
    with monkeypatch.context() as patch:
        if after is not None:
            patch.setattr(machine, "Machine", functools.partial(machine.Machine, after_step=after))
        code = main(["rotate", name, "--apply", "--resume"])
    out, err = capsys.readouterr()
    return Run(code, out, err)


def assert_one_clear_line(run: Run, secrets: Iterable[str], *, says: str) -> None:
    """A failed run: exit 2, one line on stderr naming the cause, no traceback, no secret."""
    assert run.code == 2, run
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err
    assert says in lines[0], lines[0]
    for secret in secrets:
        assert secret not in run.out + run.err


def steps_recorded(home: Path, secret: str) -> list[tuple[str, str]]:
    """The rotation records of `secret`: (action, step or outcome), oldest first."""
    trail = []
    for record in AuditLog.open(home / "audit", None).records():
        if record.secret != secret or record.action.value not in ROTATION_RECORDS:
            continue
        detail = record.details.get("step") or record.details.get("outcome") or ""
        trail.append((record.action.value, str(detail)))
    return trail
