"""The scanner on arbitrary bytes: `Detector.hits` and `Detector.place` never raise, every
finding lies inside the input, and no redaction or context line shows the secret."""

from __future__ import annotations

import base64
import codecs
import urllib.parse

from hypothesis import example, given
from hypothesis import strategies as st

from leakstop.rules import load_builtin_rules
from leakstop.scanner.detector import Detector, Hit
from leakstop.scanner.text import SNIFF_BYTES, sniff, to_scannable
from tests.conftest import AWS_KEY_ID, AWS_SECRET, GITHUB_TOKEN
from tests.fuzz.strategies import fuzz_settings

#: Every built-in rule's positive examples: fragments that do hold secrets, so generated
#: files reach validators, decoders and the context masking, not only the prefilter.
_POSITIVES = sorted({example.text for rule in load_builtin_rules() for example in rule.positives})


def _encodings(text: str) -> list[bytes]:
    raw = text.encode("utf-8")
    return [
        raw,
        base64.b64encode(raw),
        urllib.parse.quote(text).encode(),
        text.encode("unicode_escape"),
        codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    ]


FRAGMENTS = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(_POSITIVES).map(str.encode),
    st.sampled_from(_POSITIVES).flatmap(lambda text: st.sampled_from(_encodings(text))),
    st.sampled_from([b"\n", b"\r\n", b"\x00", b'"', b"'''", b"=", b": ", b"password=", b"\xff"]),
    st.sampled_from([GITHUB_TOKEN, AWS_KEY_ID, AWS_SECRET]).map(str.encode),
)
FILES = st.lists(FRAGMENTS, max_size=12).map(b"".join)
PATHS = st.sampled_from(["a.txt", "config.py", ".env", "docs/x.md", "id_rsa", "package-lock.json"])


def _line_count(data: bytes) -> int:
    return to_scannable(data, sniff(data[:SNIFF_BYTES])).count(b"\n") + 1


def _check_hit(hit: Hit, data: bytes) -> None:
    lines = _line_count(data)
    assert 1 <= hit.line <= hit.end_line <= lines, (hit.line, hit.end_line, lines)
    assert hit.column >= 1
    assert hit.end_column >= 1
    assert hit.line < hit.end_line or hit.column <= hit.end_column
    assert hit.secret, "a hit with an empty secret"


@fuzz_settings(120)
@given(data=FILES, path=PATHS)
@example(data=f"token = '{GITHUB_TOKEN}'\n".encode(), path="a.txt")
@example(data=codecs.BOM_UTF16_LE + f"k={GITHUB_TOKEN}".encode("utf-16-le"), path="a.txt")
def test_hits_lie_inside_the_input_and_never_show_the_secret(
    detector: Detector, data: bytes, path: str
) -> None:
    hits = detector.hits(data, path)
    for hit in hits:
        _check_hit(hit, data)
    for finding in detector.place(hits, path):
        assert finding.secret not in finding.redacted
        if len(finding.secret) >= 8:
            assert finding.secret not in finding.context, finding.rule_id


@fuzz_settings(60)
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(detector: Detector, data: bytes) -> None:
    for hit in detector.hits(data, "file.bin"):
        _check_hit(hit, data)


def test_a_known_secret_is_found_so_the_properties_are_not_vacuous(detector: Detector) -> None:
    hits = detector.hits(f"token = '{GITHUB_TOKEN}'\n".encode(), "a.txt")
    assert [hit.secret for hit in hits] == [GITHUB_TOKEN]
