"""What the HTTP fault tests share: a `leakstop` command run as a user runs it (timed, its
output captured), the one error line a failed run must print, and the audit trail verified
and read back."""

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


def rotate(
    capsys: pytest.CaptureFixture[str], secret: str, *extra: str
) -> tuple[int, str, str, float]:
    """`leakstop rotate SECRET --apply EXTRA`, as `run`."""
    return run(capsys, "rotate", secret, "--apply", *extra)


def error_line(err: str, *saying: str) -> str:
    """The one `leakstop: error:` line of a failed run (no traceback); it says each of
    `saying`."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("leakstop: error:")]
    assert len(lines) == 1, err
    for part in saying:
        assert part in lines[0], lines[0]
    return lines[0]


def audit_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    """`leakstop audit verify` passes on the whole log."""
    assert main(["audit", "verify"]) == 0, capsys.readouterr()
    capsys.readouterr()


def verified_records(capsys: pytest.CaptureFixture[str], secret: str) -> list[dict[str, Any]]:
    """`secret`'s audit records, once `leakstop audit verify` has passed on the whole log."""
    audit_verifies(capsys)
    assert main(["audit", "query", "--secret", secret, "-f", "json"]) == 0
    records: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return records
