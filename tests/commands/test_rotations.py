"""`leakstop rotations due|run` against a real local store and audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.cli import main
from leakstop.store import LocalStore

MASTER = "master key for the rotation tests"
AUDIT_KEY = "audit key for the rotation tests"

CONFIG = """version: 1
secrets:
  - name: billing/api-key
    store: {provider: local}
    generate: {length: 40, charset: alnum, prefix: bk_}
    policy: {interval: 30d, auto_rotate: true}
  - name: billing/webhook
    store: {provider: local}
    policy: {interval: 30d}
  - name: partner/token
    store: {provider: local}
    handler: rotation_handlers:upper
    policy: {interval: on_access, auto_rotate: true}
  - name: legacy/cert
    store: {provider: local}
    policy: {expires: 2026-12-20, notify_before: 30d}
"""

HANDLERS = """
def upper(secret, current):
    return (current or b"none").upper() + b"-NEXT"
"""


@pytest.fixture
def setup(
    private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[LocalStore, AuditLog]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    (tmp_path / ".leakstop.yaml").write_text(CONFIG)
    (tmp_path / "rotation_handlers.py").write_text(HANDLERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "rotation_handlers", raising=False)
    audit_log = AuditLog.open(private_home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("setup", Source.API),
        iterations=1000,
    )
    store.write("partner/token", b"first", expected_version=None)
    store.read("partner/token")  # read once: on_access makes it due
    return store, audit_log


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main(["rotations", *argv, "-f", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_due_then_run_then_nothing_left(
    setup: tuple[LocalStore, AuditLog], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _log = setup
    code, due = _json(capsys, "due")
    assert code == 0
    assert {(d["secret"], d["status"]) for d in due} == {  # type: ignore[union-attr,index]
        ("billing/api-key", "due"),  # never made: no rotation on record
        ("billing/webhook", "due"),
        ("partner/token", "due"),  # read after its last rotation
        ("legacy/cert", "expiring"),
    }
    code, done = _json(capsys, "run")
    assert code == 0
    assert {(d["secret"], d["done"]) for d in done} == {  # type: ignore[union-attr,index]
        ("billing/api-key", "rotated"),
        ("billing/webhook", "scheduled"),  # auto_rotate is off
        ("partner/token", "rotated"),
        ("legacy/cert", "warned"),
    }
    new_key = store.read("billing/api-key")
    assert isinstance(new_key, bytes)
    assert new_key.startswith(b"bk_")
    assert len(new_key) == 43
    assert store.read("partner/token") == b"FIRST-NEXT"
    written = b"".join(f.read_bytes() for f in (store.paths.root.parent.parent / "audit").glob("*"))
    assert b"rotation_completed" in written
    assert new_key not in written
    assert new_key[3:15] not in written
    assert b"FIRST-NEXT" not in written
    # A second run finds the rotated secrets done and repeats no record.
    code, again = _json(capsys, "run")
    assert {(d["secret"], d["done"]) for d in again} == {  # type: ignore[union-attr,index]
        ("billing/webhook", "already recorded"),
        ("legacy/cert", "already recorded"),
        ("partner/token", "rotated"),  # read again by the test above: due again
    }
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    assert main(["audit", "query", "--secret", "billing/api-key", "-f", "json"]) == 0
    actions = [r["action"] for r in json.loads(capsys.readouterr().out)]
    # The first rotation of a secret the store did not hold yet: written pending (created),
    # promoted, then read by the test.
    assert actions == [
        "rotation_started",
        "rotation_step",  # create
        "secret_created",
        "rotation_step",  # set
        "secret_updated",  # pending -> current
        "rotation_step",  # finish
        "rotation_completed",
        "secret_read",
    ]


def test_a_failing_handler_is_recorded_and_fails_the_run(
    setup: tuple[LocalStore, AuditLog],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "rotation_handlers.py").write_text(
        "def upper(secret, current):\n    raise RuntimeError('partner API down')\n"
    )
    code, done = _json(capsys, "run")
    assert code == 1
    failed = [d for d in done if d["done"] == "failed"]  # type: ignore[union-attr,index]
    assert [d["secret"] for d in failed] == ["partner/token"]
    assert "handler rotation_handlers:upper failed: RuntimeError" in failed[0]["detail"]
    assert main(["audit", "query", "--action", "rotation_failed", "-f", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["secret"] == "partner/token"


def test_without_managed_secrets_it_says_what_to_add(
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["rotations", "due"]) == 2
    assert "add a `secrets:` section" in capsys.readouterr().err


def test_rotate_plans_then_applies(
    setup: tuple[LocalStore, AuditLog], capsys: pytest.CaptureFixture[str]
) -> None:
    store, _log = setup
    assert main(["rotate", "partner/token"]) == 0
    plan = capsys.readouterr().out
    assert "Plan (nothing changed; --apply to rotate): partner/token in local" in plan
    assert store.read("partner/token") == b"first"
    assert main(["rotate", "partner/token", "--apply", "--reason", "quarterly"]) == 0
    assert "Rotated partner/token: version 1 → 2" in capsys.readouterr().out
    assert store.read("partner/token") == b"FIRST-NEXT"
    assert main(["audit", "query", "--action", "rotation_started", "-f", "json"]) == 0
    (started,) = json.loads(capsys.readouterr().out)
    assert started["details"]["reason"] == "quarterly"


def test_rotate_an_unknown_secret_is_one_line(
    setup: tuple[LocalStore, AuditLog], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate", "nope/x", "--apply"]) == 2
    err = capsys.readouterr().err
    assert "nope/x is not a managed secret" in err
    assert "billing/api-key" in err


PARALLEL_CONFIG = "version: 1\nsecrets:\n" + "".join(
    f"  - name: team/key-{n}\n    store: {{provider: local}}\n"
    "    handler: slow_handlers:slow\n    policy: {interval: 30d, auto_rotate: true}\n"
    for n in range(6)
)

SLOW_HANDLER = """
import threading, time
lock = threading.Lock()
active = 0
most = 0

def slow(secret, current):
    global active, most
    with lock:
        active += 1
        most = max(most, active)
    time.sleep(0.3)
    with lock:
        active -= 1
    return ("new-value-for-" + secret.name).encode()
"""


@pytest.mark.parametrize("cap", [1, 3])
def test_max_concurrent_caps_parallel_rotations_and_the_log_stays_one_chain(
    cap: int,
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    (tmp_path / ".leakstop.yaml").write_text(PARALLEL_CONFIG)
    (tmp_path / "slow_handlers.py").write_text(SLOW_HANDLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_handlers", raising=False)
    audit_log = AuditLog.open(private_home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("setup", Source.API),
        iterations=1000,
    )
    code, done = _json(capsys, "run", "--max-concurrent", str(cap))
    assert code == 0
    assert [(d["secret"], d["done"]) for d in done] == [  # type: ignore[union-attr,index]
        (f"team/key-{n}", "rotated") for n in range(6)
    ]
    import slow_handlers  # type: ignore[import-not-found]

    assert slow_handlers.most == cap
    for n in range(6):
        assert store.read(f"team/key-{n}") == f"new-value-for-team/key-{n}".encode()
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    assert main(["audit", "query", "--action", "rotation_completed", "-f", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 6


def test_max_concurrent_must_be_a_positive_number(
    setup: tuple[LocalStore, AuditLog], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotations", "run", "--max-concurrent", "0"]) == 2
    assert "--max-concurrent: not a whole number of 1 or more: '0'" in capsys.readouterr().err
