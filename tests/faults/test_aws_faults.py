"""HTTP faults between leakstop and AWS, through `leakstop rotate --apply` and the real boto3:
moto's server (IAM, STS, Secrets Manager) sits behind the FaultProxy over TLS, the managed
secret is an IAM user's access key stored in Secrets Manager.

Faults botocore may retry (a 5xx, a throttling error) on a call that is safe to repeat are
retried and the rotation completes. CreateAccessKey is not safe to repeat: a retry after a lost
answer makes a second key whose secret leakstop never saw (and a third key is refused: IAM
allows two), so leakstop sends it once and, when the answer is lost, deletes the key IAM made
meanwhile before it fails. PutSecretValue carries its ClientRequestToken, so a retry is the
same version; an UpdateSecretVersionStage whose answer was lost is seen to have moved the
label. Whatever happened: one error line (no traceback, no secret key), exit code 2, the key
current in Secrets Manager signs in as the user, the user holds no key but the current one and
the one pending in the store, the audit chain verifies, and the next run completes."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.faults import cli_runs
from tests.faults.fault_proxy import Fault, FaultProxy, Tls
from tests.rotator.providers.moto_aws import KeyPair, MotoServer, running_moto, use_credentials

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AUDIT = "audit key of the aws fault tests"
NAME = "ci/deployer-key"

#: The calls under test, as (method, path, body regex, X-Amz-Target regex) behind the proxy.
Op = tuple[str, str, str | None, str | None]
CREATE_KEY: Op = ("POST", r"^/$", r"Action=CreateAccessKey", None)
UPDATE_KEY: Op = ("POST", r"^/$", r"Action=UpdateAccessKey", None)
DELETE_KEY: Op = ("POST", r"^/$", r"Action=DeleteAccessKey", None)
PUT_VALUE: Op = ("POST", r"^/$", None, r"\.PutSecretValue$")
MOVE_STAGE: Op = ("POST", r"^/$", None, r"\.UpdateSecretVersionStage$")
GET_VALUE: Op = ("POST", r"^/$", None, r"\.GetSecretValue$")

IAM_THROTTLED = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender'
    b"</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>5f1c</RequestId></ErrorResponse>"
)
IAM_UNAVAILABLE = IAM_THROTTLED.replace(b"Sender", b"Receiver").replace(
    b"<Code>Throttling</Code><Message>Rate exceeded",
    b"<Code>ServiceUnavailable</Code><Message>Service unavailable",
)
SM_THROTTLED = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
SM_INTERNAL = b'{"__type":"InternalServiceError","message":"An internal error occurred"}'
XML = {"Content-Type": "text/xml"}
JSON = {"Content-Type": "application/x-amz-json-1.1"}


def fault(op: Op, **kind: Any) -> Fault:
    method, path, body, target = op
    header = ("X-Amz-Target", target) if target else None
    return Fault(method, path, body=body, header=header, **kind)


def _iam(status: int, answer: bytes, **extra: Any) -> dict[str, Any]:
    return {"status": status, "answer": answer, "headers": dict(XML), **extra}


def _sm(status: int, answer: bytes, **extra: Any) -> dict[str, Any]:
    return {"status": status, "answer": answer, "headers": dict(JSON), **extra}


@dataclass(frozen=True)
class Target:
    """One test's IAM user and secret (the tests share one moto server: ~2 s to start)."""

    user: str
    secret_id: str
    old: KeyPair


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    yield from running_moto(tmp_path_factory.mktemp("moto"))


@pytest.fixture
def target(moto: MotoServer) -> Target:
    """A user of its own, whose key in use now is AWSCURRENT in its own secret."""
    user = f"deployer-{uuid.uuid4().hex[:8]}"
    moto.user(user)
    key = moto.new_key(user)
    secret_id = f"ci/{user}"
    moto.client("secretsmanager").create_secret(
        Name=secret_id, SecretString=json.dumps(key.value())
    )
    return Target(user, secret_id, key)


def _proxy(moto: MotoServer, folder: Path, tls: Tls) -> FaultProxy:
    return FaultProxy(moto.url, folder, tls=tls, preserve_host=True)


@pytest.fixture
def proxy(moto: MotoServer, tmp_path: Path) -> Iterator[FaultProxy]:
    with _proxy(moto, tmp_path, "ok") as proxy:
        yield proxy


@pytest.fixture
def workdir(
    moto: MotoServer,
    target: Target,
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _configure(
    folder: Path,
    proxy: FaultProxy,
    moto: MotoServer,
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # boto3 trusts the proxy's CA through AWS_CA_BUNDLE, as a user behind a TLS proxy does.
    environ = {**moto.environ(), "AWS_ENDPOINT_URL": proxy.url, "AWS_CA_BUNDLE": proxy.ca_file}
    use_credentials(monkeypatch, environ, folder)
    (folder / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  aws: {{type: aws, region: us-east-1, endpoint_url: '{proxy.url}', timeout: 1s,\n"
        "        test_wait: 2s}\n"
        f"secrets:\n  - name: {NAME}\n"
        f"    store: {{provider: aws, secret_id: {target.secret_id}}}\n"
        f"    issuer: {{provider: aws, iam_user: {target.user}}}\n"
        "    policy: {interval: 90d, grace: 0s}\n"
    )


def _versions(moto: MotoServer, target: Target) -> dict[str, tuple[set[str], KeyPair]]:
    """Every version of the secret in Secrets Manager (past the proxy): id → (stages, pair)."""
    sm = moto.client("secretsmanager")
    secret_id = target.secret_id
    listed = sm.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)["Versions"]
    found = {}
    for item in listed:
        value = json.loads(
            sm.get_secret_value(SecretId=secret_id, VersionId=item["VersionId"])["SecretString"]
        )
        pair = KeyPair(value["access_key_id"], value["secret_access_key"])
        found[item["VersionId"]] = (set(item.get("VersionStages", [])), pair)
    return found


def _store_works(moto: MotoServer, target: Target) -> KeyPair:
    """The key AWSCURRENT holds signs in as the user; at most one version is AWSPENDING; the
    user has no key but the current one and the pending one (none leaked, none dangling)."""
    versions = _versions(moto, target)
    (current,) = [pair for stages, pair in versions.values() if "AWSCURRENT" in stages]
    pending = [pair for stages, pair in versions.values() if stages == {"AWSPENDING"}]
    assert len(pending) <= 1, versions
    assert str(moto.signs_in_as(current)).endswith(f":user/{target.user}")
    held = {current.access_key_id} | {p.access_key_id for p in pending}
    keys = moto.keys(target.user)
    assert set(keys) <= held, (keys, held)
    assert keys[current.access_key_id] == "Active"
    return current


def _records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return cli_runs.verified_records(capsys, NAME)


def _steps(records: list[dict[str, Any]]) -> list[str]:
    """The steps of the last rotation on record."""
    started = max(i for i, r in enumerate(records) if r["action"] == "rotation_started")
    return [r["details"]["step"] for r in records[started:] if r["action"] == "rotation_step"]


def _nothing_leaked(moto: MotoServer, private_home: Path, target: Target, *texts: str) -> None:
    secrets = {target.old.secret_access_key} | {
        pair.secret_access_key for _stages, pair in _versions(moto, target).values()
    }
    cli_runs.never_written(private_home, [secret.encode() for secret in secrets], *texts)


def _replaced(moto: MotoServer, target: Target) -> None:
    """The new key is current and the user's only key; the old one no longer signs in."""
    new = _store_works(moto, target)
    assert new != target.old
    assert moto.keys(target.user) == {new.access_key_id: "Active"}
    assert moto.signs_in_as(target.old) is None


def _completed(moto: MotoServer, target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    """The next run, with AWS well again, completes the rotation."""
    code, _out, err, _ = cli_runs.rotate(capsys, NAME, "--resume")
    assert code == 0, err
    _replaced(moto, target)
    assert _records(capsys)[-1]["action"] == "rotation_completed"


#: Faults botocore retries (once each, then the call goes through): the rotation completes.
#: One case per kind of fault and call family: a 500 behaves as the 503s here, and a lost
#: DeleteAccessKey answer as the lost UpdateAccessKey one.
RETRIED = {
    "create-key-503": (CREATE_KEY, _iam(503, IAM_UNAVAILABLE)),
    "create-key-throttled": (CREATE_KEY, _iam(400, IAM_THROTTLED)),
    "delete-key-throttled": (DELETE_KEY, _iam(400, IAM_THROTTLED)),
    "put-value-throttled": (PUT_VALUE, _sm(400, SM_THROTTLED)),
    "move-stage-503": (MOVE_STAGE, _sm(503, SM_INTERNAL)),
    # A bare 429 is throttling to botocore (and to leakstop's CreateAccessKey loop); AWS sends
    # no Retry-After, and botocore's backoff does not read one.
    "put-value-429-retry-after": (PUT_VALUE, _sm(429, b"{}", headers={**JSON, "Retry-After": "1"})),
    # An answer botocore cannot parse (empty; a proxy's HTML page) was a traceback (exit 3).
    "create-key-429-empty": (CREATE_KEY, _iam(429, b"", headers={**XML, "Retry-After": "1"})),
    "put-value-502-html": (
        PUT_VALUE,
        {
            "status": 502,
            "answer": b"<html>Bad Gateway</html>",
            "headers": {"Content-Type": "text/html"},
        },
    ),
    # The answer is lost after AWS did the work: the retry is the same request again.
    "put-value-drop": (PUT_VALUE, {"kind": "drop"}),
    "put-value-timeout": (PUT_VALUE, {"kind": "sleep", "delay": 1.5}),
    "move-stage-drop": (MOVE_STAGE, {"kind": "drop"}),
    "move-stage-timeout": (MOVE_STAGE, {"kind": "sleep", "delay": 1.5}),
    "update-key-drop": (UPDATE_KEY, {"kind": "drop"}),
    # CreateAccessKey reached IAM, its answer was lost: the key IAM made is deleted, then the
    # call is sent again (botocore's blind retry made a second key, or a refused third).
    "create-key-drop": (CREATE_KEY, {"kind": "drop"}),
    "create-key-timeout": (CREATE_KEY, {"kind": "sleep", "delay": 1.5}),
}


@pytest.mark.parametrize("case", sorted(RETRIED))
def test_a_fault_botocore_may_retry_is_retried_and_the_rotation_completes(
    moto: MotoServer,
    target: Target,
    proxy: FaultProxy,
    workdir: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    op, kind = RETRIED[case]
    proxy.inject(fault(op, **copy.deepcopy(kind)))
    _configure(workdir, proxy, moto, target, monkeypatch)

    code, out, err, elapsed = cli_runs.rotate(capsys, NAME)

    assert code == 0, err
    assert len(proxy.hits) == 1, proxy.hits  # the fault happened once, the retry went through
    assert elapsed < 10, elapsed
    _replaced(moto, target)
    records = _records(capsys)
    assert records[-1]["action"] == "rotation_completed"
    assert _steps(records) == ["create", "set", "test", "finish"]
    _nothing_leaked(moto, private_home, target, out, err)


#: Faults that end the run: (operation, fault, what the error line says).
FAILED = {
    # botocore gives up after three attempts.
    "create-key-503-every-time": (CREATE_KEY, _iam(503, IAM_UNAVAILABLE, times=3), "Unavailable"),
    "put-value-throttled-every-time": (
        PUT_VALUE,
        _sm(400, SM_THROTTLED, times=3),
        "ThrottlingException: Rate exceeded",
    ),
    # Every answer lost: each key IAM made unanswered is deleted before the next attempt.
    "create-key-drop-every-time": (
        CREATE_KEY,
        {"kind": "drop", "times": 3},
        "the answer was lost, and the key IAM made meanwhile",
    ),
    # Before anything is made: the rotation ends on record, before its first step.
    "get-value-500-every-time": (GET_VALUE, _sm(500, SM_INTERNAL, times=3), "InternalServiceError"),
}


@pytest.mark.parametrize("case", sorted(FAILED))
def test_a_fault_that_ends_the_run_leaves_a_working_key_and_the_next_run_completes(
    moto: MotoServer,
    target: Target,
    proxy: FaultProxy,
    workdir: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    op, kind, says = FAILED[case]
    proxy.inject(fault(op, **copy.deepcopy(kind)))
    _configure(workdir, proxy, moto, target, monkeypatch)

    code, out, err, elapsed = cli_runs.rotate(capsys, NAME)

    assert code == 2, err
    cli_runs.error_line(err, f"rotation of {NAME} failed", says)
    assert proxy.hits, "the fault never happened"
    assert elapsed < 15, elapsed
    assert _store_works(moto, target) == target.old
    # Nothing minted is left behind.
    assert moto.keys(target.user) == {target.old.access_key_id: "Active"}
    records = _records(capsys)
    assert records[-1]["action"] == "rotation_failed"
    assert records[-1]["success"] is False
    _nothing_leaked(moto, private_home, target, out, err)
    _completed(moto, target, capsys)


@pytest.mark.parametrize("tls", ["wrong-ca", "expired"])
def test_a_certificate_leakstop_must_refuse_sends_nothing_and_changes_nothing(
    moto: MotoServer,
    target: Target,
    workdir: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tls: Tls,
) -> None:
    with _proxy(moto, workdir, tls) as proxy:
        _configure(workdir, proxy, moto, target, monkeypatch)
        code, out, err, _ = cli_runs.rotate(capsys, NAME)
    assert code == 2
    line = cli_runs.error_line(err)
    assert "certificate" in line.lower(), line
    assert _store_works(moto, target) == target.old
    assert moto.keys(target.user) == {target.old.access_key_id: "Active"}
    assert len(_versions(moto, target)) == 1
    cli_runs.audit_verifies(capsys)
    _nothing_leaked(moto, private_home, target, out, err)
    with _proxy(moto, workdir, "ok") as proxy:
        _configure(workdir, proxy, moto, target, monkeypatch)
        _completed(moto, target, capsys)
