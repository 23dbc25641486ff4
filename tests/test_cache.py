from __future__ import annotations

from pathlib import Path

import pytest

from leakstop import cache


def test_override_and_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKSTOP_CACHE_DIR", str(tmp_path / "c"))
    assert cache.cache_dir() == tmp_path / "c"
    assert cache.load("x.db") is None
    cache.store("x.db", b"data")
    assert cache.load("x.db") == b"data"
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["x.db"]  # no temp files left


def test_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LEAKSTOP_CACHE_DIR", str(blocker / "sub"))
    cache.store("x.db", b"data")  # must not raise
    assert cache.load("x.db") is None
