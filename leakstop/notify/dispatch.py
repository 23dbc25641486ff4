"""Send one event to every notifier that wants it, and audit each send.

A notifier that fails never fails the command that reports through it: the failure is a
`notification_failed` record and a warning, and the caller gets it back to show.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action
from leakstop.notify.base import Notifier, NotifyError
from leakstop.notify.event import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    """What became of one event at one notifier."""

    notifier: str
    #: Why it was not delivered; None when it was.
    error: str | None = None
    attempts: int = 0

    @property
    def is_delivered(self) -> bool:
        return self.error is None


class Notifications:
    """The configured notifiers, with the log that records each send."""

    def __init__(
        self, notifiers: Sequence[Notifier], audit_log: AuditLog, context: Context
    ) -> None:
        self.notifiers = tuple(notifiers)
        self._audit_log = audit_log
        self._context = context

    def publish(self, event: Event) -> list[Sent]:
        """Send `event` to each notifier whose `events`/`min_severity` take it (a test
        event: to all). An empty list: no notifier wanted it."""
        return [self._send(n, event) for n in self.notifiers if _wants(n, event)]

    def publish_all(self, events: Iterable[Event | None]) -> list[Sent]:
        sent: list[Sent] = []
        for event in events:
            if event is not None:
                sent += self.publish(event)
        return sent

    def send_to(self, notifier: Notifier, event: Event) -> Sent:
        """Send `event` to `notifier` whatever its filters say (`notify test`)."""
        return self._send(notifier, event)

    def _send(self, notifier: Notifier, event: Event) -> Sent:
        settings = notifier.settings
        details = {
            "notifier": settings.name,
            "type": settings.type,
            "event": event.name,
            "event_id": event.id,
            "severity": event.severity.value,
        }
        context = self._context.in_org(event.org)
        try:
            delivery = notifier.send(event)
        except NotifyError as exc:
            message = str(exc)
            self._audit_log.append(
                Action.NOTIFICATION_FAILED,
                event.subject,
                context,
                details={**details, "attempts": exc.attempts},
                success=False,
                error=message,
            )
            log.warning("%s (the %s event was not sent there)", message, event.name)
            return Sent(settings.name, message, exc.attempts)
        self._audit_log.append(
            Action.NOTIFICATION_SENT,
            event.subject,
            context,
            details={**details, "attempts": delivery.attempts, "status": delivery.status},
        )
        return Sent(settings.name, None, delivery.attempts)


def _wants(notifier: Notifier, event: Event) -> bool:
    if event.kind is None:
        return True
    return notifier.settings.wants(event.kind, event.severity)
