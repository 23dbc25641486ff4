"""The store under real processes: concurrent check-and-set writers, readers during a master-key
rotation, a rotation killed halfway, and damage or a wrong key meeting the installed CLI."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.store import LocalStore
from tests.conftest import installed_tool

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MASTER = "e2e master key"
NEW_MASTER = "e2e new master key"
AUDIT_KEY = "e2e audit key"
PLANTED = "Zq8-e2e-planted-value-5c2a"
#: Every command line this module starts, to show no value was ever on one.
ARGVS: list[list[str]] = []


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKSTOP_", "GITHUB_"))}
    base = {
        "LEAKSTOP_HOME": str(home),
        "LEAKSTOP_MASTER_KEY": MASTER,
        "LEAKSTOP_AUDIT_KEY": AUDIT_KEY,
    }
    return {**env, **base, **extra}


def _leakstop(
    home: Path, *argv: str, stdin: bytes = b"", **extra: str
) -> subprocess.CompletedProcess[bytes]:
    command = [installed_tool("leakstop") or "leakstop", "store", *argv]
    ARGVS.append(command)
    return subprocess.run(
        command, input=stdin, capture_output=True, env=_env(home, **extra), cwd=home, timeout=120
    )


def _worker(home: Path, *argv: str, **extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tests.e2e.store_worker", *argv]
    ARGVS.append(command)
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(home, **extra), cwd=ROOT
    )


def _store(home: Path, secrets: int = 0) -> LocalStore:
    audit_log = AuditLog.open(home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(
        home, "default", MASTER.encode(), audit_log, Context("setup", Source.API), iterations=1000
    )
    for i in range(secrets):
        store.write(f"secret-{i}", f"value-{i}".encode(), None)
    return store


def test_eight_writers_doing_check_and_set_never_lose_an_update(private_home: Path) -> None:
    store = _store(private_home)
    store.write("counter", b"start", None)
    workers = [_worker(private_home, "cas", "counter", "12") for _ in range(8)]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()
        results.append(json.loads(out))
    won = [tuple(item) for result in results for item in result["won"]]
    assert sum(len(r["won"]) + r["lost"] for r in results) == 8 * 12  # each won or lost
    versions = store.versions("counter")
    assert len(versions) == 1 + len(won)  # every win is a version: none overwrote another
    assert sorted(number for number, _value in won) == list(range(2, 2 + len(won)))
    for number, value in won:
        assert store.read("counter", version=number) == value.encode()


def test_cli_writers_with_the_same_expected_version_one_wins(private_home: Path) -> None:
    _store(private_home).write("db", b"v1", None)
    command = [
        installed_tool("leakstop") or "leakstop",
        "store",
        "set",
        "db",
        "--expect-version",
        "1",
    ]
    procs = [
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(private_home),
            cwd=private_home,
        )
        for _ in range(8)
    ]
    ARGVS.extend([command] * 8)
    for i, proc in enumerate(procs):
        assert proc.stdin is not None
        proc.stdin.write(f"{PLANTED}-{i}".encode())
        proc.stdin.close()
    outcomes = [(proc.wait(timeout=120), proc.stderr.read().decode()) for proc in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _err in outcomes) == [0] + [2] * 7
    for code, err in outcomes:
        if code == 2:
            assert err.splitlines() == [
                "leakstop: error: db changed: its latest version is 2, not 1; "
                "read it again and retry"
            ]


def test_a_reader_during_rotate_key_never_fails(private_home: Path) -> None:
    _store(private_home, secrets=200)  # the reader reads 40 of them; the rotation takes all
    stop = private_home / "stop"
    reader = _worker(private_home, "read", str(stop), "40")
    time.sleep(0.5)
    rotated = _leakstop(private_home, "rotate-key", LEAKSTOP_NEW_MASTER_KEY=NEW_MASTER)
    assert rotated.returncode == 0, rotated.stderr.decode()
    time.sleep(0.3)  # reads after the end, with the keys this reader opened before it
    stop.touch()
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["failures"] == []
    assert result["saw_rotation"]  # it did read while the rotation ran
    assert result["reads"] > 40
    after = _leakstop(private_home, "get", "secret-7", LEAKSTOP_MASTER_KEY=NEW_MASTER)
    assert after.stdout == b"value-7"


def test_a_rotation_killed_halfway_is_finished_by_the_next_run(private_home: Path) -> None:
    store = _store(private_home, secrets=300)
    rotation = subprocess.Popen(
        [installed_tool("leakstop") or "leakstop", "store", "rotate-key"],
        env=_env(private_home, LEAKSTOP_NEW_MASTER_KEY=NEW_MASTER),
        cwd=private_home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    first = store.paths.secret("secret-0")  # files are re-encrypted in file-name order
    deadline = time.monotonic() + 60
    while json.loads(first.read_bytes())["generation"] == 1:
        assert time.monotonic() < deadline
        assert rotation.poll() is None
        time.sleep(0.001)
    rotation.send_signal(signal.SIGKILL)
    rotation.wait()
    generations = {json.loads(p.read_bytes())["generation"] for _n, p in store.paths.secret_files()}
    assert json.loads(store.paths.org_file.read_bytes())["rotation"] is not None
    assert 1 in generations  # killed before the end
    for key in (MASTER, NEW_MASTER):  # either key reads every secret meanwhile
        got = _leakstop(private_home, "get", "secret-299", LEAKSTOP_MASTER_KEY=key)
        assert got.stdout == b"value-299", got.stderr
    finished = _leakstop(private_home, "rotate-key")  # the old key, no new one: finish
    assert finished.returncode == 0, finished.stderr
    assert b"Finished the interrupted rotation" in finished.stdout
    reopened = LocalStore.open(
        private_home, "default", NEW_MASTER.encode(), store.audit_log, store.context
    )
    assert all(reopened.read(f"secret-{i}") == f"value-{i}".encode() for i in range(300))
    assert _leakstop(private_home, "get", "secret-1").returncode == 2  # the old key is retired


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "is damaged"),
        (
            lambda p: p.write_bytes(p.read_bytes().replace(b'"revision":1', b'"revision":5')),
            "seal does not verify",
        ),
        (
            lambda p: p.write_bytes(p.read_bytes().replace(b"gAAAAA", b"gAAAAB")),
            "seal does not verify",
        ),
    ],
    ids=["truncated", "edited", "corrupted-token"],
)
def test_damage_is_one_line_exit_2_and_the_file_is_left_as_it_was(
    private_home: Path, damage: object, message: str
) -> None:
    store = _store(private_home)
    store.write("db", PLANTED.encode(), None)
    path = store.paths.secret("db")
    damage(path)  # type: ignore[operator]
    damaged = path.read_bytes()
    for argv, stdin in (
        (["get", "db"], b""),
        (["set", "db"], b"new value"),
        (["delete", "db", "--purge"], b""),
        (["backup"], b""),
    ):
        result = _leakstop(private_home, *argv, stdin=stdin)
        assert result.returncode == 2
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("leakstop: error: ")
        assert message in lines[0]
        assert b"Traceback" not in result.stderr
        assert result.stdout == b""
    assert path.read_bytes() == damaged


def test_a_wrong_key_and_a_tampered_backup_from_the_cli(private_home: Path) -> None:
    store = _store(private_home)
    store.write("db", PLANTED.encode(), None)
    wrong = _leakstop(private_home, "get", "db", LEAKSTOP_MASTER_KEY="wrong")
    assert wrong.returncode == 2
    assert len(wrong.stderr.splitlines()) == 1
    assert b"does not open org 'default'" in wrong.stderr
    assert _leakstop(private_home, "backup", "--name", "b1").returncode == 0
    backup = store.paths.backups / "b1" / "secrets" / "db.json"
    backup.write_bytes(backup.read_bytes().replace(b'"revision":1', b'"revision":2'))
    refused = _leakstop(private_home, "restore", "b1", "--dry-run")
    assert refused.returncode == 2
    assert refused.stderr.decode().splitlines() == [
        "leakstop: error: backup b1 is refused: secrets/db.json does not match its SHA-256"
    ]


def test_get_refuses_a_terminal_inside_github_actions(private_home: Path) -> None:
    _store(private_home).write("db", PLANTED.encode(), None)
    main_side, terminal = pty.openpty()
    command = [installed_tool("leakstop") or "leakstop", "store", "get", "db"]
    ARGVS.append(command)
    result = subprocess.run(
        command,
        stdout=terminal,
        stderr=subprocess.PIPE,
        env=_env(private_home, GITHUB_ACTIONS="true"),
        cwd=private_home,
        timeout=60,
    )
    os.close(terminal)
    shown = os.read(main_side, 4096) if result.returncode == 0 else b""
    os.close(main_side)
    assert result.returncode == 2, shown
    assert b"refusing to print db to a terminal inside GitHub Actions" in result.stderr
    assert PLANTED.encode() not in result.stderr


def test_no_value_was_ever_on_a_command_line() -> None:
    assert ARGVS, "run with the other tests of this module"
    assert not [argv for argv in ARGVS if any(PLANTED in arg or "value-" in arg for arg in argv)]
