"""HTTP faults between leakstop and GitHub (the local GitHub of
tests/rotator/providers/github_server.py behind the FaultProxy), where leakstop talks to it:

* writing a rotated value into an Actions secret (`GET .../public-key`, `PUT .../{secret}`), in
  the finish step of `leakstop rotate --apply` (the issuer is a webhook service that keeps the
  set of credentials it accepts);
* revoking a leaked token (`POST /credentials/revoke`) in `leakstop revoke --apply`.

The GitHub provider retries nothing (github_api: a rate limit says when to come back, and the
revocation API allows 60 requests an hour): every fault ends in one error line and exit code
2 at once, without waiting for a Retry-After. Then the value GitHub holds and the journal's
current one are both accepted by the service, the audit chain verifies with every step on
record, and the next run (`rotate --resume`, `revoke` again) completes the work."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.rules.validators import base62_crc32
from leakstop.store import LocalStore
from tests.faults import cli_runs
from tests.faults.fault_proxy import Fault, FaultProxy, Tls
from tests.rotator.providers.github_server import TOKEN, FakeGitHub, StoredSecret
from tests.rotator.providers.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OLD = "Gq5Wz8Lt2Kx9Rm4Nb7Hc"
KEY = "signing key of the github fault tests"
MASTER = "master key of the github fault tests"
AUDIT = "audit key of the github fault tests"
NAME = "ci/db-password"
BASE = "/repos/acme/api/actions/secrets"
SECRET = "DB_PASSWORD"
PAT_NAME = "ci/bot-pat"
BODY = "m3Rt8VxQ2pLk7ZwN4cYb9HsJ6dFg1B"
PAT = "ghp_" + BODY + base62_crc32(BODY)

PUT = ("PUT", rf"^{BASE}/{SECRET}$")
PUBLIC_KEY = ("GET", rf"^{BASE}/public-key$")
REVOKE = ("POST", r"^/credentials/revoke$")


def _http_date(seconds: float) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=seconds), usegmt=True)


#: fault id → (the fault for one operation, what the error line says)
FAULTS = {
    "500": (lambda op: Fault(*op, status=500), "failed with 500"),
    "502": (lambda op: Fault(*op, status=502), "failed with 502"),
    "503": (lambda op: Fault(*op, status=503), "failed with 503"),
    "429-seconds": (
        lambda op: Fault(*op, status=429, headers={"Retry-After": "30"}),
        "rate limited (429); GitHub takes requests again in 30s",
    ),
    "429-date": (
        lambda op: Fault(*op, status=429, headers={"Retry-After": _http_date(60)}),
        "rate limited (429); GitHub takes requests again in",
    ),
    # GitHub's secondary rate limit: 403 with retry-after (REST docs, "Rate limits").
    "403-secondary": (
        lambda op: Fault(*op, status=403, headers={"retry-after": "45"}),
        "rate limited (403); GitHub takes requests again in 45s",
    ),
    "timeout": (
        lambda op: Fault(*op, kind="sleep", delay=2.0),
        "did not answer within 1s (timeout)",
    ),
    "drop": (
        lambda op: Fault(*op, kind="drop"),
        "closed the connection before answering; it may have done the request",
    ),
}


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> Receiver:
    return Receiver(httpserver_ipv4, KEY.encode(), {OLD.encode()})


@pytest.fixture
def github(httpserver_ipv4: HTTPServer, receiver: Receiver) -> FakeGitHub:
    # After the receiver: the local GitHub answers every path not claimed before it.
    return FakeGitHub(httpserver_ipv4)


@pytest.fixture
def journal(
    private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub
) -> LocalStore:
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("HOOK_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    audit_log = AuditLog.open(private_home / "audit", AUDIT.encode())
    local = LocalStore.init(
        private_home, "default", MASTER.encode(), audit_log, Context("ops", Source.CLI),
        iterations=1000,
    )  # fmt: skip
    local.write(NAME, OLD.encode(), expected_version=None)
    local.write(PAT_NAME, PAT.encode(), expected_version=None)
    # What workflows read today: the value the journal says is current.
    github.secrets[(BASE, SECRET)] = StoredSecret(OLD.encode(), "2026-01-01T00:00:00Z", "x")
    return local


def _proxy(github: FakeGitHub, folder: Path, tls: Tls) -> FaultProxy:
    return FaultProxy(github.url, folder, tls=tls)


@pytest.fixture
def proxy(github: FakeGitHub, tmp_path: Path) -> Iterator[FaultProxy]:
    with _proxy(github, tmp_path, "ok") as proxy:
        yield proxy


def _configure(folder: Path, proxy: FaultProxy, receiver: Receiver) -> None:
    (folder / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  github: {{type: github, api_url: '{proxy.url}', timeout: 1s,\n"
        f"           ca_file: '{proxy.ca_file}', revoke_authenticated: false}}\n"
        f"  hook: {{type: webhook, url: '{receiver.url}', hmac_key_env: HOOK_KEY, timeout: 5s}}\n"
        "secrets:\n"
        f"  - name: {NAME}\n"
        f"    store: {{provider: github, repository: acme/api, secret: {SECRET}}}\n"
        "    issuer: {provider: hook, service: ci}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
        f"  - name: {PAT_NAME}\n    store: {{provider: local}}\n    issuer: {{provider: github}}\n"
    )


def _revoke(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, float]:
    return cli_runs.run(
        capsys, "revoke", PAT_NAME, "--reason", "leaked", "--severity", "low", "--apply"
    )


def _records(capsys: pytest.CaptureFixture[str], secret: str) -> list[dict[str, object]]:
    found = cli_runs.verified_records(capsys, secret)
    # The journal's own reads (the test's too) are records of their own: not the machine's.
    return [r for r in found if r["action"] != "secret_read"]


def _nothing_leaked(
    github: FakeGitHub, private_home: Path, values: set[bytes], *texts: str
) -> None:
    cli_runs.never_written(private_home, values | {PAT.encode()}, *texts)
    for value in values | {PAT.encode()}:
        assert all(value not in body for body in github.bodies if b"credentials" not in body)


#: A lost answer to the public-key read is a 5xx in effect: only the PUT gets those faults.
WRITE_CASES = [("put", f) for f in sorted(FAULTS)] + [
    ("public-key", f) for f in sorted(FAULTS) if f not in ("drop", "timeout")
]


@pytest.mark.parametrize(("op", "fault"), WRITE_CASES)
def test_a_fault_writing_the_actions_secret_keeps_working_values_and_is_resumed(
    github: FakeGitHub,
    receiver: Receiver,
    journal: LocalStore,
    proxy: FaultProxy,
    private_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    op: str,
) -> None:
    make, says = FAULTS[fault]
    proxy.inject(copy.deepcopy(make(PUT if op == "put" else PUBLIC_KEY)))
    _configure(tmp_path, proxy, receiver)

    code, out, err, elapsed = cli_runs.rotate(capsys, NAME)

    assert code == 2
    cli_runs.error_line(err, f"rotation of {NAME} failed", says)
    assert elapsed < 5, elapsed  # no Retry-After is waited for: the error says when
    assert len(proxy.hits) == 1, proxy.hits  # and nothing is retried
    held = github.value(BASE, SECRET)
    current = journal.read(NAME)
    pending = journal.describe(NAME)
    # The new value was applied and tested before finish: the service takes both, so what
    # workflows read (GitHub) works whichever it is, and so does the journal's current one.
    assert current == OLD.encode()
    assert held in receiver.working
    assert current in receiver.working
    assert len(receiver.working) == 2
    # A PUT whose answer was lost was done: GitHub holds the new value already.
    assert (held != OLD.encode()) == (op == "put" and fault in ("drop", "timeout"))
    records = _records(capsys, NAME)
    assert records[-1]["action"] == "rotation_failed"
    steps = [r["details"]["step"] for r in records if r["action"] == "rotation_step"]  # type: ignore[index]
    assert steps == ["create", "set", "apply", "test"]
    assert "pending" in pending.labels, pending

    code, out2, err2, _ = cli_runs.rotate(capsys, NAME, "--resume")
    assert code == 0, err2
    assert "Finished a rotation" in out2
    new = journal.read(NAME)
    assert isinstance(new, bytes)
    assert new != OLD.encode()
    assert github.value(BASE, SECRET) == new
    assert receiver.working == {new}
    records = _records(capsys, NAME)
    assert records[-1]["action"] == "rotation_completed"
    _nothing_leaked(github, private_home, {OLD.encode(), new}, out, err, out2, err2)


@pytest.mark.parametrize("tls", ["wrong-ca", "expired"])
def test_a_github_whose_certificate_does_not_verify_gets_no_value(
    github: FakeGitHub,
    receiver: Receiver,
    journal: LocalStore,
    private_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tls: Tls,
) -> None:
    with _proxy(github, tmp_path, tls) as proxy:
        _configure(tmp_path, proxy, receiver)
        code, out, err, _ = cli_runs.rotate(capsys, NAME)
    assert code == 2
    cli_runs.error_line(err, "CERTIFICATE_VERIFY_FAILED")
    assert github.bodies == []  # not even the public key was asked for
    assert github.value(BASE, SECRET) == OLD.encode()
    assert journal.read(NAME) == OLD.encode()
    assert OLD.encode() in receiver.working
    assert _records(capsys, NAME)[-1]["action"] == "rotation_failed"
    with _proxy(github, tmp_path, "ok") as proxy:
        _configure(tmp_path, proxy, receiver)
        code, out2, err2, _ = cli_runs.rotate(capsys, NAME, "--resume")
    assert code == 0, err2
    new = journal.read(NAME)
    assert isinstance(new, bytes)
    assert github.value(BASE, SECRET) == new
    assert receiver.working == {new}
    _nothing_leaked(github, private_home, {OLD.encode(), new}, out, err, out2, err2)


@pytest.mark.parametrize("fault", [*sorted(FAULTS), "wrong-ca", "expired"])
def test_a_fault_revoking_a_leaked_token_is_reported_and_the_next_run_revokes_it(
    github: FakeGitHub,
    receiver: Receiver,
    journal: LocalStore,
    proxy: FaultProxy,
    private_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fault: str,
) -> None:
    if fault in FAULTS:
        make, says = FAULTS[fault]
        proxy.inject(copy.deepcopy(make(REVOKE)))
        _configure(tmp_path, proxy, receiver)
        code, out, err, elapsed = _revoke(capsys)
    else:
        says = "CERTIFICATE_VERIFY_FAILED"
        (tmp_path / "bad").mkdir()
        with _proxy(github, tmp_path / "bad", fault) as bad:  # type: ignore[arg-type]
            _configure(tmp_path, bad, receiver)
            code, out, err, elapsed = _revoke(capsys)
        _configure(tmp_path, proxy, receiver)

    assert code == 2
    cli_runs.error_line(err, "revocation rv-", "failed", says)
    assert elapsed < 5, elapsed
    did_it = fault in ("drop", "timeout")  # GitHub took it; leakstop never heard
    assert github.revoked == ([[PAT]] if did_it else [])
    records = _records(capsys, PAT_NAME)
    (revoked,) = [r for r in records if r["action"] == "revoked"]
    assert revoked["success"] is False
    assert says in str(revoked["error"])

    code, out2, err2, _ = _revoke(capsys)
    assert code == 0, err2
    assert github.revoked[-1] == [PAT]
    records = _records(capsys, PAT_NAME)
    assert [r["success"] for r in records if r["action"] == "revoked"] == [False, True]
    _nothing_leaked(github, private_home, {OLD.encode()}, out, err, out2, err2)
