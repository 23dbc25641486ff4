"""A managed secret's `policy:`: how often it rotates, when its owners are told, when it
expires, and how long the previous value keeps working.

```yaml
policy: {interval: 90d, notify_before: 7d, expires: 2027-06-30, grace: 24h, auto_rotate: true}
```
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from leakstop.durations import parse_duration
from leakstop.yamlfile import Fields

POLICY_KEYS = ("interval", "notify_before", "expires", "grace", "auto_rotate")


class Unscheduled(str, enum.Enum):
    """A rotation interval that is not a length of time."""

    #: Rotated only when a leak is confirmed or a person asks.
    NEVER = "never"
    #: Rotated after each read, so every value is read once.
    ON_ACCESS = "on_access"


#: Interval keywords that stand for a length of time. A month is 30 days and a quarter 91
#: (13 weeks): fixed lengths, so the next rotation never depends on calendar arithmetic.
NAMED_INTERVALS: dict[str, timedelta] = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "quarterly": timedelta(days=91),
}
#: Every word `interval:` accepts besides a duration, in the order the docs list them.
INTERVAL_KEYWORDS = ("never", "hourly", "daily", "weekly", "monthly", "quarterly", "on_access")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class RotationPolicy:
    """When a managed secret rotates. Times are lengths (timedelta); `expires` is a day."""

    #: Time from one rotation to the next, or Unscheduled.NEVER / Unscheduled.ON_ACCESS.
    interval: timedelta | Unscheduled = Unscheduled.NEVER
    #: Tell the owners this long before a scheduled rotation or `expires`; None: no notice.
    notify_before: timedelta | None = None
    #: The last day the secret may be in use (the issuer's own end of life); None: none.
    expires: date | None = None
    #: How long the previous value keeps working after a rotation before it is revoked.
    grace: timedelta = timedelta(0)
    #: Rotate when due without waiting for a person to approve.
    auto_rotate: bool = False


def parse_policy(fields: Fields) -> RotationPolicy:
    """Validate `policy:`. Raises ConfigError (file:line) for unknown keys, bad durations or
    dates, and times that contradict each other (notice or grace not shorter than the interval)."""
    fields.check_keys(POLICY_KEYS)
    interval = _interval(fields)
    notify_before = None
    if fields.has("notify_before"):
        notify_before = fields.duration("notify_before", timedelta(0))
        if notify_before <= timedelta(0):
            fields.fail("'notify_before' must be longer than 0", fields.line_of("notify_before"))
    expires = _expires(fields)
    grace = fields.duration("grace", timedelta(0))
    if isinstance(interval, timedelta):
        for key, value in (("notify_before", notify_before), ("grace", grace)):
            if value is not None and value >= interval:
                fields.fail(f"{key!r} must be shorter than 'interval'", fields.line_of(key))
    elif notify_before is not None and expires is None:
        fields.fail(
            f"'notify_before' has nothing to give notice of: interval {interval.value!r} has "
            "no schedule and there is no 'expires' date",
            fields.line_of("notify_before"),
        )
    return RotationPolicy(
        interval=interval,
        notify_before=notify_before,
        expires=expires,
        grace=grace,
        auto_rotate=fields.boolean("auto_rotate", False),
    )


def _interval(fields: Fields) -> timedelta | Unscheduled:
    value = fields.raw("interval")
    if value is None:
        return Unscheduled.NEVER
    if isinstance(value, str):
        if value in NAMED_INTERVALS:
            return NAMED_INTERVALS[value]
        if value in (u.value for u in Unscheduled):
            return Unscheduled(value)
        try:
            length = parse_duration(value)
        except ValueError:
            pass
        else:
            if length > timedelta(0):
                return length
            fields.fail("'interval' must be longer than 0", fields.line_of("interval"))
    fields.fail(
        f"'interval' must be a duration such as 90d or 12h, or one of "
        f"{', '.join(INTERVAL_KEYWORDS)}; got {value!r}",
        fields.line_of("interval"),
    )


def _expires(fields: Fields) -> date | None:
    value = fields.raw("expires")
    line = fields.line_of("expires")
    if value is None:
        return None
    if isinstance(value, datetime):  # a subclass of date: check it first
        fields.fail("'expires' must be a day such as 2027-06-30, without a time", line)
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            fields.fail(f"'expires' is not a real date: {value!r}", line)
    fields.fail(f"'expires' must be a date such as 2027-06-30, got {value!r}", line)
