"""The search behind test_no_secret_escapes finds a secret in each form an output could carry
it, and nothing in text that holds none: the leak test can fail."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse
from pathlib import Path

import pytest

from tests.e2e.secret_search import SecretSearch, Witness, snapshot

SECRET = "s3cr3t/P@ss+word=Zq9"


def _found(data: bytes) -> set[str]:
    return {hit.encoding for hit in SecretSearch({"password": SECRET}).find("here", data)}


@pytest.mark.parametrize("prefix", ["", "u", "us", "user:", "admin:x", "postgres:"])
def test_base64_of_any_text_holding_the_secret_is_found(prefix: str) -> None:
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(f"{prefix}{SECRET}@host".encode())
        assert _found(b"Authorization: Basic " + encoded + b"\n"), (prefix, encoded)
        assert _found(encoded.rstrip(b"=")), prefix


@pytest.mark.parametrize(
    "data",
    [
        SECRET.encode(),
        urllib.parse.quote(SECRET, safe="").encode(),
        urllib.parse.urlencode({"password": SECRET}).encode(),
        SECRET.encode().hex().encode(),
        SECRET.encode().hex().upper().encode(),
        json.dumps({"v": SECRET + "\n"}).encode(),
        json.dumps({"v": SECRET}).replace("/", "\\/").encode(),
    ],
)
def test_each_form_is_found(data: bytes) -> None:
    assert _found(b"before " + data + b" after")


def test_a_multiline_secret_is_found_json_escaped() -> None:
    key = "-----BEGIN KEY-----\nMIIEabc\ndef/+==\n-----END KEY-----\n"
    search = SecretSearch({"key": key})
    assert [h.encoding for h in search.find("x", json.dumps({"k": key}).encode())] == [
        "json-escaped"
    ]


def test_text_without_the_secret_is_clean() -> None:
    redacted = f"password {SECRET[:2]}…{SECRET[-4:]} fingerprint {base64.b64encode(b'other')!r}"
    assert not _found(redacted.encode())
    assert not _found(base64.b64encode(SECRET[:-3].encode()))


def test_the_witness_reads_new_and_changed_files_and_gunzips(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text(SECRET)  # there before: the planted copy
    (tmp_path / "changed.txt").write_text("nothing")
    before = snapshot([tmp_path])
    (tmp_path / "changed.txt").write_text(f"now {SECRET}")
    (tmp_path / "log.gz").write_bytes(gzip.compress(SECRET.encode()))
    witness = Witness()
    witness.add_files([tmp_path], before)
    places = {hit.place for hit in witness.hits(SecretSearch({"password": SECRET}))}
    assert places == {
        f"file {tmp_path / 'changed.txt'}",
        f"file {tmp_path / 'log.gz'} (gunzipped)",
    }
