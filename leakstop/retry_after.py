"""`Retry-After` (RFC 9110 10.2.3), as every HTTP client in leakstop reads it: the verifiers,
the notifiers, the audit HTTP sink and the GitHub provider."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or an HTTP date; a date in the
    past is 0); None when there is none or it cannot be read."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": a UTC time from an unknown zone
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
