"""One event to every notifier that wants it: `events` and `min_severity` filter, each send
is an audit record without the payload, and a failing notifier raises nothing."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action
from leakstop.config.notifications import EventKind
from leakstop.finding import Severity
from leakstop.notify.dispatch import Notifications
from leakstop.notify.event import Event
from leakstop.notify.events import leak_confirmed_event
from leakstop.notify.registry import build_notifiers
from tests.notify.conftest import FAST, LEAKED, finding, records, secret, settings


def _event(kind: EventKind, severity: Severity) -> Event:
    return Event(kind, severity, "t", "s", "payments/api-key")


def test_events_and_min_severity_choose_the_notifiers(
    server: HTTPServer, audit_log: AuditLog, context: Context
) -> None:
    server.expect_request("/all", method="POST").respond_with_data("ok")
    server.expect_request("/failures", method="POST").respond_with_data("ok")
    env = {"ALL": server.url_for("/all"), "FAILURES": server.url_for("/failures")}
    notifiers = build_notifiers(
        [
            settings(name="everything", url_env="ALL"),
            settings(
                name="pager",
                url_env="FAILURES",
                events=frozenset({EventKind.ROTATION_FAILED, EventKind.LEAK_CONFIRMED}),
                min_severity=Severity.HIGH,
            ),
        ],
        env,
        FAST,
    )
    notifications = Notifications(notifiers, audit_log, context)

    finished = notifications.publish(_event(EventKind.ROTATION_FINISHED, Severity.LOW))
    failed = notifications.publish(_event(EventKind.ROTATION_FAILED, Severity.HIGH))
    medium = notifications.publish(_event(EventKind.LEAK_CONFIRMED, Severity.MEDIUM))
    critical = notifications.publish(_event(EventKind.LEAK_CONFIRMED, Severity.CRITICAL))

    assert [s.notifier for s in finished] == ["everything"]
    assert [s.notifier for s in failed] == ["everything", "pager"]
    assert [s.notifier for s in medium] == ["everything"]
    assert [s.notifier for s in critical] == ["everything", "pager"]
    assert all(s.is_delivered for s in finished + failed + medium + critical)
    paths = [request.path for request, _ in server.log]
    assert paths.count("/failures") == 2
    assert paths.count("/all") == 4


def test_each_send_is_audited_without_its_payload(
    server: HTTPServer, audit_log: AuditLog, context: Context
) -> None:
    server.expect_request("/ok", method="POST").respond_with_data("ok")
    server.expect_request("/broken", method="POST").respond_with_data("no", status=500)
    env = {"OK": server.url_for("/ok"), "BROKEN": server.url_for("/broken")}
    notifiers = build_notifiers(
        [settings(name="ok", url_env="OK"), settings(name="broken", url_env="BROKEN", retries=1)],
        env,
        FAST,
    )
    notifications = Notifications(notifiers, audit_log, context)
    event = leak_confirmed_event(finding(), secret())

    sent = notifications.publish(event)  # must not raise: a notifier that fails is reported

    assert [(s.notifier, s.is_delivered, s.attempts) for s in sent] == [
        ("ok", True, 1),
        ("broken", False, 2),
    ]
    done, failed = records(audit_log)
    assert done.action is Action.NOTIFICATION_SENT
    assert done.secret == "payments/api-key"
    assert done.details["notifier"] == "ok"
    assert done.details["event"] == "leak_confirmed"
    assert done.details["event_id"] == event.id
    assert done.details["status"] == 200
    assert failed.action is Action.NOTIFICATION_FAILED
    assert not failed.success
    assert failed.error == (
        f"notifier broken (http://127.0.0.1:{server.port}): HTTP 500 INTERNAL SERVER ERROR: no "
        "after 2 attempts"
    )
    written = b"".join(p.read_bytes() for p in audit_log.folder.glob("*.jsonl"))
    assert LEAKED.encode() not in written
    assert b"/broken" not in written
    # The record says a message went, not what it said.
    assert event.summary.encode() not in written


def test_nothing_configured_sends_nothing(audit_log: AuditLog, context: Context) -> None:
    notifications = Notifications([], audit_log, context)
    assert notifications.publish(_event(EventKind.ANOMALY, Severity.HIGH)) == []
    assert records(audit_log) == []
