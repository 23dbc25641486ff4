"""The revocation service on the real local store and audit log, with the file-backed issuer
fake: what runs when, in which order, and what is recorded when a step fails."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.config import Config
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.errors import ProviderError, UsageError
from leakstop.rotator.approvals import Order, Status, Target
from leakstop.rotator.providers.local import LocalStoreProvider
from leakstop.rotator.revocation import Revocations
from leakstop.store import LocalStore
from tests.rotator.fake_issuer import FileIssuer

MASTER = b"master key of the revocation tests"
AUDIT = b"audit key of the revocation tests"
ALICE = Context("alice", Source.CLI)
BOB = Context("bob", Source.CLI)
LEAKED = b"leaked-password-4821"


class Providers:
    """The registry's two look-ups, over one local store and one issuer fake."""

    def __init__(self, store: Any, issuer: Any) -> None:
        self._store, self._issuer = store, issuer

    def store(self, name: str, org: str) -> Any:
        return self._store

    def issuer(self, name: str) -> Any:
        return self._issuer


class ReadOnlyStore:
    """A store with no `disable` (e.g. one whose system keeps no versions)."""

    name = "read-only"

    def __init__(self, inner: LocalStoreProvider) -> None:
        self._inner = inner

    def current(self, name: str, where: Any) -> Any:
        return self._inner.current(name, where)

    def read(self, name: str, where: Any, version: str | None = None) -> Any:
        return self._inner.read(name, where, version)


def secret(issuer: bool = True) -> ManagedSecret:
    return ManagedSecret(
        name="billing/db-password",
        store=StoreRef("local"),
        issuer=IssuerRef("file") if issuer else None,
    )


@pytest.fixture
def parts(tmp_path: Path) -> tuple[LocalStore, FileIssuer, AuditLog]:
    audit_log = AuditLog.open(tmp_path / "audit", AUDIT)
    store = LocalStore.init(tmp_path, "default", MASTER, audit_log, ALICE, iterations=1000)
    store.write("billing/db-password", LEAKED, expected_version=None)
    issuer = FileIssuer(tmp_path / "issuer.json")
    issuer.apply("billing/db-password", secret().issuer.options, LEAKED, None)  # type: ignore[union-attr]
    return store, issuer, audit_log


def service(
    parts: tuple[LocalStore, FileIssuer, AuditLog],
    context: Context,
    managed: ManagedSecret | None = None,
    store: Any = None,
) -> Revocations:
    local, issuer, audit_log = parts
    config = Config(rules=(), secrets=(managed or secret(),))
    providers = Providers(store or LocalStoreProvider(local), issuer)
    return Revocations(config, audit_log, providers, context)  # type: ignore[arg-type]


def order(severity: str = "critical") -> Order:
    target = Target("billing/db-password", "default", "1")
    return Order("revoke", "billing/db-password", (target,), "leaked", severity)


def actions(audit_log: AuditLog) -> list[str]:
    return [r.action.value for r in audit_log.records() if r.details.get("request")]


def test_a_pending_request_runs_once_when_approved(
    parts: tuple[LocalStore, FileIssuer, AuditLog],
) -> None:
    store, issuer, audit_log = parts
    pending = service(parts, ALICE).open(order())
    assert pending.status is Status.PENDING
    assert issuer.working() == {LEAKED.decode()}

    done = service(parts, BOB).approve(pending.id, "bob")

    assert done.status is Status.DONE
    assert issuer.working() == set()
    assert [v.state for v in store.versions("billing/db-password")] == ["revoked"]
    assert actions(audit_log) == [
        "approval_requested",
        "approval_granted",
        "revoked",
        "version_disabled",
    ]
    assert audit_log.verify().ok


def test_two_approvals_at_once_run_it_once(
    parts: tuple[LocalStore, FileIssuer, AuditLog],
) -> None:
    _store, _issuer, audit_log = parts
    pending = service(parts, ALICE).open(order())
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def approve(person: str) -> None:
        start.wait()
        try:
            service(parts, dataclasses.replace(BOB, actor=person)).approve(pending.id, person)
            outcomes.append("approved")
        except UsageError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=approve, args=(p,)) for p in ("bob", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes)[0] == "approved"
    assert "not pending: it cannot be decided again" in sorted(outcomes)[1]
    assert actions(audit_log).count("approval_granted") == 1
    assert actions(audit_log).count("revoked") == 1


class DownIssuer(FileIssuer):
    def revoke(self, name: str, how: Any, value: Any) -> None:
        raise ProviderError("file-issuer: cannot connect (connection refused)")


def test_an_issuer_that_fails_leaves_the_store_version_alone(
    parts: tuple[LocalStore, FileIssuer, AuditLog],
) -> None:
    store, issuer, audit_log = parts
    down = (store, DownIssuer(issuer.path), audit_log)

    request = service(down, ALICE).open(order("low"))

    assert request.status is Status.FAILED
    (outcome,) = request.outcomes.values()
    assert (outcome.revoked, outcome.errors) == (
        False,
        ("file-issuer: cannot connect (connection refused)",),
    )
    assert store.read("billing/db-password") == LEAKED
    assert issuer.working() == {LEAKED.decode()}
    assert actions(audit_log) == ["revocation_requested", "revoked"]


def test_a_secret_gone_from_the_config_fails_its_target(
    parts: tuple[LocalStore, FileIssuer, AuditLog],
) -> None:
    _store, issuer, _audit_log = parts
    pending = service(parts, ALICE).open(order())
    renamed = dataclasses.replace(secret(), name="billing/other")

    done = service(parts, BOB, managed=renamed).approve(pending.id, "bob")

    assert done.status is Status.FAILED
    assert done.outcomes["default/billing/db-password"].errors == (
        "billing/db-password is no longer a managed secret in the config",
    )
    assert issuer.working() == {LEAKED.decode()}


def test_no_issuer_and_a_store_that_cannot_disable_is_refused(
    parts: tuple[LocalStore, FileIssuer, AuditLog],
) -> None:
    store, _issuer, _audit_log = parts
    read_only = ReadOnlyStore(LocalStoreProvider(store))

    request = service(parts, ALICE, managed=secret(issuer=False), store=read_only).open(
        order("low")
    )

    assert request.status is Status.FAILED
    (outcome,) = request.outcomes.values()
    assert "there is nothing to revoke it at" in outcome.errors[0]


def test_without_an_issuer_the_version_is_disabled(
    parts: tuple[LocalStore, FileIssuer, AuditLog],
) -> None:
    store, issuer, _audit_log = parts
    request = service(parts, ALICE, managed=secret(issuer=False)).open(order("low"))
    assert request.status is Status.DONE
    assert [v.state for v in store.versions("billing/db-password")] == ["revoked"]
    assert issuer.working() == {LEAKED.decode()}  # no issuer was asked
