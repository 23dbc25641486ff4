"""HTTP faults between leakstop and Azure Key Vault, through `leakstop rotate --apply` and the
real azure-keyvault-secrets SDK: the local Key Vault (tests/rotator/providers/fake_keyvault.py)
sits behind the FaultProxy, the secret's issuer is a webhook service that keeps the set of
credentials it accepts.

Faults the SDK may retry (a 5xx on a read or a tag update, a 429 whose Retry-After is within
leakstop's bound) are retried, after the wait the server asked for, and the rotation completes.
Faults it must not retry end in one error line and exit code 2: a set-secret that may have
reached the vault (a new version each time), a Retry-After past the bound, a certificate that
does not verify. Whatever happened, the store's current value is one the service accepts,
version-less readers get an enabled version, the audit chain verifies, and the next run
(`rotate --resume`) completes the rotation."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.config.options import FrozenMap, Origin
from leakstop.rotator.providers.azure_keyvault import (
    LABEL_TAG,
    KeyVaultStore,
    StaticToken,
    parse_settings,
)
from leakstop.rotator.providers.azure_retry import MAX_RETRY_AFTER
from tests.faults import cli_runs
from tests.faults.fault_proxy import Fault, FaultProxy, Tls
from tests.rotator.providers.fake_keyvault import FakeKeyVault
from tests.rotator.providers.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OLD = "Kv7Qx2Lm9Tz4Rw8Nb3Hc"
KEY = "signing key of the key vault fault tests"
AUDIT = "audit key of the key vault fault tests"
NAME = "billing/db-password"
KV_NAME = "billing-db-password"
WHERE = FrozenMap({"name": KV_NAME})

#: The Key Vault operations leakstop uses, as (method, path regex) behind the proxy.
LIST = ("GET", rf"^/secrets/{KV_NAME}/versions")
SET = ("PUT", rf"^/secrets/{KV_NAME}\?")
TAG = ("PATCH", rf"^/secrets/{KV_NAME}/[0-9a-f]{{32}}\?")


def _http_date(seconds: float) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds), usegmt=True)


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[FakeKeyVault]:
    folder = tmp_path / "kv"
    folder.mkdir()
    fake = FakeKeyVault(folder)
    fake.put(KV_NAME, OLD)
    yield fake
    fake.stop()


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> Receiver:
    return Receiver(httpserver_ipv4, KEY.encode(), {OLD.encode()})


def _proxy(vault: FakeKeyVault, folder: Path, tls: Tls) -> FaultProxy:
    return FaultProxy(vault.url, folder, tls=tls, upstream_ca=vault.ca_file)


@pytest.fixture
def proxy(vault: FakeKeyVault, tmp_path: Path) -> Iterator[FaultProxy]:
    with _proxy(vault, tmp_path, "ok") as proxy:
        yield proxy


@pytest.fixture
def workdir(
    vault: FakeKeyVault,
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT)
    monkeypatch.setenv("KV_ACCESS_TOKEN", vault.token)
    monkeypatch.setenv("HOOK_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _configure(folder: Path, proxy: FaultProxy, receiver: Receiver) -> None:
    (folder / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  kv: {{type: azure-keyvault, vault_url: '{proxy.url}', timeout: 1s,\n"
        "       auth: {method: token, token_env: KV_ACCESS_TOKEN},\n"
        f"       tls: {{ca_file: '{proxy.ca_file}'}}}}\n"
        f"  hook: {{type: webhook, url: '{receiver.url}', hmac_key_env: HOOK_KEY, timeout: 5s}}\n"
        f"secrets:\n  - name: {NAME}\n    store: {{provider: kv, name: {KV_NAME}}}\n"
        "    issuer: {provider: hook, service: billing}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )


def _direct(vault: FakeKeyVault) -> KeyVaultStore:
    """leakstop's own view of the vault, past the proxy."""
    options = FrozenMap({"vault_url": vault.url, "tls": FrozenMap({"ca_file": vault.ca_file})})
    settings = parse_settings("kv", options, Origin())
    return KeyVaultStore("kv", settings, {}, credential=StaticToken(vault.token))


def _current(vault: FakeKeyVault) -> bytes:
    value = _direct(vault).read(NAME, WHERE)
    assert isinstance(value, bytes)
    return value


def _store_works(vault: FakeKeyVault, receiver: Receiver) -> bytes:
    """The store's current value is one the service accepts, a version-less read gets an
    enabled version, and at most one version is pending."""
    current = _current(vault)
    assert current in receiver.working
    assert vault.latest(KV_NAME).enabled
    pending = [
        v for v in vault.secrets[KV_NAME] if v.enabled and v.tags.get(LABEL_TAG) == "pending"
    ]
    assert len(pending) <= 1
    return current


def _records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return cli_runs.verified_records(capsys, NAME)


def _nothing_leaked(vault: FakeKeyVault, private_home: Path, *texts: str) -> None:
    values = [version.value.encode() for version in vault.secrets[KV_NAME]]
    cli_runs.never_written(private_home, values, *texts)


def _completed(vault: FakeKeyVault, receiver: Receiver, capsys: pytest.CaptureFixture[str]) -> None:
    cli_runs.resume_completes(
        capsys, NAME, OLD.encode(), receiver, lambda: _store_works(vault, receiver)
    )


#: Faults the SDK retries within the bound: (operation, fault, least seconds the run waited).
RETRIED = {
    "503-on-list": (LIST, {"status": 503}, 0.0),
    "500-on-tag": (TAG, {"status": 500}, 0.0),
    "502-on-tag": (TAG, {"status": 502}, 0.0),
    "429-seconds-on-set": (SET, {"status": 429, "headers": {"Retry-After": "1"}}, 1.0),
    "429-date-on-tag": (TAG, {"status": 429, "headers": {"Retry-After": "date+2"}}, 1.0),
}


@pytest.mark.parametrize("case", sorted(RETRIED))
def test_a_fault_within_the_retry_bound_is_retried_and_the_rotation_completes(
    vault: FakeKeyVault,
    receiver: Receiver,
    proxy: FaultProxy,
    workdir: Path,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    (method, path), fault, waited = RETRIED[case]
    headers = {
        k: (_http_date(2) if v == "date+2" else v) for k, v in fault.get("headers", {}).items()
    }
    proxy.inject(Fault(method, path, status=int(fault["status"]), headers=headers))
    _configure(workdir, proxy, receiver)

    code, out, err, elapsed = cli_runs.rotate(capsys, NAME)

    assert code == 0, err
    assert len(proxy.hits) == 1, proxy.hits  # the fault happened, and the retry went through
    assert elapsed >= waited, elapsed
    assert elapsed < waited + 8, elapsed
    new = _store_works(vault, receiver)
    assert new != OLD.encode()
    assert receiver.working == {new}
    records = _records(capsys)
    assert [r["action"] for r in records][-1] == "rotation_completed"
    _nothing_leaked(vault, private_home, out, err)


#: Faults on set-secret that end the run: (fault, what the error line says, reached the vault).
ON_SET = {
    "500": (Fault(*SET, status=500), "Key Vault error (500", False),
    "502": (Fault(*SET, status=502), "Key Vault error (502", False),
    "503": (Fault(*SET, status=503), "Key Vault error (503", False),
    "429-past-the-bound": (
        Fault(*SET, status=429, headers={"Retry-After": "3600"}),
        "rate limited (429",
        False,
    ),
    "429-date-past-the-bound": (
        Fault(*SET, status=429, headers={"Retry-After": "date+3600"}),
        "rate limited (429",
        False,
    ),
    "timeout": (Fault(*SET, kind="sleep", delay=2.5), "no answer in time (timeout)", True),
    "drop": (Fault(*SET, kind="drop"), "closed before Key Vault answered", True),
}


@pytest.mark.parametrize("case", sorted(ON_SET))
def test_a_set_secret_fault_fails_once_and_the_next_run_completes(
    vault: FakeKeyVault,
    receiver: Receiver,
    proxy: FaultProxy,
    workdir: Path,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    fault, says, reached = copy.deepcopy(ON_SET[case])
    fault.headers = {
        k: (_http_date(3600) if v == "date+3600" else v) for k, v in fault.headers.items()
    }
    proxy.inject(fault)
    _configure(workdir, proxy, receiver)

    code, out, err, elapsed = cli_runs.rotate(capsys, NAME)

    assert code == 2
    line = cli_runs.error_line(err, f"rotation of {NAME} failed", says)
    if case.startswith("429"):
        # Not waited for (the bound is 10s), and the user is told when to come back.
        assert elapsed < MAX_RETRY_AFTER, elapsed
        assert "Key Vault takes requests again in" in line, line
    # Never retried: each PUT makes a version, and a retried one looked like a rival's.
    assert len(proxy.hits) == 1, proxy.hits
    puts = [r for r in vault.server.requests if r.method == "PUT" and "authorization" in r.headers]
    assert len(puts) == (1 if reached else 0)
    assert _store_works(vault, receiver) == OLD.encode()
    assert receiver.working == {OLD.encode()}  # the service never saw the new value
    records = _records(capsys)
    assert records[-1]["action"] == "rotation_failed"
    assert records[-1]["success"] is False
    _nothing_leaked(vault, private_home, out, err)
    _completed(vault, receiver, capsys)


#: Faults on the tag updates of finish: (fault, the run's exit code, what stderr says).
ON_FINISH = {
    # Retried twice by the SDK, then given up: the new value works and waits as pending.
    "503-three-times": (Fault(*TAG, status=503, times=3), 2, "Key Vault error (503"),
    "429-past-the-bound": (
        Fault(*TAG, status=429, headers={"Retry-After": "120"}),
        2,
        "Key Vault takes requests again in 120s",
    ),
    # A lost answer to a tag update is retried (the same tags again) and the run completes.
    "drop-once": (Fault(*TAG, kind="drop"), 0, ""),
    "timeout-once": (Fault(*TAG, kind="sleep", delay=1.5), 0, ""),
    # Every answer lost, retries too: Key Vault tagged the version current all the same. The
    # run sees that the promotion took and finishes (the old value revoked) instead of
    # reporting a failure that no later run could see or finish.
    "drop-every-time": (Fault(*TAG, kind="drop", times=3), 0, ""),
    "timeout-every-time": (Fault(*TAG, kind="sleep", delay=1.5, times=3), 0, ""),
}


@pytest.mark.parametrize("case", sorted(ON_FINISH))
def test_a_fault_on_finish_keeps_a_working_current_value_and_is_resumed(
    vault: FakeKeyVault,
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
    current = _store_works(vault, receiver)
    records = _records(capsys)
    if expected == 2:
        cli_runs.error_line(err, f"rotation of {NAME} failed", says)
        assert current == OLD.encode()
        assert len(receiver.working) == 2  # the new value was applied and tested: both work
        assert records[-1]["action"] == "rotation_failed"
        _completed(vault, receiver, capsys)
    else:
        assert "Traceback" not in err
        assert current != OLD.encode()
        assert receiver.working == {current}  # the old value was revoked in the same run
        assert records[-1]["action"] == "rotation_completed"
        steps = [r["details"]["step"] for r in records if r["action"] == "rotation_step"]  # type: ignore[index]
        assert steps == ["create", "set", "apply", "test", "finish"]
    _nothing_leaked(vault, private_home, out, err)


@pytest.mark.parametrize("tls", ["wrong-ca", "expired"])
def test_a_certificate_leakstop_must_refuse_sends_nothing_and_changes_nothing(
    vault: FakeKeyVault,
    receiver: Receiver,
    workdir: Path,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
    tls: Tls,
) -> None:
    with _proxy(vault, workdir, tls) as proxy:
        _configure(workdir, proxy, receiver)
        code, out, err, _ = cli_runs.rotate(capsys, NAME)
    assert code == 2
    cli_runs.error_line(err, "TLS: Key Vault's certificate is not trusted")
    assert vault.server.requests == []  # not even the token challenge went out
    assert receiver.bodies == []
    assert _store_works(vault, receiver) == OLD.encode()
    assert len(vault.secrets[KV_NAME]) == 1
    cli_runs.audit_verifies(capsys)
    _nothing_leaked(vault, private_home, out, err)
    with _proxy(vault, workdir, "ok") as proxy:
        _configure(workdir, proxy, receiver)
        _completed(vault, receiver, capsys)
