"""`audit verify` on truncated and edited logs: it reports a break (or a torn tail), never
raises, and it never calls a changed log intact."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from leakstop.audit.verify import ProblemKind, verify
from tests.audit.conftest import KEY, Clock, build_log, day_paths
from tests.fuzz.strategies import SCALARS, TIMESTAMPS, fuzz_settings, json_data, keys_from

RECORD_KEYS = [
    "action",
    "secret",
    "actor",
    "source",
    "org",
    "details",
    "success",
    "error",
    "actor_ip",
    "id",
    "timestamp",
    "seq",
    "prev",
    "mac",
]
#: A record-shaped JSON object: every field present, each of any type, or a likely one.
RECORDS = st.fixed_dictionaries(
    {
        "action": st.one_of(st.sampled_from(["secret_read", "log_pruned"]), SCALARS),
        "secret": st.one_of(st.just("billing/key-0"), SCALARS),
        "actor": st.one_of(st.just("alice"), SCALARS),
        "source": st.one_of(st.just("cli"), SCALARS),
        "org": st.one_of(st.just("default"), SCALARS),
        "details": json_data(keys_from(["n", "files", "last_seq", "last_mac"])),
        "success": st.one_of(st.booleans(), SCALARS),
        "error": SCALARS,
        "actor_ip": SCALARS,
        "id": st.one_of(st.uuids().map(str), SCALARS),
        "timestamp": TIMESTAMPS,
        "seq": st.one_of(st.integers(-2, 20), SCALARS),
        "prev": st.one_of(st.just(""), SCALARS),
        "mac": st.one_of(st.sampled_from(["sha256:", "hmac-sha256:" + "0" * 64]), SCALARS),
    }
)


_TEMPLATES: dict[bytes | None, Path] = {}


def _build(folder: Path, key: bytes | None) -> list[Path]:
    """A real log of two day files: built once per key, copied for each example (building
    one takes ~0.1 s of locking and fsync)."""
    if key not in _TEMPLATES:
        template = Path(tempfile.mkdtemp(prefix="leakstop-fuzz-audit-")) / "audit"
        build_log(template, key, Clock(), days=(0, 1), per_day=3)
        _TEMPLATES[key] = template
    shutil.copytree(_TEMPLATES[key], folder)
    return day_paths(folder)


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, int, Any]:
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "replace", "delete", "swap"]))
    return (
        kind,
        draw(st.integers(0, 10_000)),
        draw(st.one_of(st.binary(max_size=40), RECORDS.map(lambda r: json.dumps(r).encode()))),
    )


def _apply(path: Path, edit: tuple[str, int, Any]) -> None:
    kind, where, payload = edit
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    spot = where % max(1, len(data))
    line = where % max(1, len(lines))
    if not data and kind != "insert":
        return  # an earlier edit emptied the file
    if kind == "truncate":
        data = data[:spot]
    elif kind == "flip":
        data = data[:spot] + bytes([data[spot] ^ (1 + where % 255)]) + data[spot + 1 :]
    elif kind == "insert":
        data = data[:spot] + payload + data[spot:]
    elif kind == "replace":
        lines[line] = payload + b"\n"
        data = b"".join(lines)
    elif kind == "delete":
        del lines[line]
        data = b"".join(lines)
    else:
        lines[line], lines[-1] = lines[-1], lines[line]
        data = b"".join(lines)
    path.write_bytes(data)


@fuzz_settings(80)
@given(
    keyed=st.booleans(),
    file_index=st.integers(0, 1),
    changes=st.lists(edits(), min_size=1, max_size=3),
)
@example(
    keyed=False,
    file_index=1,
    changes=[("replace", 0, b'{"timestamp": "0001-01-01T00:00:00+05:00"}')],
)
def test_an_edited_log_is_reported_never_a_crash(
    keyed: bool, file_index: int, changes: list[tuple[str, int, Any]]
) -> None:
    key = KEY if keyed else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "audit"
        paths = _build(folder, key)
        path = paths[file_index]
        before = path.read_bytes()
        for change in changes:
            _apply(path, change)
        result = verify(folder, key)
        if path.read_bytes() != before:
            assert not result.ok or result.torn is not None, result


@fuzz_settings(80)
@given(record=RECORDS, keyed=st.booleans())
@example(
    record={
        **dict.fromkeys(RECORD_KEYS, ""),
        "details": {"n": float("nan")},
        "seq": 1,
        "success": True,
        "action": "secret_read",
        "source": "cli",
        "error": None,
        "actor_ip": None,
        "timestamp": "2026-01-11T09:00:00Z",
        "mac": "sha256:00",
    },
    keyed=False,
)
def test_an_appended_record_of_any_shape_is_reported_never_a_crash(
    record: dict[str, Any], keyed: bool
) -> None:
    key = KEY if keyed else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "audit"
        path = _build(folder, key)[-1]
        with path.open("ab") as stream:
            stream.write(json.dumps(record).encode() + b"\n")
        result = verify(folder, key)
        assert not result.ok, result


def test_an_untouched_log_verifies() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "audit"
        _build(folder, KEY)
        result = verify(folder, KEY)
        assert result.ok, result
        assert result.records == 6


def test_a_line_nested_too_deeply_is_reported_never_a_crash() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "audit"
        path = _build(folder, None)[-1]
        with path.open("ab") as stream:
            stream.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")
        result = verify(folder, None)
        assert result.problem is not None
        assert result.problem.kind is ProblemKind.UNREADABLE
