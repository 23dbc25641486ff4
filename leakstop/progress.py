"""A progress line on stderr for long scans: items done, megabytes, MB/s.

Shown only on a terminal, never in CI or with -q, and removed when the scan ends, so piped
output and logs stay clean. Its refresh thread starts at the first item, not on entry: a scan
forks its worker pool before the first item comes back, and no thread may run while it forks.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Any


class ScanProgress:
    def __init__(self, unit: str) -> None:
        # Imported here: rich.progress costs ~50 ms, and most runs show no progress line.
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self._unit = unit
        self._items = 0
        self._bytes = 0
        self._started = time.perf_counter()
        self._progress: Any = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self._task = self._progress.add_task("", total=None)
        self._started_display = False

    def __enter__(self) -> ScanProgress:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._started_display:
            self._progress.stop()

    def advance(self, items: int, size: int) -> None:
        if not self._started_display:
            self._started_display = True
            self._progress.start()
        self._items += items
        self._bytes += size
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        self._progress.update(
            self._task,
            description=f"{self._items} {self._unit}s · {self._bytes / 1e6:.1f} MB · "
            f"{self._bytes / 1e6 / elapsed:.1f} MB/s",
        )


def wanted(quiet: bool) -> bool:
    """A terminal, not CI, not -q."""
    return (
        sys.stderr.isatty() and not quiet and os.environ.get("CI", "").lower() not in ("true", "1")
    )
