"""What the HTTP fault tests share: a `leakstop` command run as a user runs it (timed, its
output captured), the one error line a failed run must print, and the audit trail read back
after `leakstop audit verify` passed."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from leakstop.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str, float]:
    """(exit code, stdout, stderr, seconds) of `leakstop ARGV`."""
    started = time.monotonic()
    code = main(list(argv))
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    return code, captured.out, captured.err, elapsed


def error_line(err: str) -> str:
    """The one `leakstop: error:` line of a failed run (no traceback)."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("leakstop: error:")]
    assert len(lines) == 1, err
    return lines[0]


def verified_records(capsys: pytest.CaptureFixture[str], secret: str) -> list[dict[str, Any]]:
    """`secret`'s audit records, once `leakstop audit verify` has passed on the whole log."""
    assert main(["audit", "verify"]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["audit", "query", "--secret", secret, "-f", "json"]) == 0
    records: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return records
