"""The rotation machine on the real local store and audit log, with an issuer fake whose
working credentials live in a file: rotations, rollbacks, conflicts, and a run killed
(SIGKILL) after every step, then resumed or rolled back by the next run."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.audit.verify import verify
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.errors import ProviderConflictError
from leakstop.rotator.machine import Machine, Outcome, Step
from leakstop.rotator.providers.local import LocalStoreProvider
from leakstop.store import LocalStore
from tests.rotator.fake_issuer import FileIssuer

MASTER = b"master key of the machine tests"
AUDIT = b"audit key of the machine tests"
CONTEXT = Context("tester", Source.CLI)


def _secret(grace: timedelta = timedelta(0), issuer: bool = True) -> ManagedSecret:
    return ManagedSecret(
        name="billing/db-password",
        store=StoreRef("local"),
        issuer=IssuerRef("file") if issuer else None,
        policy=RotationPolicy(interval=timedelta(days=30), grace=grace),
    )


def _parts(home: Path, issuer_file: Path, *, refuse: bool = False, mints: bool = False):  # type: ignore[no-untyped-def]
    audit_log = AuditLog.open(home / "audit", AUDIT)
    if (home / "store" / "default" / "org.json").exists():
        store = LocalStore.open(home, "default", MASTER, audit_log, CONTEXT)
    else:
        store = LocalStore.init(home, "default", MASTER, audit_log, CONTEXT, iterations=1000)
    issuer = FileIssuer(issuer_file, mints=mints, refuse=refuse)
    return store, issuer, audit_log


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _seed(home: Path, issuer_file: Path) -> bytes:
    """A working credential, current in the store and in the issuer."""
    store, issuer, _log = _parts(home, issuer_file)
    store.write("billing/db-password", b"first-password-0123", expected_version=None)
    issuer.apply("billing/db-password", _secret().issuer.options, b"first-password-0123", None)  # type: ignore[union-attr]
    return b"first-password-0123"


def test_a_rotation_replaces_proves_and_revokes(home: Path, tmp_path: Path) -> None:
    issuer_file = tmp_path / "issuer.json"
    old = _seed(home, issuer_file)
    store, issuer, audit_log = _parts(home, issuer_file)
    machine = Machine(LocalStoreProvider(store), issuer, audit_log, CONTEXT)
    result = machine.rotate(_secret(), reason="leak confirmed")
    assert result.outcome is Outcome.ROTATED
    assert result.steps == (Step.CREATE, Step.SET, Step.APPLY, Step.TEST, Step.FINISH, Step.REVOKE)
    new = store.read("billing/db-password")
    assert new != old
    assert issuer.working() == {new.decode()}  # type: ignore[union-attr]
    assert (result.old_version, result.new_version) == ("1", "2")
    assert verify(home / "audit", AUDIT).ok


def test_a_leak_another_run_rotated_away_is_skipped_not_rotated_again(
    home: Path, tmp_path: Path
) -> None:
    issuer_file = tmp_path / "issuer.json"
    _seed(home, issuer_file)
    store, issuer, audit_log = _parts(home, issuer_file)
    machine = Machine(LocalStoreProvider(store), issuer, audit_log, CONTEXT)
    # Two runs confirmed the leak of version 1; the first rotates it.
    first = machine.rotate(_secret(), reason="leak confirmed", leaked_version="1")
    second = machine.rotate(_secret(), reason="leak confirmed", leaked_version="1")
    assert first.outcome is Outcome.ROTATED
    assert second.outcome is Outcome.SKIPPED
    assert "already rotated by another run" in (second.error or "")
    assert [v.number for v in store.versions("billing/db-password")] == [1, 2]
    assert verify(home / "audit", AUDIT).ok


def test_a_new_value_that_does_not_work_is_rolled_back(home: Path, tmp_path: Path) -> None:
    issuer_file = tmp_path / "issuer.json"
    old = _seed(home, issuer_file)
    store, issuer, audit_log = _parts(home, issuer_file, refuse=True)
    result = Machine(LocalStoreProvider(store), issuer, audit_log, CONTEXT).rotate(_secret())
    assert result.outcome is Outcome.ROLLED_BACK
    assert store.read("billing/db-password") == old  # still current
    assert issuer.working() == {old.decode()}  # and working again
    assert LocalStoreProvider(store).pending("billing/db-password", _secret().store.options) is None


def test_a_minted_credential_is_revoked_on_rollback(home: Path, tmp_path: Path) -> None:
    issuer_file = tmp_path / "issuer.json"
    old = _seed(home, issuer_file)
    store, issuer, audit_log = _parts(home, issuer_file, mints=True, refuse=True)
    result = Machine(LocalStoreProvider(store), issuer, audit_log, CONTEXT).rotate(_secret())
    assert result.outcome is Outcome.ROLLED_BACK
    assert issuer.working() == {old.decode()}


def test_with_a_grace_period_the_old_value_keeps_working(home: Path, tmp_path: Path) -> None:
    issuer_file = tmp_path / "issuer.json"
    old = _seed(home, issuer_file)
    store, _issuer, audit_log = _parts(home, issuer_file, mints=True)
    issuer = FileIssuer(issuer_file, mints=True)
    result = Machine(LocalStoreProvider(store), issuer, audit_log, CONTEXT).rotate(
        _secret(grace=timedelta(hours=1))
    )
    assert result.outcome is Outcome.ROTATED
    assert result.revoke_after is not None
    assert old.decode() in issuer.working()  # revoked later, by `rotations run`


def test_a_concurrent_writer_makes_the_rotation_fail_not_overwrite(
    home: Path, tmp_path: Path
) -> None:
    issuer_file = tmp_path / "issuer.json"
    _seed(home, issuer_file)
    store, issuer, audit_log = _parts(home, issuer_file)

    def meddle(step: Step) -> None:
        if step is Step.CREATE:
            store.write("billing/db-password", b"someone-else-wrote", expected_version=1)

    machine = Machine(LocalStoreProvider(store), issuer, audit_log, CONTEXT, after_step=meddle)
    result = machine.rotate(_secret())
    assert result.outcome is Outcome.FAILED
    assert "changed" in (result.error or "")
    assert store.read("billing/db-password") == b"someone-else-wrote"


def test_a_rotation_in_progress_is_left_alone(home: Path, tmp_path: Path) -> None:
    issuer_file = tmp_path / "issuer.json"
    _seed(home, issuer_file)
    store, issuer, audit_log = _parts(home, issuer_file)
    store.write("billing/db-password", b"half-done-rotation", expected_version=1, label="pending")
    with pytest.raises(ProviderConflictError, match="being rotated by another run"):
        Machine(LocalStoreProvider(store), issuer, audit_log, CONTEXT).rotate(_secret())


def _killed_run(home: Path, issuer_file: Path, step: str) -> None:
    store, issuer, audit_log = _parts(home, issuer_file)

    def die(done: Step) -> None:
        if done.value == step:
            os.kill(os.getpid(), signal.SIGKILL)

    Machine(LocalStoreProvider(store), issuer, audit_log, CONTEXT, after_step=die).rotate(_secret())


#: (killed after, what the next run does). After finish the rotation is complete: the next
#: run starts a new one.
KILLS = [
    ("create", Outcome.ROTATED),
    ("set", Outcome.RESUMED),
    ("apply", Outcome.RESUMED),
    ("test", Outcome.RESUMED),
    ("finish", Outcome.ROTATED),
    ("revoke", Outcome.ROTATED),
]


@pytest.mark.parametrize(("step", "next_run"), KILLS)
def test_killed_at_every_step_the_next_run_resumes_or_rolls_back(
    home: Path, tmp_path: Path, step: str, next_run: Outcome
) -> None:
    issuer_file = tmp_path / "issuer.json"
    _seed(home, issuer_file)
    child = multiprocessing.get_context("fork").Process(
        target=_killed_run, args=(home, issuer_file, step)
    )
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    store, issuer, audit_log = _parts(home, issuer_file)
    provider = LocalStoreProvider(store)
    result = Machine(provider, issuer, audit_log, CONTEXT, lease=timedelta(0)).rotate(_secret())
    assert result.outcome is next_run, result
    # One credential works, and the store's current version is it; nothing is pending.
    current = store.read("billing/db-password")
    assert isinstance(current, bytes)
    assert issuer.working() == {current.decode()}
    assert provider.pending("billing/db-password", _secret().store.options) is None
    assert verify(home / "audit", AUDIT).ok


def test_a_second_pending_version_is_refused_by_the_local_store(home: Path, tmp_path: Path) -> None:
    """Two runs both saw no pending version; the first wrote one. The second must not write
    another (it would pass the `latest` check and race the first to promote)."""
    _seed(home, tmp_path / "issuer.json")
    store, _issuer, _log = _parts(home, tmp_path / "issuer.json")
    provider = LocalStoreProvider(store)
    where = _secret().store.options
    provider.put_pending("billing/db-password", where, b"first-run-value-0001", "1")
    with pytest.raises(ProviderConflictError, match="another run's pending version"):
        provider.put_pending("billing/db-password", where, b"second-run-value-002", "1")


def test_resume_takes_over_a_pending_version_dated_in_the_future(
    home: Path, tmp_path: Path
) -> None:
    """A store whose clock runs ahead of ours (or rounds up) dates a dead run's pending
    version after now: `--resume` (no lease) must still take it over, while a normal run
    with a lease leaves it to its owner."""
    _seed(home, tmp_path / "issuer.json")
    store, issuer, audit_log = _parts(home, tmp_path / "issuer.json")
    provider = LocalStoreProvider(store)
    provider.put_pending(
        "billing/db-password", _secret().store.options, b"dead-run-value-00001", "1"
    )
    behind = lambda: datetime.now(timezone.utc) - timedelta(seconds=5)  # noqa: E731
    leased = Machine(provider, issuer, audit_log, CONTEXT, clock=behind)
    with pytest.raises(ProviderConflictError, match="being rotated by another run"):
        leased.rotate(_secret())
    resumed = Machine(provider, issuer, audit_log, CONTEXT, lease=timedelta(0), clock=behind)
    result = resumed.rotate(_secret())
    assert result.outcome in (Outcome.RESUMED, Outcome.ROLLED_BACK), result
    assert provider.pending("billing/db-password", _secret().store.options) is None
