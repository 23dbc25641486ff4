from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from leakstop.audit.anomalies import ANOMALY_FORMATS, detect, write_anomalies_json
from leakstop.audit.anomaly import MAX_NAMES, MAX_SEQS, Anomaly, Kind
from leakstop.audit.query import Query, select
from leakstop.audit.record import Action, Record, Source, canonical
from leakstop.config.audit import AnomalySettings, FailedAttempts
from tests.audit.logs import T0, numbered, record, write_log
from tests.conftest import assert_safe_output

MINUTE = timedelta(minutes=1)
SETTINGS = AnomalySettings(failed_attempts=FailedAttempts(count=3, window=timedelta(hours=1)))


def _failures(count: int, secret: str = "db", actor: str = "alice") -> list[Record]:
    return numbered(
        record(Action.SECRET_READ, secret, actor, at=n * MINUTE, success=False)
        for n in range(count)
    )


def test_details_are_json_for_an_anomaly_record() -> None:
    (anomaly,) = detect(_failures(4), SETTINGS)
    details = anomaly.to_details()
    assert json.loads(canonical(details)) == details
    assert details == {
        "id": anomaly.id,
        "kind": "failed_attempts",
        "secret": "db",
        "actor": "alice",
        "first": "2024-03-04T12:00:00.000000Z",
        "last": "2024-03-04T12:03:00.000000Z",
        "count": 4,
        "description": anomaly.description,
        "seqs": [1, 2, 3, 4],
        "seqs_truncated": False,
        "actors": ["alice"],
        "secrets": ["db"],
    }
    # An anomaly record built from it is a valid record.
    Record(Action.ANOMALY, anomaly.secret, "leakstop", Source.CLI, details=details).line()


def test_the_id_is_stable_and_tells_anomalies_apart() -> None:
    (first,) = detect(_failures(4), SETTINGS)
    (again,) = detect(_failures(4), SETTINGS)
    (other,) = detect(_failures(4, secret="web"), SETTINGS)
    assert first.id == again.id
    assert first.id != other.id
    assert len(first.id) == 16


def test_a_huge_burst_keeps_its_count_but_not_every_seq() -> None:
    records = _failures(MAX_SEQS + 5)
    (anomaly,) = detect(records, AnomalySettings(failed_attempts=FailedAttempts(count=3)))
    assert anomaly.count == MAX_SEQS + 5
    assert len(anomaly.seqs) == MAX_SEQS
    assert anomaly.to_details()["seqs_truncated"] is True


def test_names_in_an_anomaly_are_capped() -> None:
    records = numbered(
        record(Action.SECRET_READ, "db", f"actor{n:03}", at=n * timedelta(seconds=1), success=False)
        for n in range(MAX_NAMES + 10)
    )
    (anomaly,) = (a for a in detect(records, SETTINGS) if a.kind is Kind.FAILED_ATTEMPTS)
    assert anomaly.count == MAX_NAMES + 10
    assert len(anomaly.actors) == MAX_NAMES
    assert anomaly.actor is None


def test_detect_reads_a_selection_from_disk(tmp_path: Path) -> None:
    write_log(tmp_path, _failures(3))
    (anomaly,) = detect(select(tmp_path, Query()), SETTINGS)
    assert anomaly.first == T0


def test_recorded_anomalies_do_not_fire_again() -> None:
    (anomaly,) = detect(_failures(3), SETTINGS)
    recorded = record(
        Action.ANOMALY, anomaly.secret, "leakstop", at=10 * MINUTE, details=anomaly.to_details()
    )
    again = [*_failures(3), *[recorded] * 5]
    assert list(detect(numbered(again), SETTINGS)) == [anomaly]


def test_writers_are_safe_to_print_and_json_is_valid() -> None:
    hostile = "::warning::x\x1b]8;;https://evil\x07\u2066"
    anomalies = list(detect(_failures(3, secret=hostile, actor=hostile), SETTINGS))
    assert anomalies
    for writer in ANOMALY_FORMATS.values():
        out = io.StringIO()
        assert writer(anomalies, out) == 1
        assert_safe_output(out.getvalue())
    out = io.StringIO()
    write_anomalies_json(anomalies, out)
    assert json.loads(out.getvalue()) == [a.to_details() for a in anomalies]
    assert json.loads(out.getvalue())[0]["secret"] == hostile


def test_writers_with_no_anomalies() -> None:
    empty: list[Anomaly] = []
    out = io.StringIO()
    write_anomalies_json(empty, out)
    assert json.loads(out.getvalue()) == []
    out = io.StringIO()
    ANOMALY_FORMATS["table"](empty, out)
    assert out.getvalue().startswith("FIRST (UTC)")
    assert out.getvalue().count("\n") == 1


def test_table_row() -> None:
    (anomaly,) = detect(_failures(3), SETTINGS)
    out = io.StringIO()
    ANOMALY_FORMATS["table"]([anomaly], out)
    row = out.getvalue().splitlines()[1]
    assert row.startswith("2024-03-04 12:00:00  failed_attempts          3  3 failed actions on db")
