"""The generic webhook: the event as JSON, signed as the module docstring tells a receiver to
check it, the same Idempotency-Key on every retry."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from pytest_httpserver import HTTPServer

from leakstop.notify.base import NotifyError
from leakstop.notify.events import leak_confirmed_event
from leakstop.notify.registry import build_notifiers
from tests.notify.conftest import FAST, LEAKED, finding, secret, settings

KEY = "receiver-key-NEVER-SHOWN-31d9"
ENV = {"HOOK_URL": "", "HOOK_KEY": KEY}


def _expected(timestamp: str, body: bytes) -> str:
    # Written out as a receiver would, not through leakstop's `sign`.
    return (
        "sha256="
        + hmac.new(KEY.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    )


def test_a_signed_event_arrives_with_its_facts(server: HTTPServer) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("", status=204)
    env = {**ENV, "HOOK_URL": server.url_for("/hook")}
    (notifier,) = build_notifiers([settings("webhook", signing_key_env="HOOK_KEY")], env, FAST)
    event = leak_confirmed_event(finding(), secret())
    before = int(time.time())

    assert notifier.send(event).status == 204

    [(request, _)] = server.log
    body = request.get_data()
    document = json.loads(body)
    assert document["version"] == 1
    assert document["event"] == "leak_confirmed"
    assert document["severity"] == "high"
    assert document["secret"] == "payments/api-key"
    assert document["id"] == event.id
    assert document["facts"]["rule_id"] == "generic-api-key"
    assert document["facts"]["location"] == "deploy/app.env:3"
    assert document["facts"]["fingerprint"] == finding().fingerprint
    assert document["facts"]["redacted"] == finding().redacted
    assert request.headers["X-Leakstop-Event"] == "leak_confirmed"
    assert request.headers["Idempotency-Key"] == event.id
    timestamp = request.headers["X-Leakstop-Timestamp"]
    assert before <= int(timestamp) <= time.time() + 1
    assert hmac.compare_digest(request.headers["X-Leakstop-Signature"], _expected(timestamp, body))
    assert request.headers["X-Leakstop-Signature"] != _expected(str(int(timestamp) + 1), body)
    assert LEAKED.encode() not in body
    assert KEY.encode() not in body


def test_unsigned_without_a_key(server: HTTPServer) -> None:
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    (notifier,) = build_notifiers(
        [settings("webhook")], {"HOOK_URL": server.url_for("/hook")}, FAST
    )
    notifier.send(leak_confirmed_event(finding(), secret()))
    [(request, _)] = server.log
    assert "X-Leakstop-Signature" not in request.headers


def test_a_configured_key_that_is_not_set_fails_without_sending(server: HTTPServer) -> None:
    env = {"HOOK_URL": server.url_for("/hook")}
    (notifier,) = build_notifiers([settings("webhook", signing_key_env="HOOK_KEY")], env, FAST)
    with pytest.raises(NotifyError, match=r"^notifier chat: \$HOOK_KEY \(the signing key\)"):
        notifier.send(leak_confirmed_event(finding(), secret()))
    assert server.log == []
