"""Which records of the audit log match a query: streamed from the day files the time range
needs, one line at a time, so memory stays flat however many days are read.

Most lines of a large log cannot match a narrow query, and parsing JSON is the expensive part
of reading one. Before parsing, a line is checked for byte fragments that every matching
record's line contains: the log writes each record as canonical JSON (`record.canonical`:
sorted keys, no spaces, UTF-8 unescaped), so a record of secret `s` has the fragment
`"secret":` + `json.dumps(s)` in its line, one with action `a` starts with `{"action":"a"`,
and a failure contains `"success":false`. A fragment can also occur inside `details`, so
every line that passes is parsed and the record is checked in full (`Query.matches`). Lines
that do not start like canonical JSON skip the fragment checks and are always parsed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from leakstop.audit.files import DayFile, day_files, line_blocks
from leakstop.audit.record import Action, Record, decode, from_json
from leakstop.durations import parse_duration
from leakstop.errors import AuditIntegrityError, SourceError

logger = logging.getLogger(__name__)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: How every canonical line starts: `action` is the first key in sorted order.
_CANONICAL_START = b'{"action":"'
_CANONICAL_LINE = b"\n" + _CANONICAL_START


@dataclass(frozen=True)
class Query:
    """What to select. Empty sets select everything; the conditions are ANDed, the values
    inside one set ORed. Times are timezone-aware; both bounds are inclusive."""

    since: datetime | None = None
    until: datetime | None = None
    #: Managed secret names or finding fingerprints (a record's `secret`).
    secrets: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()
    actions: frozenset[Action] = frozenset()
    #: Only records with `success` false.
    failed_only: bool = False
    orgs: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"{name} must carry a timezone (got {moment.isoformat()})")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError(
                f"--since ({_show(self.since)}) is after --until ({_show(self.until)})"
            )

    def matches(self, record: Record) -> bool:
        """Whether `record` is selected (the exact check, after any byte prefilter)."""
        if self.failed_only and record.success:
            return False
        if self.actions and record.action not in self.actions:
            return False
        if self.secrets and record.secret not in self.secrets:
            return False
        if self.actors and record.actor not in self.actors:
            return False
        if self.orgs and record.org not in self.orgs:
            return False
        if self.since is not None or self.until is not None:
            moment = record.time
            if self.since is not None and moment < self.since:
                return False
            if self.until is not None and moment > self.until:
                return False
        return True


def parse_when(text: str, now: datetime, *, end_of_day: bool = False) -> datetime:
    """A point in time from the command line, in UTC.

    Accepts an ISO date (`2024-03-05`: midnight UTC, or with `end_of_day` the day's last
    microsecond, for an inclusive `--until`), an ISO date and time (`2024-03-05T14:30`, UTC
    unless it carries an offset) or a duration meaning that long before `now` (`7d`, `12h`,
    `1d12h`). Raises ValueError naming the accepted forms.
    """
    text = text.strip()
    if now.utcoffset() is None:
        now = now.replace(tzinfo=timezone.utc)
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid date") from None
        moment = datetime.combine(day, time(0), timezone.utc)
        return moment + timedelta(days=1, microseconds=-1) if end_of_day else moment
    try:
        return now.astimezone(timezone.utc) - parse_duration(text)
    except ValueError:
        pass
    try:
        # Python 3.10's fromisoformat does not take a trailing Z.
        moment = datetime.fromisoformat(re.sub(r"[zZ]$", "+00:00", text))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (2024-03-05), a date and time (2024-03-05T14:30, UTC "
            "unless it has an offset) or a time ago (7d, 12h)"
        ) from None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class Selection(Iterator[Record]):
    """The records a query selects, oldest first, read lazily: iterate once.

    `unreadable` counts the lines read so far that are not audit records (a torn write, an
    edit); queries skip them and `verify` reports where they are. Lines the prefilter ruled
    out are never parsed, so they are not counted.
    """

    def __init__(self, folder: Path, query: Query) -> None:
        self.folder = folder
        self.query = query
        self.unreadable = 0
        self._records = self._read()

    def __next__(self) -> Record:
        return next(self._records)

    def _read(self) -> Iterator[Record]:
        query = self.query
        since = query.since.astimezone(timezone.utc).date() if query.since else None
        until = query.until.astimezone(timezone.utc).date() if query.until else None
        may_match = prefilter(query)
        needles = _needles(query)
        for day_file in day_files(self.folder, since, until):
            number = 0
            for block in _blocks(day_file):
                if needles is not None:
                    skipped = _skippable(block, needles)
                    if skipped:
                        number += skipped
                        continue
                lines = block.split(b"\n")
                if block.endswith(b"\n"):
                    lines.pop()  # what follows the last newline: nothing
                for data in lines:
                    number += 1
                    if (
                        may_match is not None
                        and data.startswith(_CANONICAL_START)
                        and not may_match(data)
                    ):
                        continue
                    try:
                        # From str: json.loads on bytes first guesses their encoding (~8%
                        # of a full scan, profiled on 50,000 records); the log is UTF-8.
                        record = from_json(decode(data.decode("utf-8")))
                    except (ValueError, AuditIntegrityError):
                        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
                        self.unreadable += 1
                        logger.debug("%s:%d: not an audit record", day_file.path, number)
                        continue
                    # Checked in full even on days inside the range: a copied or hand-made
                    # file need not hold only its own day, and the check costs ~1/40 of
                    # reading the record.
                    if query.matches(record):
                        yield record


def select(folder: Path, query: Query) -> Selection:
    """The records in `folder`'s day files that `query` selects, oldest first, streamed."""
    return Selection(folder, query)


def prefilter(query: Query) -> Callable[[bytes], bool] | None:
    """A cheap test on a canonical line's bytes that every line of a selected record passes,
    or None when the query has no condition the bytes can show."""
    checks: list[Callable[[bytes], bool]] = []
    if query.actions:
        starts = tuple(_CANONICAL_START + a.value.encode() + b'"' for a in query.actions)
        checks.append(lambda data: data.startswith(starts))
    if query.failed_only:
        checks.append(lambda data: b'"success":false' in data)
    for key, values in (("secret", query.secrets), ("actor", query.actors), ("org", query.orgs)):
        fragments = _fragments(key, values)
        if fragments is not None:
            checks.append(_contains_any(fragments))
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda data: all(check(data) for check in checks)


def _fragments(key: str, values: frozenset[str]) -> tuple[bytes, ...] | None:
    """`"key":"value"` as canonical JSON writes it, for each value; None when there is no
    condition, or when a value cannot be written to the log at all (a lone surrogate from a
    mis-encoded argument): then the parsed check alone decides."""
    if not values:
        return None
    try:
        return tuple(
            # The same call canonical() makes, so escapes (quotes, backslashes, control
            # characters; non-ASCII kept as UTF-8) come out byte for byte as on disk.
            f'"{key}":{json.dumps(value, ensure_ascii=False)}'.encode()
            for value in sorted(values)
        )
    except UnicodeEncodeError:
        return None


def _needles(query: Query) -> tuple[bytes, ...] | None:
    """Fragments one of which every selected record's canonical line contains, taken from
    one condition (the most selective there is), to rule out a whole block at once."""
    for key, values in (("secret", query.secrets), ("actor", query.actors)):
        fragments = _fragments(key, values)
        if fragments is not None:
            return fragments
    if query.actions:
        return tuple(_CANONICAL_START + a.value.encode() + b'"' for a in sorted(query.actions))
    fragments = _fragments("org", query.orgs)
    if fragments is not None:
        return fragments
    return (b'"success":false',) if query.failed_only else None


def _skippable(block: bytes, needles: tuple[bytes, ...]) -> int:
    """How many lines `block` has when none of them can be selected (none holds a needle,
    and every line starts like canonical JSON: a line that does not is always parsed); else 0.

    Two or three passes in C over the block instead of a Python loop over its lines: a
    one-secret query over a million records took half the time (benchmarks/audit)."""
    if not block.endswith(b"\n") or any(needle in block for needle in needles):
        return 0
    count = block.count(b"\n")
    canonical = block.count(_CANONICAL_LINE) + block.startswith(_CANONICAL_START)
    return count if canonical == count else 0


def _blocks(day_file: DayFile) -> Iterator[bytes]:
    """The file's blocks of lines; a file that cannot be read (permissions, a truncated or
    corrupt archive) stops the query with a message naming it, rather than answering
    without it."""
    try:
        yield from line_blocks(day_file)
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise SourceError(
            f"cannot read audit file {day_file.path}: {reason} "
            "(leakstop audit verify shows what is damaged)"
        ) from None


def _contains_any(fragments: tuple[bytes, ...]) -> Callable[[bytes], bool]:
    if len(fragments) == 1:
        (fragment,) = fragments
        return lambda data: fragment in data
    return lambda data: any(fragment in data for fragment in fragments)


def _show(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
