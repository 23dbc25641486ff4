"""What the HTTP fault tests share: a `leakstop` command run as a user runs it (timed, its
output captured), the one error line a failed run must print, the audit trail verified and
read back, no value in the audit log or the output, and the run that finishes the rotation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from leakstop.cli import main
from tests.rotator.providers.webhook_receiver import Receiver


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


def never_written(private_home: Path, values: Iterable[bytes], *texts: str) -> None:
    """None of `values` is in the audit log or in any of `texts` (a run's output)."""
    written = b"".join(p.read_bytes() for p in (private_home / "audit").glob("*.jsonl"))
    for value in values:
        assert value not in written
        for text in texts:
            assert value.decode() not in text


def resume_completes(
    capsys: pytest.CaptureFixture[str],
    secret: str,
    old: bytes,
    receiver: Receiver,
    current_works: Callable[[], bytes],
) -> None:
    """The next run (`rotate --resume`), with the store well again, completes the rotation:
    `current_works` (the store's own checks) gives a new value, the only one the service
    accepts, and the audit trail ends with the rotation completed."""
    code, _out, err, _ = rotate(capsys, secret, "--resume")
    assert code == 0, err
    new = current_works()
    assert new != old
    assert receiver.working == {new}
    assert verified_records(capsys, secret)[-1]["action"] == "rotation_completed"
