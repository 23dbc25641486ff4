"""Records as `AuditLog.append` leaves them (seq, prev and mac set) for the sink tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from leakstop.audit.record import Action, Record, Source

MakeRecord = Callable[..., Record]


@pytest.fixture
def make_record() -> MakeRecord:
    """A record with every field set, non-ASCII details included; keywords override fields."""

    def make(**fields: Any) -> Record:
        values: dict[str, Any] = {
            "action": Action.ROTATION_COMPLETED,
            "secret": "billing/api-key",
            "actor": "alice",
            "source": Source.ACTION,
            "org": "acme",
            "details": {"provider": "vault", "version": 3, "note": "clé tournée ✓", "ok": None},
            "success": True,
            "error": None,
            "actor_ip": "203.0.113.7",
            "seq": 7,
            "prev": "ab" * 32,
            "mac": "cd" * 32,
        }
        values.update(fields)
        return Record(**values)

    return make
