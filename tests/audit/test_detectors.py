"""Each detector on crafted logs: ones that fire it, ones that stay quiet, and the edges
(N-1 against N, the window boundary, the median rule, timezones, resets)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterable, Iterator
from datetime import datetime, time, timedelta, timezone

import pytest

from leakstop.audit.anomalies import detect
from leakstop.audit.anomaly import Anomaly, Kind
from leakstop.audit.detectors import MEDIAN_MIN_WINDOWS
from leakstop.audit.record import Action, Record, Source
from leakstop.config.audit import (
    AnomalySettings,
    ConcurrentAccess,
    ExcessiveAccess,
    FailedAttempts,
    RotationFailures,
    UnusualHours,
)
from tests.audit.logs import T0, numbered, record

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
SETTINGS = AnomalySettings(
    failed_attempts=FailedAttempts(count=3, window=HOUR),
    excessive_access=ExcessiveAccess(count=10, window=HOUR, factor=5),
    concurrent_access=ConcurrentAccess(actors=2, window=10 * MINUTE),
    rotation_failures=RotationFailures(in_a_row=3),
)


def found(
    records: Iterable[Record], kind: Kind, settings: AnomalySettings = SETTINGS
) -> list[Anomaly]:
    return [a for a in detect(numbered(records), settings) if a.kind is kind]


def failure(at: timedelta, secret: str = "db", actor: str = "alice") -> Record:
    return record(Action.SECRET_READ, secret, actor, at=at, success=False)


# failed_attempts


def test_failed_attempts_n_minus_one_is_quiet_n_fires() -> None:
    assert found([failure(n * MINUTE) for n in range(2)], Kind.FAILED_ATTEMPTS) == []
    (anomaly,) = found([failure(n * MINUTE) for n in range(3)], Kind.FAILED_ATTEMPTS)
    assert anomaly.secret == "db"
    assert anomaly.actor == "alice"
    assert anomaly.count == 3
    assert anomaly.seqs == (1, 2, 3)
    assert (anomaly.first, anomaly.last) == (T0, T0 + 2 * MINUTE)
    assert anomaly.description.startswith("3 failed actions on db ")


def test_failed_attempts_window_boundary() -> None:
    # Exactly one window apart: the first has left the window when the third arrives.
    apart = [failure(timedelta(0)), failure(30 * MINUTE), failure(HOUR)]
    assert found(apart, Kind.FAILED_ATTEMPTS) == []
    inside = [failure(timedelta(0)), failure(30 * MINUTE), failure(HOUR - timedelta(seconds=1))]
    assert len(found(inside, Kind.FAILED_ATTEMPTS)) == 1


def test_failed_attempts_one_anomaly_per_burst() -> None:
    burst = [failure(n * 5 * MINUTE) for n in range(10)]
    later = [failure(5 * HOUR + n * MINUTE) for n in range(4)]
    first, second = found(burst + later, Kind.FAILED_ATTEMPTS)
    assert first.count == 10
    assert first.seqs == tuple(range(1, 11))
    assert second.count == 4
    assert second.seqs == (11, 12, 13, 14)


def test_failed_attempts_by_one_actor_across_secrets() -> None:
    records = [failure(n * MINUTE, secret=f"s{n}") for n in range(3)]
    (anomaly,) = found(records, Kind.FAILED_ATTEMPTS)
    assert anomaly.secret == ""
    assert anomaly.actor == "alice"
    assert anomaly.secrets == ("s0", "s1", "s2")
    assert anomaly.description.startswith("3 failed actions by alice ")


def test_failed_attempts_on_one_secret_by_several_actors() -> None:
    records = [failure(n * MINUTE, actor=f"a{n}") for n in range(3)]
    (anomaly,) = found(records, Kind.FAILED_ATTEMPTS)
    assert anomaly.secret == "db"
    assert anomaly.actor is None
    assert anomaly.actors == ("a0", "a1", "a2")


def test_failed_attempts_count_denied_access_and_not_successes() -> None:
    denied = [
        record(Action.ACCESS_DENIED, "db", "mallory", at=n * MINUTE, success=True) for n in range(3)
    ]
    assert len(found(denied, Kind.FAILED_ATTEMPTS)) == 1
    reads = [record(Action.SECRET_READ, "db", at=n * MINUTE) for n in range(5)]
    assert found(reads, Kind.FAILED_ATTEMPTS) == []


@pytest.mark.parametrize(
    "action",
    [
        Action.ANOMALY,
        Action.LOG_REPAIRED,
        Action.LOG_ARCHIVED,
        Action.LOG_PRUNED,
        Action.SINK_FAILED,
        Action.NOTIFICATION_SENT,
        Action.NOTIFICATION_FAILED,
    ],
)
def test_anomaly_and_upkeep_records_trigger_nothing(action: Action) -> None:
    # Every detector's condition, five times over, in records no detector may look at.
    records = [
        record(action, "db", f"actor{n}", at=n * MINUTE, success=False, actor_ip=f"10.0.0.{n}")
        for n in range(12)
    ]
    loud = AnomalySettings(
        failed_attempts=FailedAttempts(count=1),
        excessive_access=ExcessiveAccess(count=1),
        unusual_hours=UnusualHours(time(0), time(0, 1)),
        concurrent_access=ConcurrentAccess(actors=1),
        rotation_failures=RotationFailures(in_a_row=1),
    )
    assert list(detect(numbered(records), loud)) == []
    # The same records as reads do fire: the settings are loud enough.
    as_reads = [r.__class__(**{**r.__dict__, "action": Action.SECRET_READ}) for r in records]
    assert {a.kind for a in detect(numbered(as_reads), loud)} == set(Kind) - {
        Kind.ROTATION_FAILURES
    }


# excessive_access


def read(at: timedelta, secret: str = "billing", actor: str = "app") -> Record:
    return record(Action.SECRET_READ, secret, actor, at=at)


def test_excessive_access_above_the_count() -> None:
    # count 10: "more than 10 reads".
    assert found([read(n * MINUTE) for n in range(10)], Kind.EXCESSIVE_ACCESS) == []
    (anomaly,) = found([read(n * MINUTE) for n in range(11)], Kind.EXCESSIVE_ACCESS)
    assert anomaly.count == 11
    assert anomaly.secret == "billing"
    assert "up to 11 within 1h" in anomaly.description


def test_excessive_access_window_boundary() -> None:
    spread = [read(n * 6 * MINUTE) for n in range(11)]  # the 11th exactly one hour after the 1st
    assert found(spread, Kind.EXCESSIVE_ACCESS) == []
    squeezed = [*spread[:-1], read(HOUR - timedelta(seconds=1))]
    assert len(found(squeezed, Kind.EXCESSIVE_ACCESS)) == 1


def test_excessive_access_one_anomaly_per_burst() -> None:
    records = [read(n * MINUTE) for n in range(30)]
    (anomaly,) = found(records, Kind.EXCESSIVE_ACCESS)
    # It opens at the 11th read with the whole window, and takes in every read after.
    assert anomaly.count == 30
    assert anomaly.seqs == tuple(range(1, 31))


def _hours(reads_per_hour: int, hours: int, secret: str, start: timedelta) -> list[Record]:
    step = HOUR / reads_per_hour
    return [
        read(start + h * HOUR + n * step, secret)
        for h in range(hours)
        for n in range(reads_per_hour)
    ]


def test_excessive_access_median_always_busy_stays_quiet() -> None:
    # 9 reads an hour, around the clock: never above the count (10) nor 5× its median.
    settings = AnomalySettings(excessive_access=ExcessiveAccess(count=1000, window=HOUR, factor=5))
    busy = _hours(9, 48, "busy", timedelta(0))
    assert found(busy, Kind.EXCESSIVE_ACCESS, settings) == []


def test_excessive_access_median_sudden_burst_fires_below_the_count() -> None:
    settings = AnomalySettings(excessive_access=ExcessiveAccess(count=1000, window=HOUR, factor=5))
    quiet = _hours(2, 10, "quiet", timedelta(0))
    burst = _hours(11, 1, "quiet", 10 * HOUR)  # 11 > 5 × median 2, far below 1000
    (anomaly,) = found(quiet + burst, Kind.EXCESSIVE_ACCESS, settings)
    assert anomaly.secret == "quiet"
    assert anomaly.first >= T0 + 10 * HOUR
    assert "usually 2, ×5" in anomaly.description
    # Exactly 5× the median is not above it.
    at_limit = _hours(10, 1, "quiet", 10 * HOUR)
    assert found(quiet + at_limit, Kind.EXCESSIVE_ACCESS, settings) == []


def test_excessive_access_median_needs_history() -> None:
    settings = AnomalySettings(excessive_access=ExcessiveAccess(count=1000, window=HOUR, factor=5))
    short = _hours(2, MEDIAN_MIN_WINDOWS - 1, "new", timedelta(0))
    burst = _hours(30, 1, "new", (MEDIAN_MIN_WINDOWS - 1) * HOUR)
    assert found(short + burst, Kind.EXCESSIVE_ACCESS, settings) == []
    enough = _hours(2, MEDIAN_MIN_WINDOWS, "new", timedelta(0))
    later = _hours(30, 1, "new", MEDIAN_MIN_WINDOWS * HOUR)
    assert len(found(enough + later, Kind.EXCESSIVE_ACCESS, settings)) == 1


def test_excessive_access_counts_only_reads_per_secret() -> None:
    updates = [record(Action.SECRET_UPDATED, "billing", at=n * MINUTE) for n in range(20)]
    assert found(updates, Kind.EXCESSIVE_ACCESS) == []
    spread = [read(n * MINUTE, secret=f"s{n % 2}") for n in range(20)]  # 10 each
    assert found(spread, Kind.EXCESSIVE_ACCESS) == []


# unusual_hours


def at_utc(hour: int, minute: int = 0, day: int = 4) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=timezone.utc)


def hours_settings(start: str, end: str, zone: str = "UTC") -> AnomalySettings:
    return AnomalySettings(
        unusual_hours=UnusualHours(time.fromisoformat(start), time.fromisoformat(end), zone)
    )


@pytest.mark.parametrize(
    ("moment", "unusual"),
    [
        (at_utc(6, 59), True),
        (at_utc(7, 0), False),  # start is inside the allowed hours
        (at_utc(12), False),
        (at_utc(19, 59), False),
        (at_utc(20, 0), True),  # end is not
        (at_utc(23, 30), True),
    ],
)
def test_unusual_hours_edges(moment: datetime, unusual: bool) -> None:
    records = [record(at=moment)]
    assert bool(found(records, Kind.UNUSUAL_HOURS, hours_settings("07:00", "20:00"))) is unusual


@pytest.mark.parametrize(
    ("moment", "unusual"),
    [
        # Berlin is UTC+1 in early March.
        (at_utc(20, 59), True),  # 21:59
        (at_utc(21, 0), False),  # 22:00, the allowed night begins
        (at_utc(23, 30), False),  # 00:30 the next local day
        (at_utc(4, 59, day=5), False),  # 05:59
        (at_utc(5, 0, day=5), True),  # 06:00, the night is over
        (at_utc(11, 0, day=5), True),
    ],
)
def test_unusual_hours_wrapping_midnight_in_a_timezone(moment: datetime, unusual: bool) -> None:
    settings = hours_settings("22:00", "06:00", "Europe/Berlin")
    assert bool(found([record(at=moment)], Kind.UNUSUAL_HOURS, settings)) is unusual


def test_unusual_hours_one_anomaly_per_actor_per_night_across_midnight() -> None:
    # New York (UTC-5): 21:00, 23:00 on March 4 and 01:00 on March 5 are one night.
    settings = hours_settings("07:00", "20:00", "America/New_York")
    night = [
        record(secret="a", at=at_utc(2, day=5)),
        record(secret="b", at=at_utc(4, day=5)),
        record(secret="a", at=at_utc(6, day=5)),
        record(secret="a", actor="bob", at=at_utc(6, 30, day=5)),
        record(secret="a", at=at_utc(15, day=5)),  # 10:00: allowed, ends the night
        record(secret="a", at=at_utc(3, day=6)),  # the next night
    ]
    alice, bob, next_night = found(night, Kind.UNUSUAL_HOURS, settings)
    assert (alice.actor, alice.count, alice.seqs, alice.secret) == ("alice", 3, (1, 2, 3), "")
    assert alice.secrets == ("a", "b")
    assert "2024-03-04 21:00–2024-03-05 01:00 America/New_York" in alice.description
    assert (bob.actor, bob.count, bob.secret) == ("bob", 1, "a")
    assert (next_night.actor, next_night.seqs) == ("alice", (6,))


def test_unusual_hours_leaves_out_scheduled_runs_and_is_off_unless_configured() -> None:
    settings = hours_settings("07:00", "20:00")
    scheduled = [record(at=at_utc(3), source=Source.SCHEDULE)]
    assert found(scheduled, Kind.UNUSUAL_HOURS, settings) == []
    assert found([record(at=at_utc(3))], Kind.UNUSUAL_HOURS, AnomalySettings()) == []
    # start == end: the whole day is allowed.
    assert found([record(at=at_utc(3))], Kind.UNUSUAL_HOURS, hours_settings("08:00", "08:00")) == []


# concurrent_access


def by(
    actor: str, at: timedelta, ip: str | None = None, action: Action = Action.SECRET_READ
) -> Record:
    return record(action, "billing", actor, at=at, actor_ip=ip)


def test_concurrent_access_more_than_n_actors() -> None:
    two = [by("a", timedelta(0)), by("b", MINUTE), by("a", 2 * MINUTE)]
    assert found(two, Kind.CONCURRENT_ACCESS) == []
    three = [*two, by("c", 3 * MINUTE), by("b", 4 * MINUTE)]
    (anomaly,) = found(three, Kind.CONCURRENT_ACCESS)
    assert anomaly.actors == ("a", "b", "c")
    assert anomaly.actor is None
    assert anomaly.count == 5
    assert anomaly.description.startswith("3 actors or sources on billing within 10m")


def test_concurrent_access_window_boundary() -> None:
    apart = [by("a", timedelta(0)), by("b", 5 * MINUTE), by("c", 10 * MINUTE)]
    assert found(apart, Kind.CONCURRENT_ACCESS) == []
    inside = [
        by("a", timedelta(0)),
        by("b", 5 * MINUTE),
        by("c", 10 * MINUTE - timedelta(seconds=1)),
    ]
    assert len(found(inside, Kind.CONCURRENT_ACCESS)) == 1


def test_concurrent_access_one_actor_from_many_sources_not_ips() -> None:
    sources = [Source.CLI, Source.API, Source.ACTION]
    records = [
        record(Action.SECRET_READ, "billing", "app", at=n * MINUTE, source=source)
        for n, source in enumerate(sources)
    ]
    (anomaly,) = found(records, Kind.CONCURRENT_ACCESS)
    assert anomaly.actor == "app"
    # One service from many pods is one actor from one source.
    pods = [by("app", n * MINUTE, ip=f"198.51.100.{n}") for n in range(10)]
    assert found(pods, Kind.CONCURRENT_ACCESS) == []


def test_concurrent_access_counts_access_only() -> None:
    steps = [by(f"a{n}", n * MINUTE, action=Action.APPROVED) for n in range(5)]
    assert found(steps, Kind.CONCURRENT_ACCESS) == []
    denied = [by(f"a{n}", n * MINUTE, action=Action.ACCESS_DENIED) for n in range(3)]
    assert len(found(denied, Kind.CONCURRENT_ACCESS)) == 1


# rotation_failures


def rotation(ok: bool, at: timedelta, secret: str = "db") -> Record:
    if ok:
        return record(Action.ROTATION_COMPLETED, secret, "ci", at=at)
    return record(Action.ROTATION_FAILED, secret, "ci", at=at, success=False)


def test_rotation_failures_in_a_row() -> None:
    assert found([rotation(False, n * HOUR) for n in range(2)], Kind.ROTATION_FAILURES) == []
    (anomaly,) = found([rotation(False, n * HOUR) for n in range(3)], Kind.ROTATION_FAILURES)
    assert anomaly.count == 3
    assert anomaly.description.startswith("3 failed rotations of db in a row")


def test_rotation_failures_a_success_between_resets_the_count() -> None:
    pattern = [False, False, True, False, False]
    records = [rotation(ok, n * HOUR) for n, ok in enumerate(pattern)]
    assert found(records, Kind.ROTATION_FAILURES) == []


def test_rotation_failures_a_failed_completion_does_not_reset() -> None:
    records = [
        rotation(False, timedelta(0)),
        rotation(False, HOUR),
        record(Action.ROTATION_COMPLETED, "db", at=2 * HOUR, success=False),
        rotation(False, 3 * HOUR),
    ]
    assert len(found(records, Kind.ROTATION_FAILURES)) == 1


def test_rotation_failures_one_anomaly_per_run_and_per_secret() -> None:
    pattern = [False] * 5 + [True] + [False] * 3
    records = [rotation(ok, n * HOUR) for n, ok in enumerate(pattern)]
    records += [rotation(False, 20 * HOUR + n * HOUR, secret=f"other{n}") for n in range(3)]
    first, second = found(records, Kind.ROTATION_FAILURES)
    assert (first.count, first.seqs) == (5, (1, 2, 3, 4, 5))
    assert (second.count, second.seqs) == (3, (7, 8, 9))


# memory


def test_memory_is_bounded_by_window_contents() -> None:
    count = 10_000

    def steady() -> Iterator[Record]:
        # A read a minute for a week, by a handful of actors: nothing to report.
        for n in range(count):
            yield record(Action.SECRET_READ, f"s{n % 3}", f"a{n % 2}", at=n * MINUTE, seq=n)

    settings = AnomalySettings(excessive_access=ExcessiveAccess(count=100, window=HOUR))
    tracemalloc.start()
    try:
        anomalies = list(detect(steady(), settings))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert anomalies == []
    # Three windows of ~20 events and a week of hourly counts each; the records were ~5 MB.
    assert peak < 300_000, peak
