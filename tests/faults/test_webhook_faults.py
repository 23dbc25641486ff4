"""HTTP faults between leakstop and a webhook issuer, through `leakstop rotate --apply`: the
receiving service answers 500/502/503, 429 with Retry-After (seconds and an HTTP date), too
late (after the timeout), or behind a certificate leakstop must refuse (another CA, expired).

Whatever the fault and whichever step it hits, the command ends with one error line and exit
code 2, the value the service accepts is the one the store says is current, and the audit
chain verifies. A fault on the revoke (after finish) leaves the old value due for revocation,
and the next run revokes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.store import LocalStore
from tests.faults import cli_runs
from tests.faults.fault_proxy import Fault, FaultProxy, Tls
from tests.rotator.providers.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e]

OLD = "Wq7Zt3Lp9Kx2Vm8Rb4Nc"
KEY = "signing key of the webhook fault tests"
MASTER = "master key of the webhook fault tests"
AUDIT = "audit key of the webhook fault tests"
NAME = "billing/api-key"


def _in_a_minute() -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=60), usegmt=True)


#: fault id → (the fault for a step, what the error line says)
HTTP_FAULTS = {
    "500": (lambda b: Fault("POST", "/hook", status=500, body=b), "answered HTTP 500"),
    "502": (lambda b: Fault("POST", "/hook", status=502, body=b), "answered HTTP 502"),
    "503": (lambda b: Fault("POST", "/hook", status=503, body=b), "answered HTTP 503"),
    "429-seconds": (
        lambda b: Fault("POST", "/hook", status=429, headers={"Retry-After": "30"}, body=b),
        "answered HTTP 429; it takes requests again in 30s",
    ),
    "429-date": (
        lambda b: Fault(
            "POST", "/hook", status=429, headers={"Retry-After": _in_a_minute()}, body=b
        ),
        "answered HTTP 429; it takes requests again in",
    ),
    "timeout": (
        lambda b: Fault("POST", "/hook", kind="sleep", delay=2.5, body=b),
        "did not answer within 1s (timeout)",
    ),
}


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> Receiver:
    return Receiver(httpserver_ipv4, KEY.encode(), {OLD.encode()})


@pytest.fixture
def store(private_home: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT)
    monkeypatch.setenv("HOOK_KEY", KEY)
    audit_log = AuditLog.open(private_home / "audit", AUDIT.encode())
    local = LocalStore.init(
        private_home, "default", MASTER.encode(), audit_log, Context("ops", Source.CLI),
        iterations=1000,
    )  # fmt: skip
    local.write(NAME, OLD.encode(), expected_version=None)
    return local


def _proxy(receiver: Receiver, folder: Path, tls: Tls | None) -> FaultProxy:
    return FaultProxy(receiver.url.rsplit("/hook", 1)[0], folder, tls=tls)


@pytest.fixture
def proxy(receiver: Receiver, tmp_path: Path) -> Iterator[FaultProxy]:
    with _proxy(receiver, tmp_path, "ok") as proxy:
        yield proxy


def _configure(folder: Path, proxy: FaultProxy) -> None:
    (folder / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  hook: {{type: webhook, url: '{proxy.url}/hook', hmac_key_env: HOOK_KEY,\n"
        f"          timeout: 1s, ca_file: '{proxy.ca_file}'}}\n"
        f"secrets:\n  - name: {NAME}\n    store: {{provider: local}}\n"
        "    issuer: {provider: hook, service: billing}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )


def _nothing_leaked(store: LocalStore, private_home: Path, *texts: str) -> None:
    current = store.read(NAME)
    assert isinstance(current, bytes)
    cli_runs.never_written(private_home, {OLD.encode(), current}, *texts)


@pytest.mark.parametrize("step", ["apply", "test"])
@pytest.mark.parametrize("fault", sorted(HTTP_FAULTS))
def test_a_fault_before_finish_rolls_back_to_the_working_value(
    receiver: Receiver,
    store: LocalStore,
    proxy: FaultProxy,
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    step: str,
) -> None:
    make, says = HTTP_FAULTS[fault]
    proxy.inject(make(f'"step":"{step}"'))
    monkeypatch.chdir(tmp_path)
    _configure(tmp_path, proxy)

    code, out, err, _ = cli_runs.rotate(capsys, NAME)

    assert code == 2
    cli_runs.error_line(err, f"rotation of {NAME} rolled back", says)
    assert proxy.hits == [("POST", "/hook", proxy.faults[0].kind, proxy.faults[0].status)]
    assert store.read(NAME) == OLD.encode()
    assert "pending" not in store.describe(NAME).labels
    # The service took the rollback: only the old value, the store's current one, works.
    assert receiver.working == {OLD.encode()}
    assert [s["step"] for s in receiver.steps][-1] == "rollback"
    cli_runs.audit_verifies(capsys)
    _nothing_leaked(store, private_home, out, err)
    # And the next run, with the service well again, rotates.
    code, out, err, _ = cli_runs.rotate(capsys, NAME)
    assert code == 0, err
    new = store.read(NAME)
    assert isinstance(new, bytes)
    assert new != OLD.encode()
    assert receiver.working == {new}
    cli_runs.audit_verifies(capsys)


@pytest.mark.parametrize("fault", sorted(HTTP_FAULTS))
def test_a_fault_on_the_revoke_leaves_the_old_value_due_and_the_next_run_revokes_it(
    receiver: Receiver,
    store: LocalStore,
    proxy: FaultProxy,
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: str,
) -> None:
    make, says = HTTP_FAULTS[fault]
    proxy.inject(make('"step":"revoke"'))
    monkeypatch.chdir(tmp_path)
    _configure(tmp_path, proxy)

    code, out, err, _ = cli_runs.rotate(capsys, NAME)

    assert code == 2
    cli_runs.error_line(err, says)
    new = store.read(NAME)
    assert isinstance(new, bytes)
    assert new != OLD.encode()
    # Finished: the new value is current and works; the old one still works until revoked.
    assert new in receiver.working
    assert "pending" not in store.describe(NAME).labels
    cli_runs.audit_verifies(capsys)

    code, out, err, _ = cli_runs.rotate(capsys, NAME)
    assert code == 0, err
    assert "revoked an old value whose grace period was over" in out
    newest = store.read(NAME)
    assert isinstance(newest, bytes)
    assert receiver.working == {newest}
    cli_runs.audit_verifies(capsys)
    _nothing_leaked(store, private_home, out, err)


@pytest.mark.parametrize(
    ("tls", "says"),
    [("wrong-ca", "CERTIFICATE_VERIFY_FAILED"), ("expired", "certificate has expired")],
)
def test_a_certificate_leakstop_must_refuse_sends_nothing_and_changes_nothing(
    receiver: Receiver,
    store: LocalStore,
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tls: Tls,
    says: str,
) -> None:
    with _proxy(receiver, tmp_path, tls) as proxy:
        monkeypatch.chdir(tmp_path)
        _configure(tmp_path, proxy)
        code, out, err, _ = cli_runs.rotate(capsys, NAME)
    assert code == 2
    cli_runs.error_line(err, f"rotation of {NAME} rolled back", says)
    assert receiver.bodies == []  # no value went to a server that could not prove who it is
    assert store.read(NAME) == OLD.encode()
    assert "pending" not in store.describe(NAME).labels
    assert receiver.working == {OLD.encode()}
    records = cli_runs.verified_records(capsys, NAME)
    (rollback,) = [r for r in records if r["action"] == "rollback"]
    # The rollback could not reach the service either, and says so.
    assert rollback["success"] is False
    assert says in rollback["error"]
    _nothing_leaked(store, private_home, out, err)
