"""`read_entry`: one line of the log decoded and encoded once for `audit verify`, on the lines
an editor of the file would write."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from leakstop.audit.chain import Seal, Sealer, seal
from leakstop.audit.entry import read_entry
from leakstop.audit.record import Action, Record, Source, canonical, utc_timestamp, with_mac
from leakstop.errors import AuditIntegrityError
from tests.audit.conftest import KEY, START


def sealed(**fields: object) -> bytes:
    """A record's line as the writer makes it, without its newline."""
    record = Record(
        Action.SECRET_READ,
        "billing/key",
        "alice",
        Source.CLI,
        timestamp=utc_timestamp(START),
        seq=7,
        prev="hmac-sha256:" + "1" * 64,
    )
    record = replace(record, **fields)  # type: ignore[arg-type]
    return replace(record, mac=seal(record, KEY)).line()[:-1]


def verdict(data: bytes) -> tuple[Seal, bool]:
    entry = read_entry(data)
    return Sealer(KEY).check(entry.mac, entry.signed), entry.canonical


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"org": "x"},
        {"a": 1, "org": {"org": ',"org":"'}, "mac": "hmac-sha256:" + "0" * 64},
        {"text": 'quote " backslash \\ newline \n é \u2028 \x00'},
        {"n": 12345678901234567890123, "f": 0.1, "list": [None, True, "org"]},
    ],
)
def test_a_sealed_line_is_valid_canonical_and_its_fields_read_back(details: dict) -> None:
    data = sealed(details=details, secret='a,"org":"b', org='o","org":"')
    entry = read_entry(data)
    assert verdict(data) == (Seal.VALID, True)
    assert (entry.seq, entry.action, entry.details) == (7, "secret_read", details)
    assert entry.time == START
    assert entry.record().line() == data + b"\n"


def test_with_mac_builds_the_writer_s_line_from_one_encoding() -> None:
    record = Record(Action.ROLLBACK, "s", "a", Source.API, details={"org": 1}, mac="sha256:ab")
    assert with_mac(record.signed_bytes(), record.mac) + b"\n" == record.line()


def _moved_mac_to_the_end(data: bytes) -> bytes:
    document = json.loads(data)
    mac = document.pop("mac")
    return canonical(document)[:-1] + b',"mac":' + json.dumps(mac).encode() + b"}"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # The seal still matches: only the canonical-form check can see these.
        (lambda data: data.replace(b'","', b'", "', 1), (Seal.VALID, False)),
        (lambda data: data.replace(b'{"action"', b'{"success":true,"action"'), (Seal.VALID, False)),
        (_moved_mac_to_the_end, (Seal.VALID, False)),
        (lambda data: data.replace(b'"seq":7', b'"seq":7.0'), None),
        (lambda data: data.replace(b'"alice"', b'"mallory"'), (Seal.BROKEN, True)),
        (lambda data: data.replace(b'"alice"', b'"\\u0061lice"'), (Seal.VALID, False)),
    ],
)
def test_edits_are_seen_as_before(edit, expected) -> None:  # type: ignore[no-untyped-def]
    data = edit(sealed())
    if expected is None:
        with pytest.raises(AuditIntegrityError, match="not an audit record"):
            read_entry(data)
    else:
        assert verdict(data) == expected


def test_content_that_cannot_be_encoded_matches_no_seal() -> None:
    data = sealed().replace(b'"details":{}', b'"details":{"n":NaN}')
    entry = read_entry(data)
    assert entry.signed is None
    assert verdict(data) == (Seal.BROKEN, False)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", ValueError),
        (b"{}", AuditIntegrityError),
        (b" " + b"{}", AuditIntegrityError),
        (b"[" * 100_000 + b"]" * 100_000, RecursionError),
        (b"\xff", ValueError),
    ],
)
def test_lines_that_are_not_records_raise_as_from_json_does(data: bytes, error: type) -> None:
    with pytest.raises(error):
        read_entry(data)


def test_without_the_c_encoder_the_verdicts_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [sealed(details={"org": ',"org":'}), sealed().replace(b'","', b'", "', 1)]
    expected = [verdict(data) for data in lines]
    monkeypatch.setattr("leakstop.audit.record._C_ENCODER", None)
    assert (
        [verdict(data) for data in lines] == expected == [(Seal.VALID, True), (Seal.VALID, False)]
    )
