"""`leakstop notify test`, and notifications through the CLI: `respond --apply` with a
`notify` policy sends one message per confirmed leak, and never a secret value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from leakstop.cli import main
from tests.conftest import GITHUB_TOKEN

MASTER = "master key of the notify tests"
HOOK = "/services/T0CLI/B0CLI/hooksecretpath"
#: Two managed secrets' current values, leaked into the working tree.
BILLING = b"acme_Pq4Rs8Tu2Vw6Xy0Za3Bc7De1Fg5Hj9Kl"
SEARCH = b"acme_Mn3Op7Qr1St5Uv9Wx2Yz6Ab0Cd4Ef8Gh"


@pytest.fixture
def hook(httpserver_ipv4: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    httpserver_ipv4.expect_request(HOOK, method="POST").respond_with_data("ok")
    monkeypatch.setenv("SECURITY_SLACK", httpserver_ipv4.url_for(HOOK))
    return httpserver_ipv4


def _payloads(server: HTTPServer) -> list[Any]:
    return [json.loads(request.get_data()) for request, _ in server.log]


def _audit(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["audit", "query", "-f", "json", *args]) == 0
    found: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return found


def test_notify_test_sends_one_message_per_notifier(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hook: HTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MISSING_HOOK", raising=False)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nnotifications:\n"
        "  - {name: security-slack, type: slack, url_env: SECURITY_SLACK}\n"
        "  - {name: ops-teams, type: teams, url_env: MISSING_HOOK}\n"
    )

    assert main(["notify", "test"]) == 1
    out = capsys.readouterr().out
    assert out == (
        "✓ security-slack (slack): delivered\n✗ notifier ops-teams: $MISSING_HOOK is not set\n"
    )
    (payload,) = _payloads(hook)
    assert payload["blocks"][0]["text"]["text"] == "leakstop test message"

    assert main(["notify", "test", "security-slack"]) == 0
    assert capsys.readouterr().out == "✓ security-slack (slack): delivered\n"
    assert len(hook.log) == 2
    actions = [r["action"] for r in _audit(capsys)]
    assert actions == ["notification_sent", "notification_failed", "notification_sent"]

    assert main(["notify", "test", "pager"]) == 2
    assert "no notifier called pager (configured: security-slack, ops-teams)" in (
        capsys.readouterr().err
    )


def test_notify_test_without_notifiers_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".leakstop.yaml").write_text("version: 1\n")
    assert main(["notify", "test"]) == 2
    assert "add a `notifications:` section" in capsys.readouterr().err


def _managed(tmp_path: Path, private_home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.audit.record import Source
    from leakstop.store import LocalStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    audit_log = AuditLog.open(private_home / "audit", None)
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("t", Source.API),
        iterations=1000,
    )
    store.write("billing/api-key", BILLING, expected_version=None)
    store.write("search/api-key", SEARCH, expected_version=None)
    return store


CONFIG = """version: 1
secrets:
  - name: billing/api-key
    store: {provider: local}
    generate: {length: 32, prefix: acme_}
    owners: [team-billing]
  - name: search/api-key
    store: {provider: local}
    generate: {length: 32, prefix: acme_}
notifications:
  - name: security-slack
    type: slack
    url_env: SECURITY_SLACK
    events: [leak_confirmed, rotation_failed, rotation_finished]
"""


def test_respond_apply_with_a_notify_policy_sends_one_message_per_confirmed_leak(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    hook: HTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = _managed(tmp_path, private_home, monkeypatch)
    (tmp_path / ".leakstop.yaml").write_text(CONFIG + "respond: {confirmed: notify}\n")
    # billing's value leaks in two files: still one leak, one message.
    (tmp_path / "app.env").write_text(f"ACME_API_KEY={BILLING.decode()}\nTOKEN={GITHUB_TOKEN}\n")
    (tmp_path / "copy.env").write_text(f"ACME_API_KEY={BILLING.decode()}\n")
    (tmp_path / "search.env").write_text(f"SEARCH_API_KEY={SEARCH.decode()}\n")

    assert main(["respond", "-j", "1"]) == 0  # a dry run sends nothing
    assert hook.log == []
    capsys.readouterr()

    assert main(["respond", "--apply", "-j", "1", "-f", "json"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert sorted((r["secret"], r["outcome"]) for r in outcome["results"]) == [
        ("billing/api-key", "notified"),
        ("search/api-key", "notified"),
    ]
    payloads = _payloads(hook)
    assert sorted(p["blocks"][0]["text"]["text"] for p in payloads) == [
        "Leak confirmed: billing/api-key",
        "Leak confirmed: search/api-key",
    ]
    # notify changes nothing: the leaked values are still current.
    assert store.read("billing/api-key") == BILLING
    assert store.read("search/api-key") == SEARCH
    sent = _audit(capsys, "--action", "notification_sent")
    assert sorted(r["secret"] for r in sent) == ["billing/api-key", "search/api-key"]
    assert {r["details"]["event"] for r in sent} == {"leak_confirmed"}

    captured = b"".join(request.get_data() for request, _ in hook.log)
    for value in (BILLING, SEARCH, GITHUB_TOKEN.encode()):
        assert value not in captured
    written = b"".join(p.read_bytes() for p in (private_home / "audit").glob("*.jsonl"))
    assert BILLING not in written
    assert HOOK.encode() not in written


def test_respond_apply_rotates_and_says_so_without_the_new_value(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    hook: HTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = _managed(tmp_path, private_home, monkeypatch)
    (tmp_path / ".leakstop.yaml").write_text(CONFIG)
    (tmp_path / "app.env").write_text(f"ACME_API_KEY={BILLING.decode()}\n")

    assert main(["respond", "--apply", "-j", "1"]) == 0
    new = store.read("billing/api-key")
    assert isinstance(new, bytes)
    assert new != BILLING
    (payload,) = _payloads(hook)
    assert payload["blocks"][0]["text"]["text"] == "Rotated billing/api-key"
    captured = b"".join(request.get_data() for request, _ in hook.log)
    assert BILLING not in captured
    assert new not in captured


def test_a_notify_policy_with_no_notifier_for_it_fails(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _managed(tmp_path, private_home, monkeypatch)
    config = CONFIG.split("notifications:")[0] + "respond: {confirmed: notify}\n"
    (tmp_path / ".leakstop.yaml").write_text(config)
    (tmp_path / "app.env").write_text(f"ACME_API_KEY={BILLING.decode()}\n")

    assert main(["respond", "--apply", "-j", "1"]) == 1
    assert "billing/api-key: failed: no notifier takes leak_confirmed events" in (
        capsys.readouterr().out
    )


def test_a_notifier_that_is_down_does_not_fail_the_rotation(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = _managed(tmp_path, private_home, monkeypatch)
    monkeypatch.setenv("SECURITY_SLACK", "http://127.0.0.1:9" + HOOK)  # nothing listens
    (tmp_path / ".leakstop.yaml").write_text(
        CONFIG.replace("    events:", "    retries: 0\n    events:")
    )
    (tmp_path / "app.env").write_text(f"ACME_API_KEY={BILLING.decode()}\n")

    assert main(["respond", "--apply", "-j", "1"]) == 0
    captured = capsys.readouterr()
    assert "billing/api-key: rotated" in captured.out
    assert "cannot connect" in captured.err
    assert HOOK not in captured.err
    assert store.read("billing/api-key") != BILLING
    (failed,) = _audit(capsys, "--action", "notification_failed")
    assert failed["details"]["event"] == "rotation_finished"


def test_rotations_run_warns_of_an_expired_secret_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    hook: HTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _managed(tmp_path, private_home, monkeypatch)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nsecrets:\n  - name: billing/api-key\n    store: {provider: local}\n"
        "    policy: {interval: never, expires: '2024-01-31'}\n"
        "notifications:\n  - {name: security-slack, type: slack, url_env: SECURITY_SLACK,"
        " events: [expiring]}\n"
    )
    assert main(["rotations", "run"]) == 0
    assert main(["rotations", "run"]) == 0  # the day's warning is not sent again
    (payload,) = _payloads(hook)
    assert payload["blocks"][0]["text"]["text"] == "billing/api-key has expired"
    assert "expired 2024-01-31" in payload["blocks"][1]["text"]["text"]


def test_audit_anomalies_record_sends_each_new_anomaly_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    hook: HTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.audit.record import Action, Source

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\naudit: {anomalies: {failed_attempts: {count: 3}}}\n"
        "notifications:\n  - {name: security-slack, type: slack, url_env: SECURITY_SLACK}\n"
    )
    audit_log = AuditLog.open(private_home / "audit", None)
    mallory = Context("mallory", Source.CLI)
    for _ in range(3):
        audit_log.append(Action.ACCESS_DENIED, "billing/api-key", mallory, success=False)
    audit_log.close()

    assert main(["audit", "anomalies", "--record"]) == 0
    assert main(["audit", "anomalies", "--record"]) == 0
    (payload,) = _payloads(hook)
    assert payload["blocks"][0]["text"]["text"] == "Audit anomaly: failed attempts"
    facts = [f["text"] for f in payload["blocks"][2]["fields"]]
    assert "*Records*\n3" in facts
    assert "*Actors*\nmallory" in facts
    # Recording the anomaly and its notification raised no anomaly of their own.
    capsys.readouterr()
    assert main(["audit", "anomalies", "-f", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_rotate_apply_sends_rotation_finished(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    hook: HTTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = _managed(tmp_path, private_home, monkeypatch)
    (tmp_path / ".leakstop.yaml").write_text(CONFIG)

    assert main(["rotate", "search/api-key", "--apply", "--reason", "quarterly"]) == 0
    (payload,) = _payloads(hook)
    assert payload["text"].startswith("Rotated search/api-key: ")
    facts = [f["text"] for f in payload["blocks"][2]["fields"]]
    assert "*Reason*\nquarterly" in facts
    new = store.read("search/api-key")
    assert isinstance(new, bytes)
    captured = b"".join(request.get_data() for request, _ in hook.log)
    assert new not in captured
    assert SEARCH not in captured
