"""HTTP faults between leakstop and Google Secret Manager, through `leakstop rotate --apply` and
the real google-cloud-secret-manager client over REST: the local Secret Manager
(tests/rotator/providers/fake_secretmanager.py) sits behind the FaultProxy, the secret's
issuer is a webhook service that keeps the set of credentials it accepts.

The client retries AccessSecretVersion on 503 and 429 (its default retry); nothing else. A
fault on AddSecretVersion or on the alias update ends the run in one error line and exit code
2; when the answer was lost after Secret Manager did the work, leakstop looks: a version it
added unanswered is disabled (its value never reached the service, and as the newest enabled
version it would be read as `latest`, or as current by a secret leakstop never promoted), and
an alias move that took is taken as done. Whatever happened, the version current in Secret
Manager is one the service accepts, the audit chain verifies, and the next run completes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from pytest_httpserver import HTTPServer

from leakstop.config.options import FrozenMap, Origin
from leakstop.rotator.providers.gcp_secretmanager import SecretManagerStore, parse_settings
from tests.faults import cli_runs
from tests.faults.fault_proxy import Fault, FaultProxy, Tls
from tests.rotator.providers.fake_secretmanager import FakeSecretManager
from tests.rotator.providers.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OLD = b"Gs4Pq9Lm2Tx7Rw8Nb3Hk"
KEY = "signing key of the secret manager fault tests"
AUDIT = "audit key of the secret manager fault tests"
PROJECT = "billing-prod"
NAME = "billing/db-password"
SECRET = "billing-db"
WHERE = FrozenMap({"secret": SECRET})

#: The Secret Manager calls under test, as (method, path regex) behind the proxy.
ADD = ("POST", rf"/secrets/{SECRET}:addVersion")
ACCESS = ("GET", rf"/secrets/{SECRET}/versions/[^/:?]+:access")
ALIASES = ("PATCH", rf"/secrets/{SECRET}\?")


@pytest.fixture
def gsm(tmp_path: Path) -> Iterator[FakeSecretManager]:
    folder = tmp_path / "gsm"
    folder.mkdir()
    fake = FakeSecretManager(folder, PROJECT)
    fake.put(SECRET, OLD)
    yield fake
    fake.stop()


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> Receiver:
    return Receiver(httpserver_ipv4, KEY.encode(), {OLD})


def _proxy(gsm: FakeSecretManager, folder: Path, tls: Tls) -> FaultProxy:
    return FaultProxy(gsm.url, folder, tls=tls, upstream_ca=gsm.ca_file)


@pytest.fixture
def proxy(gsm: FakeSecretManager, tmp_path: Path) -> Iterator[FaultProxy]:
    with _proxy(gsm, tmp_path, "ok") as proxy:
        yield proxy


@pytest.fixture
def workdir(
    gsm: FakeSecretManager, private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT)
    monkeypatch.setenv("GSM_ACCESS_TOKEN", gsm.token)
    monkeypatch.setenv("HOOK_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _configure(folder: Path, proxy: FaultProxy, receiver: Receiver) -> None:
    (folder / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  gsm: {{type: gcp-secretmanager, project: {PROJECT}, api_endpoint: '{proxy.url}',\n"
        "        timeout: 1s, auth: {method: token, token_env: GSM_ACCESS_TOKEN},\n"
        f"        tls: {{ca_file: '{proxy.ca_file}'}}}}\n"
        f"  hook: {{type: webhook, url: '{receiver.url}', hmac_key_env: HOOK_KEY, timeout: 5s}}\n"
        f"secrets:\n  - name: {NAME}\n    store: {{provider: gsm, secret: {SECRET}}}\n"
        "    issuer: {provider: hook, service: billing}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )


def _direct(gsm: FakeSecretManager) -> SecretManagerStore:
    """leakstop's own view of Secret Manager, past the proxy."""
    options = FrozenMap(
        {"project": PROJECT, "api_endpoint": gsm.url, "tls": FrozenMap({"ca_file": gsm.ca_file})}
    )
    settings = parse_settings("gsm", options, Origin())
    credentials = Credentials(token=gsm.token)  # type: ignore[no-untyped-call]
    return SecretManagerStore("gsm", settings, {}, credentials=credentials)


def _store_works(gsm: FakeSecretManager, receiver: Receiver) -> bytes:
    """The current version's value is one the service accepts, and so is `latest` (the newest
    version is enabled: a disabled latest fails every version-less read); at most the
    pending version besides current and previous is enabled."""
    current = _direct(gsm).read(NAME, WHERE)
    assert isinstance(current, bytes)
    assert current in receiver.working, (current, receiver.working)
    secret = gsm.secrets[SECRET]
    latest = secret.versions[-1]
    assert latest.state == "ENABLED"
    assert latest.data in receiver.working or secret.aliases.get("pending") == latest.number
    enabled = {v.number for v in secret.versions if v.state == "ENABLED"}
    kept = {n for k, n in secret.aliases.items() if k in ("current", "pending", "previous")}
    # Enabled versions leakstop keeps no label on are copies of the current value.
    stray = [n for n in enabled - kept if gsm.payload(SECRET, n) != current]
    assert not stray, (stray, secret.aliases)
    return current


def _records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return cli_runs.verified_records(capsys, NAME)


def _nothing_leaked(gsm: FakeSecretManager, private_home: Path, *texts: str) -> None:
    values = [v.data for v in gsm.secrets[SECRET].versions if v.data]
    cli_runs.never_written(private_home, values, *texts)


def _completed(
    gsm: FakeSecretManager, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_runs.resume_completes(capsys, NAME, OLD, receiver, lambda: _store_works(gsm, receiver))


#: Faults the client retries (AccessSecretVersion's default retry on 503), or leakstop sees
#: past: the rotation completes.
RETRIED = {
    "503-on-access": (ACCESS, {"status": 503}),
    # The pending alias was set, the answer lost: leakstop looks, and it took.
    "drop-on-pending-alias": (ALIASES, {"kind": "drop"}),
}


@pytest.mark.parametrize("case", sorted(RETRIED))
def test_a_fault_the_client_retries_is_retried_and_the_rotation_completes(
    gsm: FakeSecretManager,
    receiver: Receiver,
    proxy: FaultProxy,
    workdir: Path,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    (method, path), kind = RETRIED[case]
    proxy.inject(Fault(method, path, **copy.deepcopy(kind)))
    _configure(workdir, proxy, receiver)

    code, out, err, elapsed = cli_runs.rotate(capsys, NAME)

    assert code == 0, err
    assert len(proxy.hits) == 1, proxy.hits
    assert elapsed < 10, elapsed
    new = _store_works(gsm, receiver)
    assert new != OLD
    assert receiver.working == {new}
    records = _records(capsys)
    assert records[-1]["action"] == "rotation_completed"
    _nothing_leaked(gsm, private_home, out, err)


#: Faults that end the run before the service saw the new value: (fault, the error says).
FAILED = {
    "500-on-add": (Fault(*ADD, status=500), "Secret Manager error (500"),
    "503-on-add": (Fault(*ADD, status=503), "Secret Manager error (503"),
    "429-on-add": (Fault(*ADD, status=429, headers={"Retry-After": "30"}), "rate limited (429"),
    "timeout-on-add": (Fault(*ADD, kind="sleep", delay=1.5), "no answer in time (timeout)"),
    "drop-on-add": (Fault(*ADD, kind="drop"), "cannot connect"),
    # The version was added, its pending alias not set: it is disabled, the current value is
    # copied forward as the newest (`latest` must not be a disabled version).
    "503-on-pending-alias": (Fault(*ALIASES, status=503), "Secret Manager error (503"),
    # HTTP 429 is TooManyRequests to google-api-core, not the ResourceExhausted it retries.
    "429-on-access": (
        Fault(*ACCESS, status=429, headers={"Retry-After": "1"}),
        "rate limited (429",
    ),
}


@pytest.mark.parametrize("case", sorted(FAILED))
def test_a_fault_writing_the_new_version_fails_once_and_the_next_run_completes(
    gsm: FakeSecretManager,
    receiver: Receiver,
    proxy: FaultProxy,
    workdir: Path,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    fault, says = copy.deepcopy(FAILED[case])
    proxy.inject(fault)
    _configure(workdir, proxy, receiver)

    code, out, err, elapsed = cli_runs.rotate(capsys, NAME)

    assert code == 2, err
    cli_runs.error_line(err, f"rotation of {NAME} failed", says)
    assert proxy.hits, "the fault never happened"
    assert elapsed < 10, elapsed
    assert _store_works(gsm, receiver) == OLD
    assert receiver.working == {OLD}  # the service never saw the new value
    records = _records(capsys)
    assert records[-1]["action"] == "rotation_failed"
    assert records[-1]["success"] is False
    _nothing_leaked(gsm, private_home, out, err)
    _completed(gsm, receiver, capsys)


#: Faults on the alias update of finish: (fault, the run's exit code, what stderr says).
ON_FINISH = {
    "503": (Fault(*ALIASES, status=503, body="current"), 2, "Secret Manager error (503"),
    "429": (Fault(*ALIASES, status=429, body="current"), 2, "rate limited (429"),
    # Secret Manager moved the aliases; the answer was lost: the run sees it took, finishes.
    "drop": (Fault(*ALIASES, kind="drop", body="current"), 0, ""),
    "timeout": (Fault(*ALIASES, kind="sleep", delay=1.5, body="current"), 0, ""),
}


@pytest.mark.parametrize("case", sorted(ON_FINISH))
def test_a_fault_moving_the_aliases_keeps_a_working_current_value_and_is_resumed(
    gsm: FakeSecretManager,
    receiver: Receiver,
    proxy: FaultProxy,
    workdir: Path,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    fault, expected, says = copy.deepcopy(ON_FINISH[case])
    proxy.inject(fault)
    _configure(workdir, proxy, receiver)

    code, out, err, elapsed = cli_runs.rotate(capsys, NAME)

    assert code == expected, err
    assert proxy.hits, "the fault never happened"
    assert elapsed < 10, elapsed
    current = _store_works(gsm, receiver)
    records = _records(capsys)
    if expected == 2:
        cli_runs.error_line(err, f"rotation of {NAME} failed", says)
        assert current == OLD
        assert len(receiver.working) == 2  # the new value was applied and tested: both work
        assert records[-1]["action"] == "rotation_failed"
        _completed(gsm, receiver, capsys)
    else:
        assert "Traceback" not in err
        assert current != OLD
        assert receiver.working == {current}
        assert records[-1]["action"] == "rotation_completed"
        steps = [r["details"]["step"] for r in records if r["action"] == "rotation_step"]
        assert steps == ["create", "set", "apply", "test", "finish"]
    _nothing_leaked(gsm, private_home, out, err)


@pytest.mark.parametrize("tls", ["wrong-ca", "expired"])
def test_a_certificate_leakstop_must_refuse_sends_nothing_and_changes_nothing(
    gsm: FakeSecretManager,
    receiver: Receiver,
    workdir: Path,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
    tls: Tls,
) -> None:
    with _proxy(gsm, workdir, tls) as proxy:
        _configure(workdir, proxy, receiver)
        code, out, err, _ = cli_runs.rotate(capsys, NAME)
    assert code == 2
    cli_runs.error_line(err, "TLS: the endpoint's certificate is not trusted")
    assert gsm.server.requests == []
    assert receiver.bodies == []
    assert _store_works(gsm, receiver) == OLD
    assert len(gsm.secrets[SECRET].versions) == 1
    cli_runs.audit_verifies(capsys)
    _nothing_leaked(gsm, private_home, out, err)
    with _proxy(gsm, workdir, "ok") as proxy:
        _configure(workdir, proxy, receiver)
        _completed(gsm, receiver, capsys)
