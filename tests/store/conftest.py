"""Stores built on disk with a real audit log. PBKDF2 runs at 1,000 iterations here (through
the constructor argument) so each test derives in ~1 ms; tests marked as such keep 600,000."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.store import LocalStore

MASTER = b"correct horse battery staple"
AUDIT_KEY = b"store-tests-audit-key"
FAST = 1000
ALICE = Context("alice", Source.API)


@pytest.fixture
def audit_log(private_home: Path) -> AuditLog:
    return AuditLog.open(private_home / "audit", AUDIT_KEY)


@pytest.fixture
def store(private_home: Path, audit_log: AuditLog) -> LocalStore:
    return LocalStore.init(private_home, "default", MASTER, audit_log, ALICE, iterations=FAST)


def open_store(
    home: Path, audit_log: AuditLog, key: bytes = MASTER, org: str = "default"
) -> LocalStore:
    return LocalStore.open(home, org, key, audit_log, ALICE)


def everything_under(folder: Path) -> bytes:
    """Every byte of every file below `folder`: where a value must never appear in clear."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def records(audit_log: AuditLog) -> list[dict[str, object]]:
    return [
        {"action": r.action.value, "secret": r.secret, "success": r.success, **r.details}
        for r in audit_log.records()
    ]


def edit_json(path: Path, change: dict[str, object]) -> None:
    data = json.loads(path.read_bytes())
    data.update(change)
    path.write_text(json.dumps(data))
