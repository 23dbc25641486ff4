"""`store check`: can the org be opened, does every version decrypt, does the audit chain hold;
how many secrets, which is oldest, how many are overdue for rotation.

Every version is decrypted in memory and dropped; nothing is printed or recorded about values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from leakstop.audit.record import parse_timestamp
from leakstop.errors import StoreError
from leakstop.store import secretfile
from leakstop.store.document import State
from leakstop.store.keys import DEFAULT_ITERATIONS

if TYPE_CHECKING:
    from leakstop.store.local import LocalStore


@dataclass(frozen=True)
class HealthReport:
    #: Live secrets (not deleted) and deleted ones.
    secrets: int
    deleted: int
    #: Versions that hold a value; each one decrypted.
    versions: int
    #: The live secret whose current version is oldest, and when that version was made.
    oldest: tuple[str, datetime] | None
    #: Live secrets whose current version is older than their policy allows.
    overdue: tuple[str, ...]
    #: Audit records verified.
    audit_records: int
    #: What makes the store unhealthy; empty when it is healthy.
    problems: tuple[str, ...]
    #: What deserves attention but works.
    warnings: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not self.problems


def check(
    store: LocalStore, policies: Mapping[str, timedelta], now: datetime | None = None
) -> HealthReport:
    """Check the org. `policies` maps a secret's name to its longest allowed age (from the
    config's `secrets:`); secrets without one are never overdue."""
    now = now or datetime.now(timezone.utc)
    problems: list[str] = []
    warnings: list[str] = []
    live = deleted = versions = 0
    oldest: tuple[str, datetime] | None = None
    overdue: list[str] = []
    with store.session() as session:
        state = session.state
        if state.rotation is not None:
            problems.append(
                f"a master-key rotation started at {state.rotation.started} is unfinished: "
                "run `leakstop store rotate-key` to finish it"
            )
        if state.key.params.iterations < DEFAULT_ITERATIONS:
            warnings.append(
                f"the org key is derived with {state.key.params.iterations:,} PBKDF2 "
                f"iterations, fewer than {DEFAULT_ITERATIONS:,}: `rotate-key` raises it"
            )
        for name, path in store.paths.secret_files():
            where = str(path)
            try:
                document = secretfile.load(path, name, session.keys)
                if document is None:
                    continue
                key = session.keys.get(document.generation, where)
                for version in document.versions:
                    if version.state is State.ACTIVE:
                        secretfile.decrypt(version, key, where)
                        versions += 1
            except StoreError as exc:
                problems.append(str(exc))
                continue
            if document.deleted is not None:
                deleted += 1
                continue
            live += 1
            current = document.version(document.labels.get("current", -1))
            if current is None:
                problems.append(f"{name} has no current version")
                continue
            made = parse_timestamp(current.created)
            if oldest is None or made < oldest[1]:
                oldest = (name, made)
            limit = policies.get(name)
            if limit is not None and now - made > limit:
                overdue.append(name)
    result = store.audit_log.verify()
    if result.problem is not None:
        problems.append(f"the audit log does not verify: {result.problem}")
    warnings.extend(result.warnings)
    return HealthReport(
        live,
        deleted,
        versions,
        oldest,
        tuple(overdue),
        result.records,
        tuple(problems),
        tuple(warnings),
    )
