from __future__ import annotations

import dataclasses
import gzip
import json
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakstop.audit.files import day_file_name
from leakstop.audit.query import Query, parse_when, prefilter, select
from leakstop.audit.record import Action, Record, Source
from leakstop.errors import SourceError
from tests.audit.logs import T0, numbered, record, write_log

NOW = datetime(2024, 3, 10, 15, 30, tzinfo=timezone.utc)
DAY = timedelta(days=1)


# parse_when


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=timezone.utc)),
        ("2024-03-05T14:30", datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc)),
        ("2024-03-05T14:30:00Z", datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc)),
        ("2024-03-05T14:30:00+02:00", datetime(2024, 3, 5, 12, 30, tzinfo=timezone.utc)),
        ("2024-03-05 14:30", datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc)),
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("1d12h", NOW - timedelta(hours=36)),
        (" 30m ", NOW - timedelta(minutes=30)),
    ],
)
def test_parse_when_accepts_dates_times_and_durations(text: str, expected: datetime) -> None:
    parsed = parse_when(text, NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_parse_when_end_of_day_covers_the_whole_date() -> None:
    assert parse_when("2024-03-05", NOW, end_of_day=True) == datetime(
        2024, 3, 5, 23, 59, 59, 999999, tzinfo=timezone.utc
    )
    # Only a bare date means a whole day; a time is taken as given.
    assert parse_when("2024-03-05T10:00", NOW, end_of_day=True) == datetime(
        2024, 3, 5, 10, tzinfo=timezone.utc
    )


def test_parse_when_takes_a_naive_now_as_utc() -> None:
    assert parse_when("1h", NOW.replace(tzinfo=None)) == NOW - timedelta(hours=1)


@pytest.mark.parametrize("text", ["yesterday", "", "7", "2024-13-01", "2024-02-30", "-7d"])
def test_parse_when_rejects_anything_else_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a valid date|is not a date") as raised:
        parse_when(text, NOW)
    if text not in ("2024-02-30", "2024-13-01"):
        assert "7d" in str(raised.value)


# Query


def test_query_refuses_naive_times_and_an_empty_range() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Query(since=datetime(2024, 3, 1))
    with pytest.raises(ValueError, match="after --until"):
        Query(since=NOW, until=NOW - timedelta(seconds=1))
    assert Query(since=NOW, until=NOW).matches(record(at=NOW))


# select


def _mixed_log() -> list[Record]:
    """Two weeks of varied records, several a day."""
    items = []
    secrets = ["billing/api-key", "billing", "db/password", 'we"ird\\name', "ünïcode/ключ"]
    actors = ["alice", "bob", "ci-bot"]
    actions = [Action.SECRET_READ, Action.ROTATION_FAILED, Action.SECRET_UPDATED, Action.REVOKED]
    for n in range(14 * 5):
        items.append(
            record(
                actions[n % len(actions)],
                secrets[n % len(secrets)],
                actors[n % len(actors)],
                at=T0 + timedelta(hours=n * 24 / 5),
                success=n % 3 != 0,
                org="acme" if n % 4 == 0 else "default",
                # Decoys: details that hold what another record's top-level fields hold.
                details={"secret": secrets[(n + 1) % len(secrets)], "success": False},
            )
        )
    return numbered(items)


QUERIES: dict[str, tuple[Query, Callable[[Record], bool]]] = {
    "everything": (Query(), lambda r: True),
    "one secret": (Query(secrets=frozenset({"billing"})), lambda r: r.secret == "billing"),
    "escaped secret": (
        Query(secrets=frozenset({'we"ird\\name'})),
        lambda r: r.secret == 'we"ird\\name',
    ),
    "unicode secret": (
        Query(secrets=frozenset({"ünïcode/ключ"})),
        lambda r: r.secret == "ünïcode/ключ",
    ),
    "two secrets": (
        Query(secrets=frozenset({"billing", "db/password"})),
        lambda r: r.secret in ("billing", "db/password"),
    ),
    "actor": (Query(actors=frozenset({"bob"})), lambda r: r.actor == "bob"),
    "actions": (
        Query(actions=frozenset({Action.REVOKED, Action.SECRET_UPDATED})),
        lambda r: r.action in (Action.REVOKED, Action.SECRET_UPDATED),
    ),
    "failed": (Query(failed_only=True), lambda r: not r.success),
    "org": (Query(orgs=frozenset({"acme"})), lambda r: r.org == "acme"),
    "range": (
        Query(since=T0 + 3 * DAY, until=T0 + 5 * DAY + timedelta(hours=2)),
        lambda r: T0 + 3 * DAY <= r.time <= T0 + 5 * DAY + timedelta(hours=2),
    ),
    "since only": (Query(since=T0 + 10 * DAY), lambda r: r.time >= T0 + 10 * DAY),
    "combined": (
        Query(
            since=T0 + 2 * DAY,
            secrets=frozenset({"billing/api-key", "db/password"}),
            failed_only=True,
            actors=frozenset({"alice", "ci-bot"}),
        ),
        lambda r: (
            r.time >= T0 + 2 * DAY
            and r.secret in ("billing/api-key", "db/password")
            and not r.success
            and r.actor in ("alice", "ci-bot")
        ),
    ),
}


@pytest.mark.parametrize("name", QUERIES)
def test_select_returns_exactly_the_matching_records_in_order(tmp_path: Path, name: str) -> None:
    log = write_log(tmp_path, _mixed_log(), archived=["2024-03-05", "2024-03-06"])
    query, expected = QUERIES[name]
    selection = select(tmp_path, query)
    got = list(selection)
    want = [r for r in log if expected(r)]
    assert want, "the log has records for every query"
    assert got == want
    assert selection.unreadable == 0


def test_select_a_secret_that_is_a_prefix_of_another(tmp_path: Path) -> None:
    write_log(
        tmp_path,
        numbered([record(secret="billing"), record(secret="billing-2"), record(secret="b")]),
    )
    assert [r.secret for r in select(tmp_path, Query(secrets=frozenset({"billing"})))] == [
        "billing"
    ]


def test_select_reads_only_the_days_in_range(tmp_path: Path) -> None:
    write_log(tmp_path, numbered(record(at=T0 + n * DAY) for n in range(5)))
    # Damaged files outside the range: a query that opened them would count their lines.
    for day in (T0 - DAY, T0 + 6 * DAY):
        (tmp_path / day_file_name(day.date())).write_bytes(b"not json\n{}\n")
    selection = select(tmp_path, Query(since=T0 + DAY, until=T0 + 3 * DAY))
    assert [r.seq for r in selection] == [2, 3, 4]
    assert selection.unreadable == 0
    everything = select(tmp_path, Query())
    assert len(list(everything)) == 5
    assert everything.unreadable == 4


def test_select_until_a_date_includes_that_whole_day(tmp_path: Path) -> None:
    last_moment = datetime(2024, 3, 5, 23, 59, 59, 999999, tzinfo=timezone.utc)
    write_log(
        tmp_path,
        numbered([record(at=last_moment), record(at=last_moment + timedelta(microseconds=1))]),
    )
    until = parse_when("2024-03-05", NOW, end_of_day=True)
    assert [r.time for r in select(tmp_path, Query(until=until))] == [last_moment]


def test_unreadable_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    write_log(tmp_path, numbered([record(at=T0), record(at=T0 + timedelta(minutes=1))]))
    path = tmp_path / day_file_name(T0.date())
    good = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(
        good[0] + b"\n" + b"garbage\n" + b'{"action":"secret_read"}\n' + good[1] + good[0][:40]
    )
    selection = select(tmp_path, Query())
    assert [r.seq for r in selection] == [1, 2]
    # A blank line, garbage, a JSON object that is no record, and a torn last line.
    assert selection.unreadable == 4


def test_the_byte_prefilter_skips_lines_without_parsing_them(tmp_path: Path) -> None:
    write_log(tmp_path, numbered([record(secret="wanted")]))
    path = tmp_path / day_file_name(T0.date())
    with open(path, "ab") as stream:
        stream.write(b'{"action":"secret_read","secret":"other", and then damage\n')
    wanted = select(tmp_path, Query(secrets=frozenset({"wanted"})))
    assert [r.secret for r in wanted] == ["wanted"]
    assert wanted.unreadable == 0
    everything = select(tmp_path, Query())
    assert len(list(everything)) == 1
    assert everything.unreadable == 1


def test_lines_not_in_canonical_form_are_parsed_in_full(tmp_path: Path) -> None:
    item = record(secret="wanted", success=False)
    path = tmp_path / day_file_name(T0.date())
    path.write_text(json.dumps(item.to_json(), indent=None, ensure_ascii=True) + "\n")
    assert list(select(tmp_path, Query(secrets=frozenset({"wanted"}), failed_only=True))) == [item]


@pytest.mark.parametrize(
    "query",
    [
        Query(secrets=frozenset({"wanted"})),
        Query(actors=frozenset({"wanted-actor"})),
        Query(actions=frozenset({Action.REVOKED})),
        Query(failed_only=True),
        Query(orgs=frozenset({"wanted-org"})),
    ],
)
def test_blocks_without_a_match_are_skipped_but_odd_lines_never(
    tmp_path: Path, query: Query
) -> None:
    # ~1.3 MB in one day file: about twenty 64 KiB blocks, matches in only a few.
    rare = {5, 1500, 2999}
    items = numbered(
        record(
            Action.REVOKED if n in rare else Action.SECRET_READ,
            "wanted" if n in rare else f"other{n % 7}",
            "wanted-actor" if n in rare else "someone",
            at=T0 + n * timedelta(seconds=1),
            success=n not in rare,
            org="wanted-org" if n in rare else "default",
            details={"padding": "x" * 200},
        )
        for n in range(3000)
    )
    write_log(tmp_path, items)
    path = tmp_path / day_file_name(T0.date())
    lines = path.read_bytes().split(b"\n")
    # A matching record written with spaces, in a block that has no other match, a blank
    # line and garbage: the odd lines must be read, the block cannot be skipped whole.
    odd = dataclasses.replace(items[5], seq=99999, id="odd")
    lines.insert(800, json.dumps(odd.to_json()).encode())
    lines.insert(2200, b"")
    lines.insert(2201, b"garbage")
    path.write_bytes(b"\n".join(lines))
    selection = select(tmp_path, query)
    assert [r.seq for r in selection] == [6, 99999, 1501, 3000]
    assert selection.unreadable == 2


def test_a_name_that_cannot_be_in_the_log_selects_nothing(tmp_path: Path) -> None:
    write_log(tmp_path, numbered([record()]))
    # A lone surrogate: what a mis-encoded command-line argument decodes to.
    assert list(select(tmp_path, Query(secrets=frozenset({"bad\udcff"})))) == []


def test_a_damaged_archive_stops_the_query_naming_the_file(tmp_path: Path) -> None:
    write_log(tmp_path, numbered([record()]), archived=[T0.date().isoformat()])
    archive = tmp_path / (day_file_name(T0.date()) + ".gz")
    archive.write_bytes(archive.read_bytes()[:-12])
    with pytest.raises(SourceError, match=archive.name):
        list(select(tmp_path, Query()))


def test_a_missing_folder_selects_nothing(tmp_path: Path) -> None:
    selection = select(tmp_path / "absent", Query())
    assert list(selection) == []
    assert selection.unreadable == 0


def test_select_streams_in_flat_memory(tmp_path: Path) -> None:
    count = 15_000
    write_log(
        tmp_path,
        numbered(record(at=T0 + n * timedelta(minutes=1)) for n in range(count)),
    )
    log_bytes = sum(p.stat().st_size for p in tmp_path.iterdir())
    tracemalloc.start()
    try:
        seen = sum(1 for _ in select(tmp_path, Query()))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    # ~6 MB of log read; what stays is one read block, one line and one record.
    assert log_bytes > 5_000_000
    assert peak < 1_000_000, peak


def test_select_is_lazy(tmp_path: Path) -> None:
    write_log(tmp_path, numbered([record(at=T0), record(at=T0 + DAY)]))
    selection = select(tmp_path, Query())
    assert next(selection).seq == 1
    # The second day is opened only now: its damage shows up on reading it, not before.
    (tmp_path / day_file_name((T0 + DAY).date())).write_bytes(b"damaged\n")
    assert list(selection) == []
    assert selection.unreadable == 1


# The prefilter never rejects a record the query selects, however its fields are spelled.

_names = st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=12) | st.sampled_from(
    ['"', "\\", '\\"', "a\nb", "\u2028", "/", "é", "\x7f", '"secret":"x"']
)


@settings(max_examples=300, deadline=None)
@given(
    secret=_names,
    actor=_names,
    org=_names,
    detail=_names,
    success=st.booleans(),
    action=st.sampled_from(list(Action)),
)
def test_prefilter_never_rejects_a_matching_record(
    secret: str, actor: str, org: str, detail: str, success: bool, action: Action
) -> None:
    item = record(
        action,
        secret,
        actor,
        org=org,
        success=success,
        details={detail: detail, "secret": detail},
        source=Source.API,
    )
    line = item.line()[:-1]
    for query in (
        Query(secrets=frozenset({secret})),
        Query(actors=frozenset({actor}), orgs=frozenset({org})),
        Query(actions=frozenset({action}), failed_only=not success),
        Query(secrets=frozenset({secret, detail}), actors=frozenset({actor, "x"})),
    ):
        check = prefilter(query)
        assert check is not None
        assert query.matches(item)
        assert check(line)


@pytest.mark.parametrize(
    "query",
    [
        Query(secrets=frozenset({"bill"})),
        Query(secrets=frozenset({"billing/"})),
        Query(actors=frozenset({"alic"})),
        Query(orgs=frozenset({"acme"})),
        Query(failed_only=True),
        Query(actions=frozenset({Action.REVOKED, Action.SECRET_CREATED})),
        Query(secrets=frozenset({"billing"}), actors=frozenset({"bob"})),
    ],
)
def test_prefilter_rejects_what_cannot_match(query: Query) -> None:
    line = record(secret="billing", actor="alice").line()
    check = prefilter(query)
    assert check is not None
    assert not check(line)


def test_prefilter_is_none_without_a_field_condition() -> None:
    assert prefilter(Query()) is None
    assert prefilter(Query(since=NOW)) is None


def test_gzip_and_plain_files_of_one_day_are_read_once(tmp_path: Path) -> None:
    write_log(tmp_path, numbered([record()]))
    plain = tmp_path / day_file_name(T0.date())
    with gzip.open(plain.with_name(plain.name + ".gz"), "wb") as stream:
        stream.write(plain.read_bytes())
    assert len(list(select(tmp_path, Query()))) == 1
