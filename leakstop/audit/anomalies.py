"""Anomalies in the audit trail, found in one pass over records in log (time) order.

Five detectors, each configured by `AnomalySettings` (`audit.anomalies` in the config):

* failed_attempts: at least `count` failures on one secret, or by one actor, within `window`.
  A failure is a record with `success` false, or any `access_denied` record. An actor's burst
  whose failures all concern one secret is left out: that secret's own burst holds them all.
* excessive_access: `secret_read` records of one secret within `window` above `count`, or
  above `factor` times the secret's median reads per window. The median is over the last
  `detectors.MEDIAN_WINDOWS` windows (fixed, aligned to the epoch) in which it was read at
  all, and applies once `detectors.MEDIAN_MIN_WINDOWS` such windows are known: a secret read
  steadily all day stays quiet, one suddenly read far more than usual fires below `count`.
* unusual_hours: actions outside `start`–`end` local time in `timezone` (`start` inclusive,
  `end` exclusive; `start` after `end` wraps midnight, `22:00`–`06:00` allows the night;
  `start` equal to `end` allows the whole day). One anomaly per actor per off-hours stretch.
  Records from `source: schedule` are left out: a scheduled run's hour is chosen by config.
* concurrent_access: more than `actors` distinct actors, or distinct sources (cli, action,
  schedule, api), reading, updating or being denied one secret within `window`. Actor IPs
  are not counted: one service reads from many pods.
* rotation_failures: `in_a_row` `rotation_failed` records for one secret with no successful
  `rotation_completed` between them; the run (and its anomaly) ends at the next success.

Windows slide: at a record's time t a window holds the records in (t - window, t], so two
records exactly `window` apart are not in one window. Each detector keeps, per key, a deque
of the records in the current window, so memory is bounded by window contents.

One anomaly per burst: a burst opens at the first record at which the condition holds, takes
in every further record at which it still holds, and ends at the key's first record at which
it no longer does (that record is not part of it), or when the records end. Anomalies come
out as their bursts end; sort by `first` for a timeline.

`anomaly` records, the log's own upkeep (`log_repaired`, `log_archived`, `log_pruned`,
`sink_failed`) and notifications (`notification_sent`, `notification_failed`) are never looked
at, so recording an anomaly, or telling someone about it, cannot raise another; and a chat
webhook that is down is not a failed attempt at a secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import timezone
from typing import TextIO

from leakstop.audit.anomaly import Anomaly, Event
from leakstop.audit.detectors import build_detectors
from leakstop.audit.output import fit
from leakstop.audit.record import Action, Record
from leakstop.config.audit import AnomalySettings
from leakstop.textsafe import sanitize_json

#: Records no detector looks at.
IGNORED = frozenset(
    {
        Action.ANOMALY,
        Action.LOG_REPAIRED,
        Action.LOG_ARCHIVED,
        Action.LOG_PRUNED,
        Action.SINK_FAILED,
        Action.NOTIFICATION_SENT,
        Action.NOTIFICATION_FAILED,
    }
)


def detect(records: Iterable[Record], settings: AnomalySettings) -> Iterator[Anomaly]:
    """Every anomaly in `records` (in log order, e.g. a `select`), as its burst ends."""
    detectors = build_detectors(settings)
    for record in records:
        if record.action in IGNORED:
            continue
        event = Event(record.time, record.seq, record.secret, record.actor, record.source.value)
        for detector in detectors:
            ended = detector.feed(record, event)
            if ended:
                yield from ended
    for detector in detectors:
        yield from detector.finish()


def write_anomalies_table(anomalies: Iterable[Anomaly], out: TextIO) -> int:
    """One row per anomaly as it arrives: when it began (UTC), kind, count, description."""
    out.write(f"{fit('FIRST (UTC)', 19)}  {fit('KIND', 17)}  {'COUNT':>7}  DESCRIPTION\n")
    count = 0
    for anomaly in anomalies:
        first = anomaly.first.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        out.write(
            f"{first}  {fit(anomaly.kind.value, 17)}  {anomaly.count:>7}  "
            f"{fit(anomaly.description, 0)}\n"
        )
        count += 1
    return count


def write_anomalies_json(anomalies: Iterable[Anomaly], out: TextIO) -> int:
    """A JSON array of `Anomaly.to_details()`, one per line, streamed; `[]` when none."""
    count = 0
    for anomaly in anomalies:
        out.write(",\n" if count else "[\n")
        out.write(sanitize_json(json.dumps(anomaly.to_details(), ensure_ascii=False)))
        count += 1
    out.write("\n]\n" if count else "[]\n")
    return count


ANOMALY_FORMATS: dict[str, Callable[[Iterable[Anomaly], TextIO], int]] = {
    "table": write_anomalies_table,
    "json": write_anomalies_json,
}
