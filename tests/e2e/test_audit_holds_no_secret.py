"""No audit record ever holds a secret value: plant secrets, run every command that writes
records, and search every byte under LEAKSTOP_HOME for them (and for long pieces of them)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from leakstop.cli import main
from tests.conftest import AWS_SECRET, GITHUB_TOKEN

pytestmark = pytest.mark.e2e

PASSWORD = "Hq7vLp2xZr9wQm4kTe"
PLANTED = (GITHUB_TOKEN, AWS_SECRET, PASSWORD)


def _pieces(secret: str, size: int = 12) -> set[str]:
    """Every run of `size` characters: a record must not hold part of a secret either."""
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def _everything_written(home: Path) -> bytes:
    data = b""
    for path in sorted(home.rglob("*")):
        if path.is_file():
            raw = path.read_bytes()
            data += gzip.decompress(raw) if path.suffix == ".gz" else raw
    return data


def test_commands_that_write_records_never_write_a_secret(
    private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", "a key for the test")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.env").write_text(
        f"GITHUB_TOKEN={GITHUB_TOKEN}\naws_secret_access_key = {AWS_SECRET}\n"
        f'db_password = "{PASSWORD}"\n'
    )
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\naudit:\n  anomalies:\n    failed_attempts: {count: 1, window: 1h}\n"
    )
    assert main(["respond", "--dry-run", "-j", "1"]) == 0
    log_file = next((private_home / "audit").glob("audit-*.jsonl"))
    with log_file.open("ab") as handle:
        handle.write(b'{"action":"secret_read"')  # a crash mid-write, then the repair
    assert main(["audit", "repair"]) == 0
    assert main(["audit", "anomalies", "--record"]) == 0
    assert main(["audit", "archive", "--older-than", "0d"]) == 0
    assert main(["audit", "prune", "--older-than", "3650d"]) == 0
    assert main(["audit", "verify"]) == 0

    written = _everything_written(private_home).decode("utf-8", "replace")
    assert written.count('"action":"finding_detected"') == 3  # the records are there
    for secret in PLANTED:
        for piece in _pieces(secret):
            assert piece not in written, f"part of a planted secret is in the audit log: {piece}"
