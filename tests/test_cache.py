from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import platformdirs
import pytest

from leakstop import cache

DAY = 24 * 3600


def _entry(number: int, kind: str = "hyperscan") -> str:
    return f"{kind}-{number:040x}.db"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "c"
    monkeypatch.setenv("LEAKSTOP_CACHE_DIR", str(folder))
    return folder


def _write(folder: Path, name: str, age_days: float) -> Path:
    """A file last used `age_days` ago."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"old")
    stamp = time.time() - age_days * DAY
    os.utime(path, (stamp, stamp))
    return path


def test_override_and_round_trip(folder: Path) -> None:
    assert cache.cache_dir() == folder
    assert cache.load(_entry(1)) is None
    cache.store(_entry(1), b"data")
    assert cache.load(_entry(1)) == b"data"
    assert [p.name for p in folder.iterdir()] == [_entry(1)]  # no temp files left


def test_default_is_the_platforms_user_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEAKSTOP_CACHE_DIR")
    expected = platformdirs.user_cache_dir("leakstop", appauthor=False)
    assert cache.cache_dir() == Path(expected)


def test_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LEAKSTOP_CACHE_DIR", str(blocker / "sub"))
    cache.store(_entry(1), b"data")  # must not raise
    assert cache.load(_entry(1)) is None


def test_names_must_be_entry_names(folder: Path) -> None:
    with pytest.raises(ValueError, match=r"kind-<hex key>\.ext"):
        cache.store("x.db", b"data")


def test_load_marks_the_entry_as_used(folder: Path) -> None:
    path = _write(folder, _entry(1), age_days=10)
    assert cache.load(_entry(1)) == b"old"
    assert time.time() - path.stat().st_mtime < DAY


def test_entries_unused_for_30_days_are_deleted(folder: Path) -> None:
    _write(folder, _entry(1), age_days=31)
    _write(folder, _entry(2, "reach").replace(".db", ".json"), age_days=45)
    _write(folder, _entry(3), age_days=29)
    cache.store(_entry(4), b"new")
    assert sorted(p.name for p in folder.iterdir()) == [_entry(3), _entry(4)]


def test_at_most_max_entries_stay_most_recently_used_first(folder: Path) -> None:
    for number in range(cache.MAX_ENTRIES + 5):
        _write(folder, _entry(number), age_days=number)  # entry 0 is the newest
    assert cache.load(_entry(cache.MAX_ENTRIES + 4)) == b"old"  # the oldest, used again
    cache.store(_entry(999), b"new")
    kept = {p.name for p in folder.iterdir()}
    assert len(kept) == cache.MAX_ENTRIES
    newest = {_entry(number) for number in range(cache.MAX_ENTRIES - 2)}
    assert kept == {_entry(999), _entry(cache.MAX_ENTRIES + 4), *newest}


def test_a_concurrent_write_survives_an_interrupted_one_does_not(folder: Path) -> None:
    _write(folder, f".{_entry(1)}.abc123", age_days=40)
    _write(folder, f".{_entry(2)}.def456", age_days=0.01)
    cache.store(_entry(3), b"new")
    assert sorted(p.name for p in folder.iterdir()) == [f".{_entry(2)}.def456", _entry(3)]


def test_files_not_named_like_entries_are_never_deleted(folder: Path) -> None:
    """LEAKSTOP_CACHE_DIR may point at a folder that holds other things."""
    others = ["notes.txt", "hyperscan-zz.db", "HYPERSCAN-00000000000000000000.DB", ".bashrc"]
    for name in others:
        _write(folder, name, age_days=400)
    old_folder = _write(folder, f"{_entry(7)}/inside", age_days=400).parent
    os.utime(old_folder, (0, 0))
    cache.store(_entry(1), b"new")
    assert sorted(p.name for p in folder.iterdir()) == sorted([*others, _entry(1), _entry(7)])
    assert old_folder.is_dir()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_symlink_named_like_an_entry_is_left_alone(folder: Path, tmp_path: Path) -> None:
    target = _write(tmp_path, "precious.txt", age_days=400)
    folder.mkdir()
    os.symlink(target, folder / _entry(5))
    cache.store(_entry(1), b"new")
    assert (folder / _entry(5)).is_symlink()
    assert target.read_bytes() == b"old"
