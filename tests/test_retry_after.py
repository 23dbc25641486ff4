"""Retry-After as leakstop's HTTP clients read it (RFC 9110 10.2.3)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from leakstop.retry_after import retry_after_seconds

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        (" 0 ", 0.0),
        ("7", 7.0),
        ("-1", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("1.5", None),
        ("Thu, 01 Jan 2026 12:00:10 GMT", 10.0),
        ("Thu, 01 Jan 2026 11:59:00 GMT", 0.0),  # a date in the past: at once
        ("Thu, 01 Jan 2026 12:00:10 -0000", 10.0),  # "-0000" parses without a zone
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def test_a_date_is_measured_from_now_by_default() -> None:
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 28 <= (retry_after_seconds(later) or 0) <= 30
