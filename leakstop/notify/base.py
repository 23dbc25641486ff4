"""What every notifier is, and the one error they raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from leakstop.config.notifications import NotifierSettings
from leakstop.errors import LeakstopError
from leakstop.notify.event import Event


class NotifyError(LeakstopError):
    """A message was not delivered. The message names the notifier and the webhook's host,
    never its URL (the URL is the credential)."""

    def __init__(self, message: str, attempts: int = 0) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True)
class Delivery:
    """A message the service took."""

    #: HTTP status of the answer that took it.
    status: int
    #: Attempts it took (1: no retry).
    attempts: int


class Notifier(Protocol):
    """Sends one event to one place. `send` raises NotifyError when it was not delivered."""

    @property
    def settings(self) -> NotifierSettings: ...

    def send(self, event: Event) -> Delivery: ...
