from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from leakstop.audit.query import Query, select
from leakstop.audit.record import Action, Record
from leakstop.audit.stats import (
    STATS_FORMATS,
    Tally,
    collect_stats,
    write_stats_json,
    write_stats_table,
)
from tests.audit.logs import T0, numbered, record, write_log
from tests.conftest import assert_golden, assert_safe_output

EXPECTED = Path(__file__).parent.parent / "data" / "expected" / "audit"


def _records() -> list[Record]:
    return numbered(
        [
            record(Action.SECRET_READ, "billing", "alice"),
            record(Action.SECRET_READ, "billing", "bob", at=timedelta(minutes=1)),
            record(Action.SECRET_READ, "db", "alice", at=timedelta(minutes=2), success=False),
            record(Action.ROTATION_FAILED, "db", "ci", at=timedelta(hours=13), success=False),
            record(Action.ROTATION_COMPLETED, "db", "ci", at=timedelta(hours=14)),
            record(Action.LOG_PRUNED, "", "leakstop", at=timedelta(days=2)),
        ]
    )


def test_counts_by_action_actor_secret_and_day() -> None:
    stats = collect_stats(_records())
    assert stats.total == Tally(6, 2)
    assert stats.total.failure_rate == 2 / 6
    assert stats.first == T0
    assert stats.last == T0 + timedelta(days=2)
    assert stats.by_action == {
        "log_pruned": Tally(1, 0),
        "rotation_completed": Tally(1, 0),
        "rotation_failed": Tally(1, 1),
        "secret_read": Tally(3, 1),
    }
    assert stats.by_actor == {
        "alice": Tally(2, 1),
        "bob": Tally(1, 0),
        "ci": Tally(2, 1),
        "leakstop": Tally(1, 0),
    }
    assert stats.by_secret == {"": Tally(1, 0), "billing": Tally(2, 0), "db": Tally(3, 2)}
    # 12:00 + 13h and + 14h fall on the next UTC day.
    assert stats.by_day == {
        "2024-03-04": Tally(3, 1),
        "2024-03-05": Tally(2, 1),
        "2024-03-06": Tally(1, 0),
    }


def test_no_records() -> None:
    stats = collect_stats([])
    assert stats.total == Tally(0, 0)
    assert stats.total.failure_rate == 0.0
    assert stats.first is None
    assert stats.by_day == {}
    document = json.loads(_render(write_stats_json, stats))
    assert document["records"] == 0
    assert document["first"] is None
    assert "records  0\n" in _render(write_stats_table, stats)


def test_one_pass_over_a_stream(tmp_path: Path) -> None:
    write_log(tmp_path, _records())
    passes = 0

    def once() -> Iterator[Record]:
        nonlocal passes
        passes += 1
        yield from select(tmp_path, Query())

    assert collect_stats(once()).total.records == 6
    assert passes == 1


def test_table_matches_golden() -> None:
    assert_golden(EXPECTED / "stats.txt", _render(write_stats_table, collect_stats(_records())))


def test_table_sorts_by_count_and_days_by_date() -> None:
    text = _render(write_stats_table, collect_stats(_records()))
    assert text.index("secret_read") < text.index("log_pruned")
    days = text[text.index("DAY (UTC)") :]
    assert days.index("2024-03-04") < days.index("2024-03-05") < days.index("2024-03-06")
    assert "33.3%" in text
    assert "(log)" in text


def test_json_is_stable_and_complete() -> None:
    stats = collect_stats(_records())
    text = _render(write_stats_json, stats)
    assert text == _render(write_stats_json, collect_stats(_records()))
    document = json.loads(text)
    assert document["version"] == 1
    assert document["records"] == 6
    assert document["failed"] == 2
    assert document["failure_rate"] == round(2 / 6, 6)
    assert document["first"] == "2024-03-04T12:00:00.000000Z"
    assert document["by_secret"]["db"] == {"records": 3, "failed": 2}
    assert document["by_day"]["2024-03-05"] == {"records": 2, "failed": 1}


def test_every_format_is_safe_to_print() -> None:
    hostile = "::error::x\x1b[31m\u202e"
    stats = collect_stats([record(secret=hostile, actor=hostile)])
    for writer in STATS_FORMATS.values():
        assert_safe_output(_render(writer, stats))


def _render(writer: object, stats: object) -> str:
    out = io.StringIO()
    writer(stats, out)  # type: ignore[operator]
    return out.getvalue()
