"""The lines around a finding, read from its file on disk, for verifiers that need a part no
rule reports (an Azure account name, a database URL, a Shopify shop domain)."""

from __future__ import annotations

import threading
from pathlib import Path

from leakstop.finding import Finding

#: Lines above and below the finding's own.
NEARBY_LINES = 5
#: Files larger than this are not read again.
MAX_FILE_BYTES = 2 * 1024 * 1024


class NearbyText:
    """Thread-safe, each file read at most once per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lines: dict[str, list[str] | None] = {}
        self._lock = threading.Lock()

    def __call__(self, finding: Finding) -> str | None:
        # A history finding's file on disk may hold other text than its commit did.
        if finding.commit is not None:
            return None
        lines = self._read(finding.location.path)
        if lines is None:
            return None
        start = max(0, finding.location.line - 1 - NEARBY_LINES)
        return "\n".join(lines[start : finding.location.end_line + NEARBY_LINES])

    def _read(self, path: str) -> list[str] | None:
        with self._lock:
            if path not in self._lines:
                self._lines[path] = _lines(self.root / path)
            return self._lines[path]


def _lines(path: Path) -> list[str] | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
