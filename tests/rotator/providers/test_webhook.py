"""The webhook issuer against a receiving server (webhook_receiver) that checks each signature,
timestamp and id: a full rotation through the machine, a refused test rolled back, and the old
value never sent."""

from __future__ import annotations

import ssl
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.config.options import FrozenMap, Origin
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.errors import ConfigError, ProviderError
from leakstop.rotator.machine import Machine, Outcome, Step
from leakstop.rotator.providers.base import ProviderContext
from leakstop.rotator.providers.local import LocalStoreProvider
from leakstop.rotator.providers.webhook import WebhookIssuer, WebhookSettings
from leakstop.store import LocalStore
from tests.rotator.providers.webhook_receiver import Receiver

KEY = "webhook signing key of the tests 7d1e"
OLD = b"Old-Billing-Key-4f9a2c71e0"
SECRET = ManagedSecret(
    name="billing/api-key",
    store=StoreRef("local"),
    issuer=IssuerRef("hook", FrozenMap({"service": "billing"})),
    policy=RotationPolicy(interval=timedelta(days=30), grace=timedelta(0)),
)


@pytest.fixture
def receiver(httpserver_ipv4: HTTPServer) -> Receiver:
    return Receiver(httpserver_ipv4, KEY.encode(), {OLD})


def issuer(url: str, key: str = KEY) -> WebhookIssuer:
    return WebhookIssuer("hook", WebhookSettings(url, "HOOK_KEY", timeout=5), {"HOOK_KEY": key})


@pytest.fixture
def parts(tmp_path: Path) -> tuple[LocalStore, AuditLog, Path]:
    audit_log = AuditLog.open(tmp_path / "audit", b"audit key of the webhook tests")
    store = LocalStore.init(
        tmp_path,
        "default",
        b"master of the webhook tests",
        audit_log,
        Context("tester", Source.CLI),
        iterations=1000,
    )
    store.write(SECRET.name, OLD, expected_version=None)
    return store, audit_log, tmp_path / "audit"


def test_a_full_rotation_applies_tests_promotes_and_revokes_through_the_hook(
    receiver: Receiver, parts: tuple[LocalStore, AuditLog, Path]
) -> None:
    store, audit_log, audit_dir = parts
    machine = Machine(
        LocalStoreProvider(store), issuer(receiver.url), audit_log, Context("t", Source.CLI)
    )
    result = machine.rotate(SECRET, reason="test")
    assert result.outcome is Outcome.ROTATED, result.error
    assert result.steps == (Step.CREATE, Step.SET, Step.APPLY, Step.TEST, Step.FINISH, Step.REVOKE)
    new = store.read(SECRET.name)
    assert receiver.working == {new}  # the new one works, the leaked one was revoked
    assert [s["step"] for s in receiver.steps] == ["apply", "test", "revoke"]
    apply, test, revoke = receiver.steps
    assert apply["value"] == test["value"] == new.decode()
    assert apply["options"] == {"service": "billing"}
    assert apply["previous_fingerprint"] == revoke["fingerprint"] == receiver.fingerprint(OLD)
    assert "value" not in revoke
    audit_log.close()
    logs = b"".join(p.read_bytes() for p in audit_dir.rglob("*") if p.is_file())
    for captured in (*receiver.bodies, logs):
        assert OLD not in captured
    assert new not in logs


def test_a_refused_test_rolls_back_without_sending_the_old_value(
    receiver: Receiver, parts: tuple[LocalStore, AuditLog, Path]
) -> None:
    store, audit_log, _ = parts
    receiver.fail["test"] = 503
    machine = Machine(
        LocalStoreProvider(store), issuer(receiver.url), audit_log, Context("t", Source.CLI)
    )
    result = machine.rotate(SECRET)
    assert result.outcome is Outcome.ROLLED_BACK
    assert result.error == "webhook 'hook': test of billing/api-key answered HTTP 503"
    assert [s["step"] for s in receiver.steps] == ["apply", "test", "rollback"]
    rollback = receiver.steps[-1]
    assert rollback["fingerprint"] == receiver.fingerprint(OLD)
    assert "value" not in rollback
    assert receiver.working == {OLD}
    assert store.read(SECRET.name) == OLD
    assert not any(OLD in body for body in receiver.bodies)


def test_a_wrong_key_is_refused_and_reported_with_the_status(receiver: Receiver) -> None:
    with pytest.raises(ProviderError, match="revoke of billing/api-key answered HTTP 401"):
        issuer(receiver.url, key="another key").revoke(SECRET.name, FrozenMap(), OLD)
    assert receiver.steps == []


def test_check_posts_a_signed_check_step(receiver: Receiver, httpserver_ipv4: HTTPServer) -> None:
    assert issuer(receiver.url).check([]) == []
    assert receiver.steps[-1]["step"] == "check"
    assert issuer(receiver.url, key="wrong").check([]) == [
        "webhook 'hook': check answered HTTP 401"
    ]
    down = issuer("http://127.0.0.1:9/hook").check([])
    assert "cannot reach http://127.0.0.1:9" in down[0]


def test_a_missing_key_says_which_variable(receiver: Receiver) -> None:
    hook = WebhookIssuer("hook", WebhookSettings(receiver.url, "HOOK_KEY"), {})
    with pytest.raises(ProviderError, match=r"\$HOOK_KEY is not set"):
        hook.test(SECRET.name, FrozenMap(), b"x")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hmac_key_env": "K"}, "'url' is missing"),
        ({"url": "http://hooks.example.com/x", "hmac_key_env": "K"}, "clear text"),
        ({"url": "https://hooks.example.com/x"}, "'hmac_key_env' is missing"),
        ({"url": "https://hooks.example.com/x", "hmac_key_env": "K", "retries": 3}, "unknown"),
        ({"url": "https://hooks.example.com/x", "hmac_key_env": "K", "timeout": "1y"}, "timeout"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object], message: str) -> None:
    context = ProviderContext("hook", FrozenMap(options), {}, Origin("x.yaml", 3))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message) as raised:
        WebhookIssuer.from_settings(context)
    assert str(raised.value).startswith("x.yaml:3: provider 'hook'")


def test_a_failed_apply_is_rolled_back_by_fingerprint_too(
    receiver: Receiver, parts: tuple[LocalStore, AuditLog, Path]
) -> None:
    store, audit_log, _ = parts
    receiver.fail["apply"] = 500
    machine = Machine(
        LocalStoreProvider(store), issuer(receiver.url), audit_log, Context("t", Source.CLI)
    )
    result = machine.rotate(SECRET)
    assert result.outcome is Outcome.ROLLED_BACK
    assert [s["step"] for s in receiver.steps] == ["apply", "rollback"]
    assert not any(OLD in body for body in receiver.bodies)
    assert store.read(SECRET.name) == OLD


def test_the_value_goes_over_https_checked_against_the_ca(
    tmp_path: Path, parts: tuple[LocalStore, AuditLog, Path]
) -> None:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        receiver = Receiver(server, KEY.encode(), {OLD})
        settings = WebhookSettings(receiver.url, "HOOK_KEY", timeout=5, ca_file=str(ca_file))
        hook = WebhookIssuer("hook", settings, {"HOOK_KEY": KEY})
        hook.test(SECRET.name, FrozenMap(), OLD)
        assert receiver.url.startswith("https://")
        assert receiver.steps[-1]["value"] == OLD.decode()
        untrusted = WebhookIssuer(
            "hook", WebhookSettings(receiver.url, "HOOK_KEY"), {"HOOK_KEY": KEY}
        )
        with pytest.raises(ProviderError, match=r"cannot reach https://127\.0\.0\.1") as raised:
            untrusted.test(SECRET.name, FrozenMap(), b"never-sent-value")
        assert "\n" not in str(raised.value)
        assert not any(b"never-sent-value" in body for body in receiver.bodies)
    finally:
        server.clear()
        if server.is_running():
            server.stop()
