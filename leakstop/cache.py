"""A per-user cache directory for things that are slow to build and safe to rebuild
(compiled Hyperscan databases). Every failure to read or write it is silent: the cache
only ever saves time."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """`$LEAKSTOP_CACHE_DIR`, else the platform's user cache folder."""
    override = os.environ.get("LEAKSTOP_CACHE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "leakstop" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "leakstop"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "leakstop"


def load(name: str) -> bytes | None:
    try:
        return (cache_dir() / name).read_bytes()
    except OSError:
        return None


def store(name: str, data: bytes) -> None:
    """Write atomically, so a concurrent run never reads half a file."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, folder / name)
    except OSError as exc:
        log.debug("cannot write the cache in %s: %s", folder, exc)
