"""The five anomaly detectors (see `anomalies.py` for what each looks for). Each keeps, per
key, only what its window holds, and hands back anomalies as their bursts end."""

from __future__ import annotations

import statistics
import zoneinfo
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from leakstop.audit.anomaly import EPOCH, Anomaly, Burst, Event, Kind, span
from leakstop.audit.record import Action, Record, Source
from leakstop.config.audit import (
    AnomalySettings,
    ConcurrentAccess,
    ExcessiveAccess,
    FailedAttempts,
    RotationFailures,
    UnusualHours,
)
from leakstop.durations import format_duration

#: What concurrent_access counts as access to a secret.
ACCESS = frozenset({Action.SECRET_READ, Action.SECRET_UPDATED, Action.ACCESS_DENIED})
#: Past windows (with reads) the excessive_access median is taken over: with the default
#: one-hour window, about a week of active hours.
MEDIAN_WINDOWS = 168
#: Windows with reads needed before the median rule applies: a median of one or two
#: windows says little about what is usual.
MEDIAN_MIN_WINDOWS = 3


class Detector(Protocol):
    def feed(self, record: Record, event: Event) -> Sequence[Anomaly]:
        """Anomalies whose bursts this record ends."""

    def finish(self) -> Iterable[Anomaly]:
        """Anomalies whose bursts are still open when the records end."""


def build_detectors(settings: AnomalySettings) -> list[Detector]:
    """One detector per configured check (unusual_hours only when it is configured)."""
    detectors: list[Detector] = [
        FailedAttemptsDetector(settings.failed_attempts),
        ExcessiveAccessDetector(settings.excessive_access),
        ConcurrentAccessDetector(settings.concurrent_access),
        RotationFailuresDetector(settings.rotation_failures),
    ]
    if settings.unusual_hours is not None:
        detectors.append(UnusualHoursDetector(settings.unusual_hours))
    return detectors


class FailedAttemptsDetector:
    def __init__(self, settings: FailedAttempts) -> None:
        self.settings = settings
        self.windows: dict[tuple[str, str], deque[Event]] = {}
        self.bursts: dict[tuple[str, str], Burst] = {}

    def feed(self, record: Record, event: Event) -> Sequence[Anomaly]:
        if record.success and record.action is not Action.ACCESS_DENIED:
            return ()
        ended: list[Anomaly] = []
        for key in (("secret", event.secret), ("actor", event.actor)):
            window = self.windows.setdefault(key, deque())
            _slide(window, event.time - self.settings.window)
            window.append(event)
            burst = self.bursts.get(key)
            if len(window) >= self.settings.count:
                if burst is None:
                    self.bursts[key] = Burst(window)
                else:
                    burst.add(event)
            elif burst is not None:
                del self.bursts[key]
                ended.extend(self._anomaly(key, burst))
        return ended

    def finish(self) -> Iterable[Anomaly]:
        for key, burst in self.bursts.items():
            yield from self._anomaly(key, burst)
        self.bursts.clear()

    def _anomaly(self, key: tuple[str, str], burst: Burst) -> Iterable[Anomaly]:
        by, name = key
        if by == "actor" and not burst.several_secrets:
            return ()  # the secret's own burst holds every one of these records
        target = f"on {name or 'the log'}" if by == "secret" else f"by {name}"
        return (
            burst.anomaly(
                Kind.FAILED_ATTEMPTS,
                f"{burst.count} failed actions {target} {span(burst)} (at least "
                f"{self.settings.count} within {format_duration(self.settings.window)})",
            ),
        )


class ExcessiveAccessDetector:
    class _State:
        def __init__(self) -> None:
            self.window: deque[Event] = deque()
            self.history: deque[int] = deque(maxlen=MEDIAN_WINDOWS)
            self.median: float | None = None
            self.bucket = -1
            self.in_bucket = 0
            self.burst: Burst | None = None

    def __init__(self, settings: ExcessiveAccess) -> None:
        self.settings = settings
        self.states: dict[str, ExcessiveAccessDetector._State] = {}

    def feed(self, record: Record, event: Event) -> Sequence[Anomaly]:
        if record.action is not Action.SECRET_READ:
            return ()
        state = self.states.get(event.secret)
        if state is None:
            state = self.states[event.secret] = self._State()
        bucket = (event.time - EPOCH) // self.settings.window
        if bucket != state.bucket:
            if state.in_bucket:
                state.history.append(state.in_bucket)
                if len(state.history) >= MEDIAN_MIN_WINDOWS:
                    state.median = statistics.median(state.history)
            state.bucket, state.in_bucket = bucket, 0
        state.in_bucket += 1
        _slide(state.window, event.time - self.settings.window)
        state.window.append(event)
        reads = len(state.window)
        if reads > self._limit(state):
            if state.burst is None:
                state.burst = Burst(state.window)
            else:
                state.burst.add(event)
            state.burst.peak = max(state.burst.peak, reads)
            return ()
        if state.burst is not None:
            burst, state.burst = state.burst, None
            return (self._anomaly(event.secret, state, burst),)
        return ()

    def finish(self) -> Iterable[Anomaly]:
        for secret, state in self.states.items():
            if state.burst is not None:
                yield self._anomaly(secret, state, state.burst)
                state.burst = None

    def _limit(self, state: ExcessiveAccessDetector._State) -> float:
        if state.median is None:
            return self.settings.count
        return min(self.settings.count, self.settings.factor * state.median)

    def _anomaly(self, secret: str, state: ExcessiveAccessDetector._State, burst: Burst) -> Anomaly:
        window = format_duration(self.settings.window)
        usual = f"limit {self.settings.count}"
        if state.median is not None:
            usual += f"; usually {state.median:g}, ×{self.settings.factor:g}"
        return burst.anomaly(
            Kind.EXCESSIVE_ACCESS,
            f"{burst.count} reads of {secret} {span(burst)}, up to {burst.peak} "
            f"within {window} ({usual})",
        )


class ConcurrentAccessDetector:
    class _State:
        def __init__(self) -> None:
            self.window: deque[Event] = deque()
            # Plain dicts, not Counters: Counter's __delitem__ is Python code, and this loop
            # ran at half the speed with them (profiled on 50,000 records).
            self.actors: dict[str, int] = {}
            self.sources: dict[str, int] = {}
            self.burst: Burst | None = None

    def __init__(self, settings: ConcurrentAccess) -> None:
        self.settings = settings
        self.states: dict[str, ConcurrentAccessDetector._State] = {}

    def feed(self, record: Record, event: Event) -> Sequence[Anomaly]:
        if record.action not in ACCESS:
            return ()
        state = self.states.get(event.secret)
        if state is None:
            state = self.states[event.secret] = self._State()
        cutoff = event.time - self.settings.window
        actors, sources = state.actors, state.sources
        while state.window and state.window[0].time <= cutoff:
            gone = state.window.popleft()
            _forget(actors, gone.actor)
            _forget(sources, gone.source)
        state.window.append(event)
        actors[event.actor] = actors.get(event.actor, 0) + 1
        sources[event.source] = sources.get(event.source, 0) + 1
        limit = self.settings.actors
        if len(actors) > limit or len(sources) > limit:
            if state.burst is None:
                state.burst = Burst(state.window)
            else:
                state.burst.add(event)
            state.burst.peak = max(state.burst.peak, len(actors), len(sources))
            return ()
        if state.burst is not None:
            burst, state.burst = state.burst, None
            return (self._anomaly(event.secret, burst),)
        return ()

    def finish(self) -> Iterable[Anomaly]:
        for secret, state in self.states.items():
            if state.burst is not None:
                yield self._anomaly(secret, state.burst)
                state.burst = None

    def _anomaly(self, secret: str, burst: Burst) -> Anomaly:
        names = ", ".join(sorted(burst.actors)[:5]) + (", …" if len(burst.actors) > 5 else "")
        return burst.anomaly(
            Kind.CONCURRENT_ACCESS,
            f"{burst.peak} actors or sources on {secret} within "
            f"{format_duration(self.settings.window)} {span(burst)} ({names}; more than "
            f"{self.settings.actors} allowed)",
        )


class RotationFailuresDetector:
    def __init__(self, settings: RotationFailures) -> None:
        self.settings = settings
        self.runs: dict[str, Burst] = {}

    def feed(self, record: Record, event: Event) -> Sequence[Anomaly]:
        if record.action is Action.ROTATION_FAILED:
            run = self.runs.get(event.secret)
            if run is None:
                self.runs[event.secret] = Burst((event,))
            else:
                run.add(event)
        elif record.action is Action.ROTATION_COMPLETED and record.success:
            run = self.runs.pop(event.secret, None)
            if run is not None and run.count >= self.settings.in_a_row:
                return (self._anomaly(event.secret, run),)
        return ()

    def finish(self) -> Iterable[Anomaly]:
        for secret, run in self.runs.items():
            if run.count >= self.settings.in_a_row:
                yield self._anomaly(secret, run)
        self.runs.clear()

    def _anomaly(self, secret: str, run: Burst) -> Anomaly:
        return run.anomaly(
            Kind.ROTATION_FAILURES,
            f"{run.count} failed rotations of {secret} in a row {span(run)}",
        )


class UnusualHoursDetector:
    def __init__(self, settings: UnusualHours) -> None:
        self.settings = settings
        self.zone = zoneinfo.ZoneInfo(settings.timezone)
        #: The off-hours stretch the open bursts belong to (the local day it began).
        self.stretch: date | None = None
        self.bursts: dict[str, Burst] = {}

    def feed(self, record: Record, event: Event) -> Sequence[Anomaly]:
        if record.source is Source.SCHEDULE:
            return ()
        local = event.time.astimezone(self.zone)
        stretch = self._stretch(local)
        ended: list[Anomaly] = []
        if stretch != self.stretch:
            ended.extend(self.finish())
            self.stretch = stretch
        if stretch is not None:
            burst = self.bursts.get(event.actor)
            if burst is None:
                self.bursts[event.actor] = Burst((event,))
            else:
                burst.add(event)
        return ended

    def finish(self) -> Iterable[Anomaly]:
        ended = [self._anomaly(actor, burst) for actor, burst in self.bursts.items()]
        self.bursts.clear()
        return ended

    def _stretch(self, local: datetime) -> date | None:
        """None within the allowed hours; else the local day the off-hours stretch began."""
        start, end, now = self.settings.start, self.settings.end, local.time()
        if start == end or (start <= now < end if start < end else now >= start or now < end):
            return None
        return local.date() if now >= end else local.date() - timedelta(days=1)

    def _anomaly(self, actor: str, burst: Burst) -> Anomaly:
        assert burst.first is not None
        first, last = (_local(t, self.zone) for t in (burst.first, burst.last))
        target = next(iter(burst.secrets)) if not burst.several_secrets else "several secrets"
        allowed = f"{_clock(self.settings.start)}–{_clock(self.settings.end)}"
        return burst.anomaly(
            Kind.UNUSUAL_HOURS,
            f"{burst.count} actions by {actor} on {target or 'the log'} at {first}–{last} "
            f"{self.settings.timezone}, outside {allowed}",
        )


def _slide(window: deque[Event], cutoff: datetime) -> None:
    """Drop what is no longer in the window (t - window, t]."""
    while window and window[0].time <= cutoff:
        window.popleft()


def _forget(counts: dict[Any, int], key: Any) -> None:
    left = counts[key] - 1
    if left:
        counts[key] = left
    else:
        del counts[key]


def _local(moment: datetime, zone: zoneinfo.ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")
