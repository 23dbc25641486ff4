"""`notifications:` in `.leakstop.yaml`: where leakstop tells people what it did or found.

```yaml
notifications:
  - name: security-slack
    type: slack                      # slack | teams | webhook
    url_env: SLACK_SECURITY_WEBHOOK  # the webhook URL is a credential: only its variable here
    events: [rotation_failed, revocation, leak_confirmed, expiring, anomaly]  # default: all
    min_severity: high               # optional: leave out what is less severe
  - name: siem
    type: webhook
    url_env: SIEM_WEBHOOK_URL
    signing_key_env: SIEM_WEBHOOK_KEY   # optional: HMAC-SHA256 signature header
```
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from leakstop.config.options import ENV_NAME
from leakstop.finding import Severity
from leakstop.yamlfile import Fields

NOTIFIER_KEYS = (
    "name",
    "type",
    "url_env",
    "events",
    "min_severity",
    "signing_key_env",
    "timeout",
    "retries",
)
NOTIFIER_TYPES = ("slack", "teams", "webhook")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class EventKind(str, enum.Enum):
    """What a notifier can be told about (`events:`)."""

    #: A rotation finished: the new value is current.
    ROTATION_FINISHED = "rotation_finished"
    #: A rotation failed, or failed and was rolled back (the old value still works).
    ROTATION_FAILED = "rotation_failed"
    #: A credential was revoked: an emergency response, or an old value after its grace.
    REVOCATION = "revocation"
    #: A leak of a managed secret was confirmed and its policy says `notify`.
    LEAK_CONFIRMED = "leak_confirmed"
    #: A managed secret expires soon or has expired.
    EXPIRING = "expiring"
    #: The audit trail shows an anomaly (`leakstop audit anomalies --record`).
    ANOMALY = "anomaly"


@dataclass(frozen=True)
class NotifierSettings:
    name: str
    type: str
    #: The environment variable that holds the webhook URL (never the URL itself).
    url_env: str
    events: frozenset[EventKind] = frozenset(EventKind)
    #: Events less severe than this are not sent; None: all.
    min_severity: Severity | None = None
    #: webhook only: the variable holding the HMAC-SHA256 key; None: unsigned.
    signing_key_env: str | None = None
    #: Seconds per attempt.
    timeout: float = 5.0
    #: Retries after the first attempt (on connection errors, 429 and 5xx).
    retries: int = 3

    def wants(self, kind: EventKind, severity: Severity) -> bool:
        """True when this notifier is to be told about an event of `kind` at `severity`."""
        if kind not in self.events:
            return False
        # rank 0 is the most severe (critical)
        return self.min_severity is None or severity.rank <= self.min_severity.rank


def parse_notifications(fields: Fields) -> tuple[NotifierSettings, ...]:
    """The `notifications:` list; names are unique. Raises ConfigError naming the line."""
    notifiers: list[NotifierSettings] = []
    for item, line in fields.items("notifications"):
        sub = Fields(item, fields.path, fields.error, "a notifier")
        notifier = _notifier(sub)
        if any(n.name == notifier.name for n in notifiers):
            sub.fail(f"two notifiers are called {notifier.name!r}", line)
        notifiers.append(notifier)
    return tuple(notifiers)


def _notifier(fields: Fields) -> NotifierSettings:
    if fields.has("url"):
        fields.fail(
            "'url' would put the webhook URL (a credential) in the file, and in git: set an "
            "environment variable and name it with url_env",
            fields.line_of("url"),
        )
    fields.check_keys(NOTIFIER_KEYS)
    name = fields.string("name", required=True)
    if not _NAME.match(name):
        fields.fail(
            f"notifier name must be lowercase letters, digits, '-' or '_', got {name!r}",
            fields.line_of("name"),
        )
    kind = fields.string("type", required=True)
    if kind not in NOTIFIER_TYPES:
        fields.fail(
            f"unknown notifier type {kind!r} (choose from {', '.join(NOTIFIER_TYPES)})",
            fields.line_of("type"),
        )
    url_env = _env_name(fields, "url_env", required=True)
    assert url_env is not None  # required: a missing one has raised
    signing_key_env = _env_name(fields, "signing_key_env")
    if signing_key_env is not None and kind != "webhook":
        fields.fail(
            f"signing_key_env is for type webhook ({kind} webhooks are not signed by the sender)",
            fields.line_of("signing_key_env"),
        )
    events = frozenset(EventKind)
    if fields.has("events"):
        names = fields.string_list("events")
        choices = ", ".join(e.value for e in EventKind)
        chosen = set()
        for event in names:
            try:
                chosen.add(EventKind(event))
            except ValueError:
                fields.fail(
                    f"unknown event {event!r} (choose from {choices})", fields.line_of("events")
                )
        if not chosen:
            fields.fail("events must name at least one event", fields.line_of("events"))
        events = frozenset(chosen)
    min_severity = None
    if (text := fields.optional_string("min_severity")) is not None:
        try:
            min_severity = Severity(text)
        except ValueError:
            choices = ", ".join(s.value for s in Severity)
            fields.fail(
                f"min_severity must be one of {choices}, got {text!r}",
                fields.line_of("min_severity"),
            )
    return NotifierSettings(
        name,
        kind,
        url_env,
        events,
        min_severity,
        signing_key_env,
        fields.number("timeout", low=0.1, high=60) or 5.0,
        fields.integer("retries", 3, low=0, high=10),
    )


def _env_name(fields: Fields, key: str, *, required: bool = False) -> str | None:
    value = fields.string(key, required=required) if required else fields.optional_string(key)
    if value is not None and not ENV_NAME.match(value):
        # Not echoed: a URL pasted here by mistake must not reach a terminal or CI log.
        fields.fail(
            f"{key} must name an environment variable (letters, digits and _), not its value",
            fields.line_of(key),
        )
    return value
