"""Each tamper case, made on a real log the way someone with file access would make it."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from leakstop.audit.anchor import write_anchor
from leakstop.audit.chain import seal
from leakstop.audit.context import Context
from leakstop.audit.files import day_file_name
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Record, Source, canonical, from_json, utc_timestamp
from leakstop.audit.verify import ProblemKind, VerifyResult, verify
from tests.audit.conftest import KEY, START, Clock, build_log, day_paths, read_lines, write_lines

OTHER_KEY = b"made-up-key-of-an-attacker"


@pytest.fixture
def folder(tmp_path: Path, clock: Clock) -> Path:
    """Three day files of four records each, sealed with KEY."""
    build_log(tmp_path / "audit", KEY, clock)
    return tmp_path / "audit"


def parse(line: bytes) -> Record:
    return from_json(json.loads(line))


def sealed(record: Record, key: bytes | None) -> bytes:
    return replace(record, mac=seal(record, key)).line()


def reseal_from(path: Path, index: int, key: bytes | None, edit: dict[str, object]) -> None:
    """Edit record `index` of `path`, then rewrite the chain from it to the file's end, as an
    attacker who holds `key` (or thinks a plain hash will do) would."""
    lines = read_lines(path)
    prev = parse(lines[index]).prev
    for position in range(index, len(lines)):
        record = replace(parse(lines[position]), prev=prev)
        if position == index:
            record = replace(record, **edit)  # type: ignore[arg-type]
        lines[position] = sealed(record, key)
        prev = parse(lines[position]).mac
    write_lines(path, lines)


def expect(result: VerifyResult, kind: ProblemKind, path: Path | None, line: int | None) -> str:
    assert not result.ok, result
    assert result.problem is not None
    assert result.problem.kind is kind, result.problem
    assert result.problem.file == path
    assert result.problem.line == line
    return str(result.problem)


def test_an_untouched_log_verifies_with_its_count(folder: Path) -> None:
    result = verify(folder, KEY)
    assert result.ok
    assert result.problem is None
    assert result.torn is None
    assert (result.records, result.files, result.first_seq, result.last_seq) == (12, 3, 1, 12)
    assert result.warnings == ()


def test_days_without_a_file_are_no_gap(tmp_path: Path, clock: Clock) -> None:
    build_log(tmp_path, KEY, clock, days=(0, 3, 4))
    result = verify(tmp_path, KEY)
    assert result.ok
    assert result.records == 12
    assert result.files == 3


def test_an_edited_byte_names_the_record(folder: Path) -> None:
    path = day_paths(folder)[1]
    lines = read_lines(path)
    assert b'"actor":"alice"' in lines[1]
    lines[1] = lines[1].replace(b'"actor":"alice"', b'"actor":"alicf"')
    write_lines(path, lines)
    message = expect(verify(folder, KEY), ProblemKind.EDITED, path, 2)
    assert message.startswith(f"{path}:2: the record does not match its mac")


def test_an_edited_record_of_a_plain_chain_is_caught(tmp_path: Path, clock: Clock) -> None:
    build_log(tmp_path, None, clock)
    path = day_paths(tmp_path)[0]
    lines = read_lines(path)
    lines[2] = lines[2].replace(b'"success":true', b'"success":false')
    write_lines(path, lines)
    result = verify(tmp_path, None)
    assert "sha256 does not match" in expect(result, ProblemKind.EDITED, path, 3)
    assert any("forgeries are not detectable" in warning for warning in result.warnings)


def test_a_deleted_record(folder: Path) -> None:
    path = day_paths(folder)[1]
    lines = read_lines(path)
    del lines[1]
    write_lines(path, lines)
    message = expect(verify(folder, KEY), ProblemKind.MISSING, path, 2)
    assert "seq 7 follows seq 5: seq 6 missing" in message


def test_swapped_records(folder: Path) -> None:
    path = day_paths(folder)[1]
    lines = read_lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    write_lines(path, lines)
    message = expect(verify(folder, KEY), ProblemKind.MISSING, path, 2)
    assert "reordered" in message


def test_a_record_moved_back_in_time_to_another_day(folder: Path) -> None:
    first, second = day_paths(folder)[:2]
    moved = read_lines(second)
    write_lines(first, [*read_lines(first), moved[0]])
    write_lines(second, moved[1:])
    expect(verify(folder, KEY), ProblemKind.MISFILED, first, 5)


def test_a_duplicated_record(folder: Path) -> None:
    path = day_paths(folder)[2]
    lines = read_lines(path)
    lines.insert(2, lines[0])
    write_lines(path, lines)
    message = expect(verify(folder, KEY), ProblemKind.REORDERED, path, 3)
    assert "seq 9 follows seq 10" in message


def test_an_inserted_record_without_the_key(folder: Path) -> None:
    path = day_paths(folder)[1]
    lines = read_lines(path)
    before = parse(lines[1])
    invented = replace(before, id="0" * 32, secret="billing/other", seq=before.seq + 1)
    lines.insert(2, sealed(replace(invented, prev=before.mac), OTHER_KEY))
    write_lines(path, lines)
    message = expect(verify(folder, KEY), ProblemKind.EDITED, path, 3)
    assert "forged without LEAKSTOP_AUDIT_KEY" in message


def test_a_record_forged_with_a_made_up_key(folder: Path) -> None:
    path = day_paths(folder)[0]
    reseal_from(path, 1, OTHER_KEY, {"actor": "mallory"})
    expect(verify(folder, KEY), ProblemKind.EDITED, path, 2)


def test_a_downgrade_to_a_plain_chain(folder: Path) -> None:
    path = day_paths(folder)[2]
    reseal_from(path, 1, None, {"success": False})
    message = expect(verify(folder, KEY), ProblemKind.DOWNGRADED, path, 2)
    assert "downgrade" in message


def test_a_line_that_is_not_a_record(folder: Path) -> None:
    path = day_paths(folder)[0]
    lines = read_lines(path)
    lines[0] = b'{"hello": "world"}\n'
    write_lines(path, lines)
    message = expect(verify(folder, KEY), ProblemKind.UNREADABLE, path, 1)
    assert "not an audit record (missing" in message


def test_a_line_rewritten_in_another_form(folder: Path) -> None:
    """Same values, but a repeated key that a first-wins JSON reader would see differently."""
    path = day_paths(folder)[0]
    lines = read_lines(path)
    lines[3] = lines[3].replace(b'{"action"', b'{"actor":"mallory","action"', 1)
    write_lines(path, lines)
    message = expect(verify(folder, KEY), ProblemKind.EDITED, path, 4)
    assert "canonical form" in message


def test_a_middle_day_file_deleted(folder: Path) -> None:
    _first, second, third = day_paths(folder)
    second.unlink()
    message = expect(verify(folder, KEY), ProblemKind.MISSING, third, 1)
    assert "seq 9 follows seq 4: seq 5–8 missing (a deleted day file" in message


def test_a_middle_day_file_cut_at_a_line(folder: Path) -> None:
    second, third = day_paths(folder)[1:]
    write_lines(second, read_lines(second)[:2])
    expect(verify(folder, KEY), ProblemKind.MISSING, third, 1)


def test_a_middle_day_file_cut_inside_a_line(folder: Path) -> None:
    second = day_paths(folder)[1]
    data = second.read_bytes()
    second.write_bytes(data[: len(data) - 40])
    expect(verify(folder, KEY), ProblemKind.TRUNCATED, second, 4)


def test_the_oldest_day_file_deleted(folder: Path) -> None:
    first, second, _ = day_paths(folder)
    first.unlink()
    message = expect(verify(folder, KEY), ProblemKind.START, second, 1)
    assert "no log_pruned record covers seq 1–4" in message


def test_the_first_record_replaced_by_another_start(folder: Path) -> None:
    path = day_paths(folder)[0]
    lines = read_lines(path)
    write_lines(path, lines[1:])
    # Record 2 now starts the log but links to record 1.
    expect(verify(folder, KEY), ProblemKind.START, path, 1)


def test_the_newest_records_removed(folder: Path) -> None:
    path = day_paths(folder)[2]
    write_lines(path, read_lines(path)[:2])
    message = expect(verify(folder, KEY), ProblemKind.HEAD, folder / "head.json", None)
    assert "ends at seq 12, but its last record is seq 10" in message


def test_the_newest_day_file_deleted(folder: Path) -> None:
    day_paths(folder)[2].unlink()
    expect(verify(folder, KEY), ProblemKind.HEAD, folder / "head.json", None)


def rewrite_head(folder: Path, hmac: str | None) -> None:
    last = parse(read_lines(day_paths(folder)[-1])[-1])
    document = {
        "version": 1,
        "seq": last.seq,
        "mac": last.mac,
        "file": day_paths(folder)[-1].name,
        "hmac": hmac,
    }
    (folder / "head.json").write_bytes(canonical(document))


@pytest.mark.parametrize("hmac", [None, "hmac-sha256:" + "ab" * 32], ids=["unsigned", "made-up"])
def test_newest_records_removed_and_head_rewritten_without_the_key(
    folder: Path, hmac: str | None
) -> None:
    path = day_paths(folder)[2]
    write_lines(path, read_lines(path)[:2])
    rewrite_head(folder, hmac)
    message = expect(verify(folder, KEY), ProblemKind.HEAD, folder / "head.json", None)
    assert "not signed with LEAKSTOP_AUDIT_KEY" in message


def test_head_deleted(folder: Path) -> None:
    (folder / "head.json").unlink()
    message = expect(verify(folder, KEY), ProblemKind.HEAD, folder / "head.json", None)
    assert "head.json is missing" in message


def test_head_not_json(folder: Path) -> None:
    (folder / "head.json").write_text("{")
    result = verify(folder, KEY)
    assert result.problem is not None
    assert result.problem.kind is ProblemKind.HEAD
    assert "not a head anchor" in str(result.problem)


def test_an_older_head_put_back(folder: Path, clock: Clock, context: Context) -> None:
    old = (folder / "head.json").read_bytes()
    log = AuditLog.open(folder, KEY, clock=clock)
    for _ in range(3):
        log.append(Action.SECRET_READ, "billing/key", context)
    (folder / "head.json").write_bytes(old)
    message = expect(verify(folder, KEY), ProblemKind.HEAD, folder / "head.json", None)
    assert "an older head.json was put back" in message


def test_a_head_one_record_behind_is_a_crash_not_a_removal(folder: Path, clock: Clock) -> None:
    old = (folder / "head.json").read_bytes()
    build_log(folder, KEY, clock, days=(3,), per_day=1)
    (folder / "head.json").write_bytes(old)
    result = verify(folder, KEY)
    assert result.ok
    assert result.records == 13
    assert any("one record behind" in warning for warning in result.warnings)


def test_a_keyed_log_without_the_key_checks_links_only(folder: Path) -> None:
    result = verify(folder, None)
    assert result.ok
    assert result.records == 12
    assert any("12 records are sealed with an HMAC" in warning for warning in result.warnings)
    path = day_paths(folder)[1]
    lines = read_lines(path)
    del lines[3]
    write_lines(path, lines)
    expect(verify(folder, None), ProblemKind.MISSING, day_paths(folder)[2], 1)


def test_a_plain_chain_verified_with_a_key_reads_as_a_downgrade(
    tmp_path: Path, clock: Clock
) -> None:
    build_log(tmp_path, None, clock)
    assert verify(tmp_path, None).ok
    expect(verify(tmp_path, KEY), ProblemKind.DOWNGRADED, day_paths(tmp_path)[0], 1)


def test_a_plain_chain_rewritten_back_in_time(tmp_path: Path, clock: Clock) -> None:
    """Without a key an attacker can reseal the chain; a record dated before its predecessor
    still shows."""
    build_log(tmp_path, None, clock)
    path = day_paths(tmp_path)[0]
    earlier = parse(read_lines(path)[0]).timestamp
    reseal_from(path, 2, None, {"timestamp": earlier})
    expect(verify(tmp_path, None), ProblemKind.REORDERED, path, 3)


def test_a_torn_tail_is_reported_apart_and_the_chain_holds(folder: Path) -> None:
    path = day_paths(folder)[2]
    with path.open("ab") as stream:
        stream.write(b'{"action":"secret_read","actor":"al')
    result = verify(folder, KEY)
    assert result.ok
    assert result.records == 12
    assert result.torn is not None
    assert result.torn.kind is ProblemKind.TORN
    assert (result.torn.file, result.torn.line) == (path, 5)
    assert "incomplete record (35 bytes)" in str(result.torn)


def test_an_archive_cut_short_is_unreadable(folder: Path) -> None:
    first = day_paths(folder)[0]
    packed = gzip.compress(first.read_bytes())
    archived = first.with_name(first.name + ".gz")
    archived.write_bytes(packed[: len(packed) // 2])
    first.unlink()
    result = verify(folder, KEY)
    assert result.problem is not None
    assert result.problem.kind is ProblemKind.UNREADABLE
    assert result.problem.file == archived


def test_an_empty_folder_verifies(tmp_path: Path) -> None:
    result = verify(tmp_path, KEY)
    assert result.ok
    assert (result.records, result.files) == (0, 0)


def write_sealed_log(folder: Path, count: int) -> None:
    """`count` records, 100 per day, sealed with KEY, written without fsync (fast)."""
    folder.mkdir()
    prev, name = "", ""
    for seq in range(1, count + 1):
        moment = START + timedelta(minutes=14 * seq)
        record = Record(
            Action.SECRET_READ,
            "billing/key",
            "alice",
            Source.CLI,
            details={"n": seq},
            timestamp=utc_timestamp(moment),
            seq=seq,
            prev=prev,
        )
        line = sealed(record, KEY)
        prev, name = parse(line).mac, day_file_name(moment.date())
        with (folder / name).open("ab") as stream:
            stream.write(line)
    write_anchor(folder, count, prev, name, KEY)


def test_memory_stays_flat_however_long_the_log(tmp_path: Path) -> None:
    peaks = []
    for count in (250, 5_000):
        folder = tmp_path / str(count)
        write_sealed_log(folder, count)
        tracemalloc.start()
        result = verify(folder, KEY)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert result.ok
        assert result.records == count
    # Twenty times the records (about 2 MB of lines): the same peak, give or take a block.
    assert peaks[1] < peaks[0] + 256 * 1024, peaks
