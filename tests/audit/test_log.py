"""AuditLog on real folders: the chain it writes, many processes at once, crashes, sinks, and the
logs it refuses to write on."""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Record
from leakstop.audit.sinks import SinkError
from leakstop.audit.verify import verify
from leakstop.errors import AuditIntegrityError, AuditStorageError
from tests.audit.conftest import (
    KEY,
    START,
    Clock,
    build_log,
    day_paths,
    documents,
    read_lines,
    write_lines,
)


def test_append_returns_the_record_as_written(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    log = AuditLog.open(tmp_path, KEY, clock=clock)
    first = log.append(Action.SECRET_READ, "billing/api-key", context, details={"version": 3})
    second = log.append(
        Action.ROTATION_FAILED,
        "billing/api-key",
        context,
        details={"run": "override"},
        success=False,
        error="vault sealed",
    )
    assert (first.seq, first.prev) == (1, "")
    assert (second.seq, second.prev) == (2, first.mac)
    assert first.mac.startswith("hmac-sha256:")
    assert len(first.mac) == len("hmac-sha256:") + 64
    assert first.details == {"run": "local", "version": 3}
    assert second.details == {"run": "override"}
    assert (second.success, second.error, second.actor) == (False, "vault sealed", "alice")
    assert first.timestamp == "2026-01-10T09:00:00.000000Z"
    assert first.id
    [path] = day_paths(tmp_path)
    assert path.name == "audit-2026-01-10.jsonl"
    assert read_lines(path) == [first.line(), second.line()]
    assert list(log.records()) == [first, second]


def test_without_a_key_a_plain_chain_and_one_warning(
    tmp_path: Path, clock: Clock, context: Context, caplog: pytest.LogCaptureFixture
) -> None:
    log = AuditLog.open(tmp_path, None, clock=clock)
    with caplog.at_level(logging.WARNING, logger="leakstop.audit"):
        records = [log.append(Action.SECRET_READ, "s", context) for _ in range(3)]
    assert all(record.mac.startswith("sha256:") for record in records)
    warnings = [r for r in caplog.records if "LEAKSTOP_AUDIT_KEY is not set" in r.getMessage()]
    assert len(warnings) == 1
    assert "not as forgeries" in warnings[0].getMessage()
    assert verify(tmp_path, None).records == 3


def test_day_files_by_utc_date_chained_across_days(tmp_path: Path, clock: Clock) -> None:
    build_log(tmp_path, KEY, clock, days=(0, 2), per_day=2)
    first, second = day_paths(tmp_path)
    assert (first.name, second.name) == ("audit-2026-01-10.jsonl", "audit-2026-01-12.jsonl")
    assert documents(second)[0]["prev"] == documents(first)[-1]["mac"]
    assert [d["seq"] for d in documents(first) + documents(second)] == [1, 2, 3, 4]
    head = json.loads((tmp_path / "head.json").read_bytes())
    assert (head["seq"], head["mac"], head["file"]) == (
        4,
        documents(second)[-1]["mac"],
        second.name,
    )


def test_records_streams_the_days_asked_for(tmp_path: Path, clock: Clock) -> None:
    log = build_log(tmp_path, KEY, clock, days=(0, 1, 2), per_day=2)
    day = START.date()
    assert [r.seq for r in log.records(since=day + timedelta(days=1))] == [3, 4, 5, 6]
    assert [r.seq for r in log.records(until=day)] == [1, 2]
    assert [r.seq for r in log.records(day + timedelta(days=1), day + timedelta(days=1))] == [3, 4]
    assert list(log.records(since=date(2030, 1, 1))) == []


def test_a_clock_that_steps_back_keeps_records_in_order(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    log = AuditLog.open(tmp_path, KEY, clock=clock)
    first = log.append(Action.SECRET_READ, "s", context)
    clock.advance(days=-1)
    second = log.append(Action.SECRET_READ, "s", context)
    assert second.timestamp == first.timestamp
    assert len(day_paths(tmp_path)) == 1
    assert verify(tmp_path, KEY).ok


def test_details_that_are_not_json_are_refused_before_writing(
    tmp_path: Path, context: Context
) -> None:
    log = AuditLog.open(tmp_path, KEY)
    for details in ({"when": START}, {"ratio": float("nan")}, {1: "a", "1": "b"}):
        with pytest.raises(TypeError, match="audit details"):
            log.append(Action.SECRET_READ, "s", context, details=details)  # type: ignore[dict-item]
    assert day_paths(tmp_path) == []


def test_the_key_never_reaches_the_folder(tmp_path: Path, clock: Clock) -> None:
    build_log(tmp_path, KEY, clock)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY not in data, path
            assert KEY.hex().encode() not in data, path


_APPENDER = """
import os, sys, time
from pathlib import Path
from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Source

folder, actor, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
log = AuditLog.open(Path(folder), os.environb[b"TEST_AUDIT_KEY"])
context = Context(actor, Source.CLI)
(go.parent / f"ready-{actor}").touch()
while not go.exists():
    time.sleep(0.001)
for number in range(count):
    log.append(Action.SECRET_READ, "shared/secret", context, details={"n": number})
"""


def test_many_processes_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    processes, each = 20, 10
    folder, go = tmp_path / "audit", tmp_path / "go"
    environment = {**os.environ, "TEST_AUDIT_KEY": KEY.decode()}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, str(folder), f"p{n}", str(each), str(go)],
            env=environment,
        )
        for n in range(processes)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()  # every child is waiting at the start line
    assert [child.wait(timeout=120) for child in children] == [0] * processes
    result = verify(folder, KEY)
    assert result.ok
    assert result.records == processes * each
    records = list(AuditLog.open(folder, KEY).records())
    assert [r.seq for r in records] == list(range(1, processes * each + 1))
    assert Counter(r.actor for r in records) == {f"p{n}": each for n in range(processes)}
    for n in range(processes):
        assert [r.details["n"] for r in records if r.actor == f"p{n}"] == list(range(each))
    # They did run at once: one process's records are not all in one block.
    switches = sum(a.actor != b.actor for a, b in itertools.pairwise(records))
    assert switches > processes


TORN = b'{"action":"secret_read","actor":"alice","det'


def test_a_torn_tail_is_moved_aside_and_recorded(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    log = build_log(tmp_path, KEY, clock, days=(0,), per_day=3)
    [path] = day_paths(tmp_path)
    whole = path.read_bytes()
    with path.open("ab") as stream:
        stream.write(TORN)
    before = verify(tmp_path, KEY)
    assert before.ok
    assert before.records == 3
    assert before.torn is not None

    result = log.repair(context)
    assert result.repaired
    assert result.size == len(TORN)
    assert result.file == path
    assert result.moved_to == tmp_path / "torn" / f"{path.name}.1.torn"
    assert result.moved_to.read_bytes() == TORN
    assert path.read_bytes().startswith(whole)
    assert result.record is not None
    assert (result.record.seq, result.record.action) == (4, Action.LOG_REPAIRED)
    assert result.record.details == {
        "run": "local",
        "file": path.name,
        "moved_to": f"torn/{path.name}.1.torn",
        "bytes": len(TORN),
        "offset": len(whole),
    }
    after = verify(tmp_path, KEY)
    assert after.ok
    assert after.torn is None
    assert after.records == 4

    assert log.repair(context).repaired is False
    assert log.append(Action.SECRET_READ, "s", context).seq == 5
    assert verify(tmp_path, KEY).records == 5


def test_append_repairs_a_torn_tail_before_writing(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    log = build_log(tmp_path, KEY, clock, days=(0,), per_day=2)
    [path] = day_paths(tmp_path)
    for number in (1, 2):
        with path.open("ab") as stream:
            stream.write(TORN)
        record = log.append(Action.REVOKED, "s", context)
        assert record.seq == 2 + 2 * number
    actions = [r.action for r in log.records()]
    assert actions == [Action.SECRET_READ] * 2 + [Action.LOG_REPAIRED, Action.REVOKED] * 2
    assert sorted(p.name for p in (tmp_path / "torn").iterdir()) == [
        f"{path.name}.1.torn",
        f"{path.name}.2.torn",
    ]
    assert verify(tmp_path, KEY).ok


def test_a_crash_before_head_json_is_written_is_caught_up(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    log = build_log(tmp_path, KEY, clock, days=(0,), per_day=2)
    old = (tmp_path / "head.json").read_bytes()
    log.append(Action.SECRET_READ, "s", context)
    (tmp_path / "head.json").write_bytes(old)  # as if the process died before replacing it
    assert log.append(Action.SECRET_READ, "s", context).seq == 4
    result = verify(tmp_path, KEY)
    assert result.ok
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("append_key", "message"),
    [(None, "set LEAKSTOP_AUDIT_KEY"), (b"another key", "another key, or the record")],
)
def test_append_refuses_a_keyed_log_without_its_key(
    tmp_path: Path, clock: Clock, context: Context, append_key: bytes | None, message: str
) -> None:
    build_log(tmp_path, KEY, clock, days=(0,), per_day=2)
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(AuditIntegrityError, match=message):
        AuditLog.open(tmp_path, append_key).append(Action.SECRET_READ, "s", context)
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_append_refuses_to_mix_a_key_into_a_plain_chain(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    build_log(tmp_path, None, clock, days=(0,), per_day=2)
    with pytest.raises(AuditIntegrityError, match="started without LEAKSTOP_AUDIT_KEY"):
        AuditLog.open(tmp_path, KEY).append(Action.SECRET_READ, "s", context)


def test_append_does_not_write_over_removed_records(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    log = build_log(tmp_path, KEY, clock, days=(0,), per_day=4)
    [path] = day_paths(tmp_path)
    write_lines(path, read_lines(path)[:2])
    head = (tmp_path / "head.json").read_bytes()
    with pytest.raises(AuditIntegrityError, match="ends at seq 4, but its last record is seq 2"):
        log.append(Action.SECRET_READ, "s", context)
    assert (tmp_path / "head.json").read_bytes() == head
    (tmp_path / "head.json").unlink()
    with pytest.raises(AuditIntegrityError, match=r"head\.json is missing"):
        log.append(Action.SECRET_READ, "s", context)


def test_append_refuses_an_edited_last_record(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    log = build_log(tmp_path, KEY, clock, days=(0,), per_day=2)
    [path] = day_paths(tmp_path)
    path.write_bytes(path.read_bytes().replace(b'"n":1', b'"n":7'))
    with pytest.raises(AuditIntegrityError, match=r"last record \(seq 2\) does not match"):
        log.append(Action.SECRET_READ, "s", context)


def test_a_day_file_that_cannot_be_written(tmp_path: Path, clock: Clock, context: Context) -> None:
    log = AuditLog.open(tmp_path, KEY, clock=clock)
    (tmp_path / "audit-2026-01-10.jsonl").mkdir()  # in the way even for root
    with pytest.raises(AuditStorageError, match="cannot write the audit log"):
        log.append(Action.SECRET_READ, "s", context)


class RecordingSink:
    """Checks, when called, that the record is already on disk and the lock is free."""

    def __init__(self, folder: Path, name: str = "recording") -> None:
        self.folder = folder
        self.name = name
        self.sent: list[Record] = []

    def send(self, record: Record) -> None:
        import fcntl

        on_disk = [line for path in day_paths(self.folder) for line in read_lines(path)]
        assert record.line() in on_disk
        descriptor = os.open(self.folder / ".lock", os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if still held
        finally:
            os.close(descriptor)
        self.sent.append(record)

    def close(self) -> None:
        pass


class FailingSink:
    def __init__(self, error: Exception) -> None:
        self.name = "http https://siem.example/leakstop"
        self.error = error
        self.calls = 0

    def send(self, record: Record) -> None:
        self.calls += 1
        raise self.error

    def close(self) -> None:
        pass


@pytest.mark.skipif(os.name != "posix", reason="the sink checks the lock with flock")
def test_sinks_get_each_record_after_the_local_write(
    tmp_path: Path, clock: Clock, context: Context
) -> None:
    sink = RecordingSink(tmp_path)
    log = AuditLog.open(tmp_path, KEY, [sink], clock=clock)
    records = [log.append(Action.SECRET_READ, "s", context) for _ in range(3)]
    assert sink.sent == records


@pytest.mark.skipif(os.name != "posix", reason="the sink checks the lock with flock")
@pytest.mark.parametrize(
    "error", [SinkError("503 from the SIEM"), ConnectionRefusedError(111, "refused")]
)
def test_a_failing_sink_is_recorded_and_loses_nothing(
    tmp_path: Path,
    clock: Clock,
    context: Context,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
) -> None:
    failing, good = FailingSink(error), RecordingSink(tmp_path)
    log = AuditLog.open(tmp_path, KEY, [failing, good], clock=clock)
    with caplog.at_level(logging.WARNING, logger="leakstop.audit"):
        record = log.append(Action.REVOKED, "billing/api-key", context)
    assert record.seq == 1
    assert record.action is Action.REVOKED
    assert good.sent == [record]
    assert failing.calls == 1
    records = list(log.records())
    assert [r.action for r in records] == [Action.REVOKED, Action.SINK_FAILED]
    failure = records[1]
    assert failure.details == {
        "run": "local",
        "sink": failing.name,
        "error": str(error),
        "record_id": record.id,
        "record_seq": 1,
    }
    assert (failure.success, failure.error, failure.secret) == (False, str(error), "")
    sink_warnings = [r for r in caplog.records if "did not take record 1" in r.getMessage()]
    assert len(sink_warnings) == 1
    assert verify(tmp_path, KEY).ok


def test_audit_imports_neither_the_scanner_nor_the_rotator() -> None:
    code = (
        "import sys, leakstop.audit.log, leakstop.audit.retention, leakstop.audit.verify\n"
        "print(sorted(m for m in sys.modules if m.startswith(('leakstop.scanner', "
        "'leakstop.rotator'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


class ClosingSink:
    def __init__(self, error: Exception | None = None) -> None:
        self.name = "closing"
        self.error = error
        self.closed = False

    def send(self, record: Record) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        if self.error is not None:
            raise self.error


def test_close_closes_every_sink_even_after_one_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing, fine = ClosingSink(SinkError("connection reset")), ClosingSink()
    log = AuditLog.open(tmp_path, KEY, [failing, fine])
    with caplog.at_level(logging.WARNING, logger="leakstop.audit"):
        log.close()
    assert failing.closed
    assert fine.closed
    assert "did not close: connection reset" in caplog.text


def test_a_sink_that_fails_to_close_is_recorded_locally(
    tmp_path: Path, context: Context, caplog: pytest.LogCaptureFixture
) -> None:
    """A sink that sends at close (the git sink pushes its batch) must not lose its failure."""
    log = AuditLog.open(tmp_path, KEY, [ClosingSink(SinkError("push refused")), ClosingSink()])
    log.append(Action.SECRET_READ, "billing/api-key", context)
    with caplog.at_level(logging.WARNING, logger="leakstop.audit"):
        log.close(context)
    *_, failure = log.records()
    assert failure.action is Action.SINK_FAILED
    assert failure.details["sink"] == "closing"
    assert failure.details["stage"] == "close"
    assert failure.error == "push refused"
    assert failure.actor == context.actor
    assert log.verify().ok
