"""One configured notifier: its payload renderer and a transport to its webhook URL."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from leakstop.config.notifications import NotifierSettings
from leakstop.notify import webhook
from leakstop.notify.base import Delivery, NotifyError
from leakstop.notify.event import Event
from leakstop.notify.transport import RetryPolicy, Transport

Render = Callable[[Event], Mapping[str, Any]]


class WebhookNotifier:
    """POSTs `render(event)` as JSON to the URL in `$url_env`.

    A notifier whose URL is missing or unusable still exists: each send raises NotifyError
    saying why, so one bad notifier is reported and audited, and never stops a command.
    """

    def __init__(
        self,
        settings: NotifierSettings,
        render: Render,
        url: str | None,
        *,
        signing_key: bytes | None = None,
        problem: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._render = render
        self._key = signing_key
        self._problem = problem
        self._transport = None
        if url is not None and problem is None:
            self._transport = Transport(
                url,
                f"notifier {settings.name}",
                timeout=settings.timeout,
                retries=settings.retries,
                policy=policy,
            )

    @property
    def settings(self) -> NotifierSettings:
        return self._settings

    def __repr__(self) -> str:
        return f"WebhookNotifier({self._settings.name!r}, {self._settings.type!r})"

    def send(self, event: Event) -> Delivery:
        if self._transport is None:
            raise NotifyError(f"notifier {self._settings.name}: {self._problem}")
        body = json.dumps(
            self._render(event), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
        return self._transport.post(body, lambda sent: self._headers(event, sent))

    def _headers(self, event: Event, body: bytes) -> Mapping[str, str]:
        if self._settings.type == "webhook":
            return webhook.headers(event, body, self._key)
        return {}
