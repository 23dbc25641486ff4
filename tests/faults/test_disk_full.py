"""Disk full during an audit append or a local store write, for real: the leakstop process
writes to a tmpfs of 256 KiB that a filler file has filled (ENOSPC; needs permission to
mount, as root on the CI runner with sudo or here), or runs under RLIMIT_FSIZE, so that the
kernel cuts its write short part way through a record (EFBIG; works anywhere on POSIX).

Each time: `store set` fails with one error line and exit code 2; the store still reads the
previous value; `audit verify` passes; no temporary file is left; and once there is room
again the next command works and the log still verifies."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e]

MASTER = "master key of the disk full tests"
AUDIT = "audit key of the disk full tests"
NAME = "billing/api-key"
FIRST = "first-Value-NEVER-SHOWN-71c4"


def _leakstop(
    home: Path, *args: str, stdin: str = "", limit: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LEAKSTOP_HOME": str(home),
        "LEAKSTOP_MASTER_KEY": MASTER,
        "LEAKSTOP_AUDIT_KEY": AUDIT,
    }
    return subprocess.run(
        [sys.executable, "-m", "leakstop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=limit,
        timeout=120,
        cwd=home.parent,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("leakstop: error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _intact(home: Path, value: str) -> None:
    """The store reads `value`, the audit log verifies, and no write left a temporary."""
    got = _leakstop(home, "store", "get", NAME)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == value
    verified = _leakstop(home, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    leftovers = [p for p in home.rglob(".tmp-*")] + [p for p in home.rglob("*.tmp")]
    assert leftovers == []


def _prepared(home: Path) -> None:
    assert _leakstop(home, "store", "init").returncode == 0
    put = _leakstop(home, "store", "set", NAME, stdin=FIRST)
    assert put.returncode == 0, put.stderr


@pytest.fixture
def tmpfs_home(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (the RLIMIT_FSIZE tests cover disk full)")
    try:
        yield mount_point / "home"
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """A file that takes all the room but `leave` bytes (tmpfs counts in pages)."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError:
        pass
    finally:
        if leave:
            os.ftruncate(descriptor, max(0, filler.stat().st_size - leave))
        os.close(descriptor)
    return filler


@pytest.mark.parametrize("room", [0, 4096])
def test_a_full_disk_fails_the_write_and_keeps_store_and_log_whole(
    tmpfs_home: Path, room: int
) -> None:
    _prepared(tmpfs_home)
    filler = _fill(tmpfs_home.parent, room)

    failed = _leakstop(tmpfs_home, "store", "set", NAME, "--generate")
    line = _one_error_line(failed)
    assert "No space left on device" in line or "disk full" in line, line
    # Reads are audited too, so the store is read back once there is room again.
    filler.unlink()
    _intact(tmpfs_home, FIRST)

    again = _leakstop(tmpfs_home, "store", "set", NAME, stdin="second-Value-NEVER-SHOWN-2b9e")
    assert again.returncode == 0, again.stderr
    _intact(tmpfs_home, "second-Value-NEVER-SHOWN-2b9e")


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        # A write past the limit then fails with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("slack", [0, 40, 300])
def test_a_write_cut_short_part_way_through_a_record_is_set_aside(
    tmp_path: Path, slack: int
) -> None:
    home = tmp_path / "home"
    _prepared(home)
    biggest = max(p.stat().st_size for p in home.rglob("*") if p.is_file())
    # Any file may grow only `slack` bytes beyond the biggest one there is: the audit day
    # file's next record, or the secret's rewritten file, is cut short mid-write.
    failed = _leakstop(
        home, "store", "set", NAME, "--generate", limit=_file_size_limit(biggest + slack)
    )
    line = _one_error_line(failed)
    assert "File too large" in line or "disk full" in line, line
    _intact(home, FIRST)

    again = _leakstop(home, "store", "set", NAME, stdin="second-Value-NEVER-SHOWN-2b9e")
    assert again.returncode == 0, again.stderr
    _intact(home, "second-Value-NEVER-SHOWN-2b9e")
