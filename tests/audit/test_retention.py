"""Archive and prune across day boundaries, with the chain still verifying after each."""

from __future__ import annotations

import gzip
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action
from leakstop.audit.retention import archive, prune
from leakstop.audit.verify import ProblemKind, verify
from tests.audit.conftest import KEY, START, Clock, build_log, day_paths, documents

DAY = timedelta(days=1)


@pytest.fixture
def log(tmp_path: Path, clock: Clock) -> AuditLog:
    """Days 0, 1, 2, 4 and 5 from START with three records each; the clock on day 6, 10:00."""
    built = build_log(tmp_path, KEY, clock, days=(0, 1, 2, 4, 5), per_day=3)
    clock.now = START + timedelta(days=6, hours=1)
    return built


def names(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def test_archive_gzips_whole_days_older_than_the_limit(log: AuditLog, context: Context) -> None:
    plain = {path.name: path.read_bytes() for path in day_paths(log.folder)}
    # Day 2 ended on day 3 00:00, exactly three days before day 6 00:00; day 4 is too recent.
    result = archive(log, timedelta(days=3), now=START.replace(hour=0) + 6 * DAY, context=context)
    archived = ["audit-2026-01-10.jsonl", "audit-2026-01-11.jsonl", "audit-2026-01-12.jsonl"]
    assert names(list(result.files)) == [f"{name}.gz" for name in archived]
    assert names(day_paths(log.folder)) == [
        *(f"{name}.gz" for name in archived),
        "audit-2026-01-14.jsonl",
        "audit-2026-01-15.jsonl",
        "audit-2026-01-16.jsonl",
    ]
    for name in archived:
        assert gzip.decompress((log.folder / f"{name}.gz").read_bytes()) == plain[name]
    assert result.record is not None
    assert result.record.action is Action.LOG_ARCHIVED
    assert result.record.details["files"] == archived
    assert result.record.details["older_than"] == "3d"
    verified = verify(log.folder, KEY)
    assert verified.ok
    assert verified.records == 16
    assert verified.files == 6
    assert [r.seq for r in log.records()] == list(range(1, 17))
    assert log.append(Action.SECRET_READ, "s", context).seq == 17
    assert verify(log.folder, KEY).ok


def test_archive_never_takes_today_and_runs_once(log: AuditLog, context: Context) -> None:
    log.append(Action.SECRET_READ, "s", context)  # today: day 6
    first = archive(log, timedelta(0), context=context)
    assert len(first.files) == 5
    assert "audit-2026-01-16.jsonl" in names(day_paths(log.folder))
    second = archive(log, timedelta(0), context=context)
    assert second.files == ()
    assert second.record is None
    assert verify(log.folder, KEY).records == 17


def test_an_interrupted_archive_is_finished_by_the_next(log: AuditLog, context: Context) -> None:
    first = day_paths(log.folder)[0]
    # The crash came after the archive was renamed into place and before the plain file went.
    (log.folder / f"{first.name}.gz").write_bytes(gzip.compress(first.read_bytes()[:10]))
    assert verify(log.folder, KEY).ok  # the plain file is read while both exist
    result = archive(log, timedelta(days=5), context=context)
    assert names(list(result.files)) == [f"{first.name}.gz"]
    assert not first.exists()
    assert verify(log.folder, KEY).ok


def test_prune_takes_the_archive_an_interrupted_archive_left(
    log: AuditLog, context: Context
) -> None:
    first = day_paths(log.folder)[0]
    (log.folder / f"{first.name}.gz").write_bytes(gzip.compress(first.read_bytes()[:10]))
    result = prune(log, timedelta(days=5), context=context)
    assert result.files == (first,)
    assert not (log.folder / f"{first.name}.gz").exists()
    assert verify(log.folder, KEY).ok


def test_prune_deletes_past_the_retention_and_records_the_cut(
    log: AuditLog, context: Context
) -> None:
    removed = [documents(path) for path in day_paths(log.folder)[:3]]
    result = prune(log, timedelta(days=3), now=START.replace(hour=0) + 6 * DAY, context=context)
    assert names(list(result.files)) == [
        "audit-2026-01-10.jsonl",
        "audit-2026-01-11.jsonl",
        "audit-2026-01-12.jsonl",
    ]
    assert (result.last_seq, result.last_mac) == (9, removed[-1][-1]["mac"])
    assert result.record is not None
    assert result.record.action is Action.LOG_PRUNED
    assert result.record.details["files"] == [
        {"file": path.name, "last_seq": docs[-1]["seq"], "last_mac": docs[-1]["mac"]}
        for path, docs in zip(result.files, removed, strict=False)
    ]
    assert names(day_paths(log.folder)) == [
        "audit-2026-01-14.jsonl",
        "audit-2026-01-15.jsonl",
        "audit-2026-01-16.jsonl",
    ]
    assert documents(day_paths(log.folder)[0])[0]["prev"] == result.last_mac
    verified = verify(log.folder, KEY)
    assert verified.ok
    assert (verified.first_seq, verified.last_seq) == (10, 16)


def test_a_deletion_no_prune_covers_is_caught(log: AuditLog, context: Context) -> None:
    prune(log, timedelta(days=4), context=context)  # days 0 and 1
    assert verify(log.folder, KEY).ok
    oldest = day_paths(log.folder)[0]
    oldest.unlink()  # day 2, which no prune took
    result = verify(log.folder, KEY)
    assert result.problem is not None
    assert result.problem.kind is ProblemKind.START
    assert (result.problem.file, result.problem.line) == (day_paths(log.folder)[0], 1)


def test_a_prune_cut_short_by_a_crash_still_verifies(
    log: AuditLog, context: Context, tmp_path: Path
) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    for path in day_paths(log.folder)[1:3]:
        shutil.copy(path, kept / path.name)
    prune(log, timedelta(days=3), context=context)
    # Oldest first: the crash came after day 0 was deleted, before days 1 and 2.
    for path in kept.iterdir():
        shutil.copy(path, log.folder / path.name)
    verified = verify(log.folder, KEY)
    assert verified.ok
    assert verified.first_seq == 4


def test_archive_then_prune_then_verify(log: AuditLog, context: Context, clock: Clock) -> None:
    archived = archive(log, timedelta(days=2), context=context)  # days 0-2; its record: day 6
    assert archived.record is not None
    assert archived.record.seq == 16
    clock.advance(days=1)
    result = prune(log, timedelta(days=3), context=context)  # the archives; its record: day 7
    assert names(list(result.files)) == [path.name for path in archived.files]
    assert result.last_seq == 9
    assert result.record is not None
    assert result.record.seq == 17
    clock.advance(days=2)
    second = prune(log, timedelta(days=1), context=context)  # days 4-7, the first prune's too
    assert len(second.files) == 4
    assert second.last_seq == 17
    verified = verify(log.folder, KEY)
    assert verified.ok
    assert (verified.first_seq, verified.records) == (18, 1)


def test_nothing_old_means_no_record(log: AuditLog, context: Context) -> None:
    assert prune(log, timedelta(days=30), context=context).record is None
    assert archive(log, timedelta(days=30), context=context).record is None
    assert verify(log.folder, KEY).records == 15
