"""`read_entry` and `Sealer` (the one-encoding path of `audit verify`) against the two-encoding
path they replaced (`from_json(json.loads(...))`, `chain.check`, `Record.line()`): on any line
both accept the same, refuse the same with the same message, find the same seal and agree on
whether the line is canonical; `with_mac` builds exactly `Record.line()`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from leakstop.audit.chain import Seal, Sealer, check, seal
from leakstop.audit.entry import read_entry
from leakstop.audit.record import (
    Action,
    Record,
    Source,
    canonical,
    canonical_decoded,
    from_json,
    parse_timestamp,
    with_mac,
)
from leakstop.errors import AuditIntegrityError
from tests.audit.conftest import KEY
from tests.fuzz.strategies import SCALARS, fuzz_settings, json_data, keys_from
from tests.fuzz.test_audit_verify import RECORD_KEYS, RECORDS

#: Text that stresses the splice: the key after `mac`, quotes, escapes, non-ASCII, controls.
TRICKY = st.one_of(
    st.text(max_size=30),
    st.sampled_from(['","org":"', ',"org":', '"mac":"x"', "\\", '\\"', "é", "\u2028", "\x00"]),
)
DETAILS = json_data(
    keys_from(["org", "mac", "version", "files", "last_seq"]), st.one_of(SCALARS, TRICKY)
)
#: From year 1000: strftime writes year 999 as "999", which no record can hold.
TIMES = st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(timezone.utc)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
)
SEALED = st.builds(
    Record,
    action=st.sampled_from(list(Action)),
    secret=TRICKY,
    actor=TRICKY,
    source=st.sampled_from(list(Source)),
    org=TRICKY,
    details=st.dictionaries(keys_from(["org", "mac", "n"]), DETAILS, max_size=4),
    success=st.booleans(),
    error=st.one_of(st.none(), TRICKY),
    actor_ip=st.one_of(st.none(), TRICKY),
    id=TRICKY,
    timestamp=TIMES,
    seq=st.integers(-(2**70), 2**70),
    prev=TRICKY,
)


def old_path(data: bytes, key: bytes | None) -> tuple[Any, ...]:
    """What verify computed per line before `read_entry`."""
    try:
        record = from_json(json.loads(data.decode("utf-8")))
    except Exception as exc:  # noqa: BLE001 - the comparison is of any outcome
        return ("refused", type(exc), str(exc))
    try:
        is_canonical = record.line() == data + b"\n"
    except (TypeError, ValueError):
        is_canonical = False
    state = check(record, key)
    return (
        record.seq,
        record.prev,
        record.mac,
        record.time,
        record.action.value,
        state,
        is_canonical,
    )


def new_path(data: bytes, key: bytes | None) -> tuple[Any, ...]:
    try:
        entry = read_entry(data)
    except Exception as exc:  # noqa: BLE001
        return ("refused", type(exc), str(exc))
    assert entry.record().to_json() == entry.document
    state = Sealer(key).check(entry.mac, entry.signed)
    return (entry.seq, entry.prev, entry.mac, entry.time, entry.action, state, entry.canonical)


def _sealed_line(record: Record, key: bytes | None) -> bytes:
    return replace(record, mac=seal(record, key)).line()[:-1]


@fuzz_settings(150)
@given(record=SEALED, keyed=st.booleans())
def test_a_sealed_record_reads_back_valid_and_canonical(record: Record, keyed: bool) -> None:
    key = KEY if keyed else None
    try:
        line = _sealed_line(record, key)
    except (TypeError, ValueError):
        return  # content the writer refuses too (NaN, a lone surrogate)
    assert new_path(line, key) == old_path(line, key)
    entry = read_entry(line)
    assert Sealer(key).check(entry.mac, entry.signed) is Seal.VALID
    assert entry.canonical
    assert with_mac(record.signed_bytes(), entry.mac) == line
    assert Sealer(key).seal(record.signed_bytes()) == entry.mac


@fuzz_settings(150)
@given(document=RECORDS, keyed=st.booleans(), form=st.sampled_from(["dumps", "canonical"]))
@example(document={"action": "secret_read"}, keyed=True, form="dumps")
def test_any_record_shaped_line_gets_the_old_verdict(
    document: dict[str, Any], keyed: bool, form: str
) -> None:
    key = KEY if keyed else None
    try:
        data = json.dumps(document).encode() if form == "dumps" else canonical(document)
    except (TypeError, ValueError):
        data = json.dumps(document).encode()
    assert new_path(data, key) == old_path(data, key)


@fuzz_settings(150)
@given(data=st.binary(max_size=200), keyed=st.booleans())
@example(data=b" {}", keyed=False)
@example(data=b"{} {}", keyed=False)
@example(data=b"\xff", keyed=False)
def test_any_bytes_get_the_old_verdict(data: bytes, keyed: bool) -> None:
    key = KEY if keyed else None
    assert new_path(data, key) == old_path(data, key)


@fuzz_settings(150)
@given(document=st.dictionaries(keys_from(["org", "mac"]), DETAILS, max_size=6))
def test_canonical_decoded_writes_what_canonical_writes(document: dict[str, Any]) -> None:
    outcomes = []
    for encode in (canonical, canonical_decoded):
        try:
            outcomes.append(encode(document))
        except ValueError as exc:  # NaN, infinity, a lone surrogate
            outcomes.append(type(exc))
    assert outcomes[0] == outcomes[1]


def reference_from_json(document: Any) -> Record:
    """`from_json` as it was before its quick path: every field through its own check."""
    if not isinstance(document, dict) or set(document) != set(RECORD_KEYS):
        raise AuditIntegrityError("not an audit record")
    strings = ("secret", "actor", "org", "id", "timestamp", "prev", "mac")
    try:
        if not isinstance(document["details"], dict):
            raise TypeError("details")
        if any(not isinstance(document[name], str) for name in strings):
            raise TypeError("string")
        if any(
            document[n] is not None and not isinstance(document[n], str)
            for n in ("error", "actor_ip")
        ):
            raise TypeError("optional string")
        if not isinstance(document["success"], bool):
            raise TypeError("success")
        if not isinstance(document["seq"], int) or isinstance(document["seq"], bool):
            raise TypeError("seq")
        fields = {
            **document,
            "action": Action(document["action"]),
            "source": Source(document["source"]),
        }
        record = Record(**fields)
        parse_timestamp(record.timestamp)
    except (ValueError, TypeError):
        raise AuditIntegrityError("not an audit record") from None
    return record


@fuzz_settings(200)
@given(document=RECORDS)
@example(
    document={
        **dict.fromkeys(RECORD_KEYS, ""),
        "action": "secret_read",
        "source": "cli",
        "details": {},
        "success": True,
        "error": None,
        "actor_ip": None,
        "seq": 1,
        "timestamp": "2026-01-10T09:00:00.000000Z",
    }
)
def test_from_json_accepts_and_refuses_what_it_did(document: dict[str, Any]) -> None:
    try:
        expected: Any = reference_from_json(document)
    except AuditIntegrityError:
        expected = AuditIntegrityError
    try:
        got: Any = from_json(document)
    except AuditIntegrityError:
        got = AuditIntegrityError
    assert got == expected
    if isinstance(got, Record):
        assert got.time == parse_timestamp(document["timestamp"])
        assert type(got.action) is Action
        assert type(got.source) is Source
