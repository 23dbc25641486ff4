"""Durations as people write them in config and on the command line: `30s`, `10m`, `24h`,
`7d`, `2w` (and combinations such as `1d12h`)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$", re.IGNORECASE)
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """`7d` → 7 days. Raises ValueError for anything else (a bare number has no unit)."""
    if not _WHOLE.match(text):
        raise ValueError(f"{text!r} is not a duration such as 30s, 10m, 24h, 7d or 2w")
    seconds = sum(float(n) * _UNIT[u.lower()] for n, u in _PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact form: 90 days → `90d`, 36 hours → `1d12h`."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
