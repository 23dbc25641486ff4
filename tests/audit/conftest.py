"""Audit logs built on disk with a clock the test moves, and the edits an attacker would make to
their files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Source

KEY = b"test-audit-key-0123456789abcdef"
START = datetime(2026, 1, 10, 9, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test sets; each call returns the current time."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def context() -> Context:
    return Context("alice", Source.CLI, details={"run": "local"})


def build_log(
    folder: Path,
    key: bytes | None,
    clock: Clock,
    days: Sequence[int] = (0, 1, 2),
    per_day: int = 4,
) -> AuditLog:
    """A log with `per_day` records on each of `days` (offsets from START), an hour apart."""
    log = AuditLog.open(folder, key, clock=clock)
    actor = Context("alice", Source.CLI)
    for day in days:
        for hour in range(per_day):
            clock.now = START + timedelta(days=day, hours=hour)
            log.append(Action.SECRET_READ, f"billing/key-{day}", actor, details={"n": hour})
    return log


def day_paths(folder: Path) -> list[Path]:
    return sorted(folder.glob("audit-*.jsonl*"))


def read_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: Sequence[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def documents(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_lines(path)]
