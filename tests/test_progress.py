"""The progress line: shown on a terminal only, and what it says."""

from __future__ import annotations

import io
import sys

import pytest

from leakstop import progress
from leakstop.progress import ScanProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "ci", "quiet", "expected"),
    [
        (True, None, False, True),
        (False, None, False, False),  # piped or redirected
        (True, "true", False, False),  # CI logs are not terminals, whatever they claim
        (True, "1", False, False),
        (True, None, True, False),  # -q
        (True, "false", False, True),
    ],
)
def test_shown_only_on_a_terminal_outside_ci(
    monkeypatch: pytest.MonkeyPatch, tty: bool, ci: str | None, quiet: bool, expected: bool
) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal() if tty else io.StringIO())
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert progress.wanted(quiet) is expected


def test_reports_items_megabytes_and_rate_then_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with ScanProgress("blob") as line:
        line.advance(3, 1_500_000)
        line.advance(2, 500_000)
    shown = terminal.getvalue()
    assert "5 blobs · 2.0 MB · " in shown
    assert "MB/s" in shown
    # transient: the line is erased at the end (cursor up / erase line), not left in the log
    assert shown.rstrip().endswith(("\x1b[2K", "\x1b[?25h"))


def test_no_thread_runs_until_the_first_item(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan forks its worker pool inside the progress context, before the first item:
    a refresh thread running at that moment could leave a lock held in every worker."""
    import threading

    def refreshing() -> list[threading.Thread]:
        # rich's refresh thread (rich.live._RefreshThread); other tests may leave threads.
        return [t for t in threading.enumerate() if type(t).__name__ == "_RefreshThread"]

    # rich stops a refresh thread by signalling it, without waiting: one from an earlier
    # progress line may still be finishing on a busy machine. One that never ends is a leak.
    for thread in refreshing():
        thread.join(10)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    with ScanProgress("file") as line:
        assert refreshing() == []
        line.advance(1, 10)
        assert len(refreshing()) == 1
