"""PostgreSQL stopped (`pg_ctl stop -m immediate`) mid-rotation and started again on the same
data: between two steps, and during the ALTER ROLE step (before the statement reaches the
server, and after it committed with the answer lost). The run that meets the stopped server
ends in one line and exit 2; `leakstop rotate --apply --resume` after the restart finishes or
starts again; at every point one password that someone holds logs in; afterwards the store's
current value is it and the leaked one is refused; the audit chain is whole.

The store is leakstop's local store, which does not depend on PostgreSQL, so what is tested
is the issuer's side. (SIGKILL of leakstop itself after every step against PostgreSQL is
tests/e2e/test_rotation_postgres.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.cli import main
from leakstop.rotator.machine import Step
from leakstop.store import LocalStore
from tests.faults.pg_faults import StatementProxy, is_up, start, stop_now
from tests.faults.server_faults import assert_one_clear_line, rotate, steps_recorded
from tests.pg_server import ADMIN_PASSWORD, Postgres

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAKED = "Pq8wLm3ZrT7vXn2kBy5J-restarted-pg"
NAME = "billing/db-password"
MASTER = "master key of the postgres restart tests"
AUDIT_KEY = "audit key of the postgres restart tests"
NEVER_SHOWN = [LEAKED, ADMIN_PASSWORD, MASTER, AUDIT_KEY]


@pytest.fixture
def up(pg: Postgres) -> Iterator[Postgres]:
    """The module's server, running at the start and at the end of each test."""
    if not is_up(pg):
        start(pg)
    yield pg
    if not is_up(pg):
        start(pg)


def _configure(
    pg: Postgres, home: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch, tag: str, dsn: str
) -> tuple[str, LocalStore]:
    role = pg.role(f"rotated_while_down_{tag}", password=LEAKED)
    audit_log = AuditLog.open(home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(
        home, "default", MASTER.encode(), audit_log, Context("ops", Source.CLI), iterations=1000
    )
    store.write(NAME, LEAKED.encode(), expected_version=None)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", dsn)
    (cwd / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        "  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN, connect_timeout: 3}\n"
        f"secrets:\n  - name: {NAME}\n    store: {{provider: local}}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )
    return role, store


def _held(store: LocalStore) -> dict[str, str]:
    """Every readable value the store holds, by its labels ('current', 'pending', …)."""
    held = {}
    for version in store.versions(NAME):
        if version.state != "active":
            continue
        value = store.read(NAME, version=version.number)
        assert isinstance(value, bytes)
        held[",".join(version.labels) or str(version.number)] = value.decode()
    return held


def _has_pending(store: LocalStore) -> bool:
    return any("pending" in v.labels for v in store.versions(NAME))


def _one_password_works(pg: Postgres, role: str, store: LocalStore) -> str:
    """Exactly one of the passwords anyone holds (the leaked one, the store's) logs in: its
    label in the store, or 'leaked' when the store no longer holds it."""
    candidates = {"leaked": LEAKED} | _held(store)
    working = {label for label, value in candidates.items() if pg.logs_in(role, value)}
    values = {candidates[label] for label in working}
    assert len(values) == 1, f"passwords that log in: {sorted(working)}"
    return min(working, key=lambda label: label == "leaked")


def _resume_finishes(
    pg: Postgres,
    role: str,
    store: LocalStore,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    next_run: str,
) -> None:
    run = rotate(NAME, capsys, monkeypatch)
    assert run.code == 0, run
    assert next_run in run.out
    for secret in NEVER_SHOWN:
        assert secret not in run.out + run.err
    assert not _has_pending(store)
    current = store.read(NAME)
    assert isinstance(current, bytes)
    assert pg.logs_in(role, current.decode())
    assert not pg.logs_in(role, LEAKED)
    assert main(["audit", "verify"]) == 0
    assert steps_recorded(home, NAME)[-1][0] == "rotation_completed"


#: Step after which PostgreSQL stops → the first run's error, the password that works while
#: it is down (by its label in the store), what the run after the restart says.
BETWEEN_STEPS = [
    # apply cannot connect, so it sent nothing: rolled back, though the undo cannot connect
    # either (there is nothing to undo).
    ("create", "rolled back", "current", "Rotated"),
    ("set", "rolled back", "current", "Rotated"),
    # The new password is set; test cannot connect, nor can the rollback set the old one
    # again: the pending version is kept, and it is the password that works.
    ("apply", "pending version 2 is kept", "pending", "Finished a rotation"),
    # Promoted; revoking the old password cannot check it: the finish record says it is due
    # and the next run revokes it first.
    ("test", "cannot log in", "current", "Rotated"),
    ("finish", "cannot log in", "current", "Rotated"),
    # All done before the server stopped.
    ("revoke", None, "current", "Rotated"),
]


@pytest.mark.parametrize(("step", "first_run", "works", "next_run"), BETWEEN_STEPS)
def test_postgres_stopped_between_steps_then_restarted(
    up: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step: str,
    first_run: str | None,
    works: str,
    next_run: str,
) -> None:
    pg = up
    role, store = _configure(pg, private_home, tmp_path, monkeypatch, f"after_{step}", pg.dsn())
    seen: list[str] = []

    def stop_postgres(done: Step) -> None:
        seen.append(done.value)
        if done.value == step:
            stop_now(pg)

    run = rotate(NAME, capsys, monkeypatch, after=stop_postgres)
    assert not is_up(pg)
    if first_run is None:
        assert run.code == 0, run
    else:
        assert_one_clear_line(run, NEVER_SHOWN, says=first_run)
    trail = steps_recorded(private_home, NAME)
    assert [s for a, s in trail if a == "rotation_step"] == [s for s in seen if s != "revoke"]
    assert main(["audit", "verify"]) == 0

    # While it is down a run says so in one line; the current version stays.
    current = store.read(NAME)
    down = rotate(NAME, capsys, monkeypatch)
    assert_one_clear_line(down, NEVER_SHOWN, says="cannot")
    assert store.read(NAME) == current

    start(pg)
    assert _one_password_works(pg, role, store) == works
    _resume_finishes(pg, role, store, private_home, capsys, monkeypatch, next_run)


@pytest.mark.parametrize(
    ("when", "works", "next_run"),
    [
        # The statement never reached the server: the old password still works.
        ("before", "current", "Finished a rotation"),
        # Committed, the answer lost with the server: the new password works, and only the
        # kept pending version holds it.
        ("after", "pending", "Finished a rotation"),
    ],
)
def test_postgres_stopped_during_alter_role_then_restarted(
    up: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    when: Literal["before", "after"],
    works: str,
    next_run: str,
) -> None:
    pg = up
    proxy = StatementProxy(pg, b"ALTER ROLE", when, then=lambda: stop_now(pg))
    request.addfinalizer(proxy.close)
    dsn = pg.dsn().replace(f"host={pg.socket_dir}&", f"host={proxy.socket_dir}&")
    assert proxy.socket_dir in dsn
    role, store = _configure(pg, private_home, tmp_path, monkeypatch, f"during_{when}", dsn)

    run = rotate(NAME, capsys, monkeypatch)
    assert proxy.fired.is_set()
    assert not is_up(pg)
    assert_one_clear_line(run, NEVER_SHOWN, says="pending version")
    assert main(["audit", "verify"]) == 0
    assert _has_pending(store)  # kept: the issuer could not undo the step

    start(pg)
    assert _one_password_works(pg, role, store) == works
    _resume_finishes(pg, role, store, private_home, capsys, monkeypatch, next_run)
