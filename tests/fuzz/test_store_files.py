"""The local store's files, damaged: a secret file or org.json cut short, with bytes
flipped, or replaced by JSON of any shape gives StoreError (StoreDamagedError), never a
traceback, and never a value that was not written."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from leakstop.audit.log import AuditLog
from leakstop.errors import StoreError
from leakstop.store import LocalStore
from leakstop.store.paths import org_paths
from tests.fuzz.strategies import (
    DEEP_NESTING,
    SCALARS,
    TIMESTAMPS,
    check_message,
    fuzz_settings,
    json_data,
    keys_from,
)
from tests.store.conftest import ALICE, FAST, MASTER

VALUE = b"s3cr3t-value-0123456789"
_TEMPLATE: list[Path] = []

VERSION = st.fixed_dictionaries(
    {
        "version": st.one_of(st.integers(-1, 3), SCALARS),
        "created": TIMESTAMPS,
        "created_by": st.one_of(st.just("alice"), SCALARS),
        "kind": st.one_of(st.sampled_from(["bytes", "json"]), SCALARS),
        "state": st.one_of(st.sampled_from(["active", "revoked"]), SCALARS),
        "token": st.one_of(st.text(max_size=20), SCALARS),
    }
)
SECRET_DOCUMENTS = st.fixed_dictionaries(
    {
        "format": st.one_of(st.just("leakstop-secret/1"), SCALARS),
        "name": st.one_of(st.just("db"), SCALARS),
        "revision": st.one_of(st.integers(0, 3), SCALARS),
        "generation": st.one_of(st.integers(0, 3), SCALARS),
        "created": TIMESTAMPS,
        "updated": TIMESTAMPS,
        "next_version": st.one_of(st.integers(0, 3), SCALARS),
        "labels": st.one_of(
            st.dictionaries(st.sampled_from(["current", "pending", "x"]), SCALARS, max_size=3),
            SCALARS,
        ),
        "versions": st.one_of(st.lists(VERSION, max_size=3), SCALARS),
        "deleted": st.one_of(st.none(), TIMESTAMPS),
        "seal": st.one_of(st.text(max_size=10), SCALARS),
    }
)


def _store_home() -> Path:
    """A home with one org and one secret `db`: made once, copied for each example (the
    store and its audit log take ~50 ms to set up)."""
    if not _TEMPLATE:
        home = Path(tempfile.mkdtemp(prefix="leakstop-fuzz-store-"))
        audit = AuditLog.open(home / "audit", None)
        store = LocalStore.init(home, "default", MASTER, audit, ALICE, iterations=FAST)
        store.write("db", VALUE, None)
        _TEMPLATE.append(home)
    return _TEMPLATE[0]


def _read_after(damage: Any, target: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(_store_home(), home)
        paths = org_paths(home, "default")
        path = paths.secret("db") if target == "secret" else paths.org_file
        path.write_bytes(damage(path.read_bytes()))
        audit = AuditLog.open(home / "audit", None)
        try:
            store = LocalStore.open(home, "default", MASTER, audit, ALICE)
            value = store.read("db")
        except StoreError as exc:
            check_message(exc)
            return
        assert value == VALUE, "a damaged file gave a value that was never written"


@st.composite
def damages(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["cut", "flip", "json", "text", "edit"]))
    where = draw(st.integers(0, 10_000))
    if kind == "cut":
        return lambda raw: raw[: where % max(1, len(raw))]
    if kind == "flip":
        return lambda raw: (
            raw[: where % len(raw)]
            + bytes([raw[where % len(raw)] ^ (1 + where % 255)])
            + raw[where % len(raw) + 1 :]
        )
    if kind == "json":
        document = draw(SECRET_DOCUMENTS)
        return lambda _raw: json.dumps(document).encode()
    if kind == "edit":
        key = draw(st.sampled_from(["name", "created", "labels", "versions", "generation", "key"]))
        value = draw(json_data(keys_from(["current", "token", "version", "salt"])))
        return lambda raw: json.dumps({**json.loads(raw), key: value}).encode()
    text = draw(st.one_of(st.binary(max_size=80), DEEP_NESTING.map(str.encode)))
    return lambda _raw: text


@fuzz_settings(60)
@given(damage=damages(), target=st.sampled_from(["secret", "org"]))
@example(
    damage=lambda raw: json.dumps(
        {**json.loads(raw), "created": "0001-01-01T00:00:00+05:00"}
    ).encode(),
    target="secret",
)
@example(damage=lambda _raw: b"[" * 100_000 + b"]" * 100_000, target="secret")
def test_a_damaged_store_file_is_a_store_error(damage: Any, target: str) -> None:
    _read_after(damage, target)


def test_an_undamaged_store_reads_its_value() -> None:
    _read_after(lambda raw: raw, "secret")
