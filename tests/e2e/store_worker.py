"""A process that uses the store through its Python API, for tests that need several at once.

    python -m tests.e2e.store_worker cas NAME COUNT       # COUNT check-and-set updates
    python -m tests.e2e.store_worker read STOP_FILE N     # read secret-0..N-1 until STOP_FILE

Reads LEAKSTOP_HOME and LEAKSTOP_MASTER_KEY; prints one JSON line of what it did.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from leakstop.audit.chain import key_from_environment
from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.errors import StoreConflictError
from leakstop.home import home
from leakstop.store import LocalStore


def _open() -> LocalStore:
    audit_log = AuditLog.open(home() / "audit", key_from_environment())
    key = os.environ["LEAKSTOP_MASTER_KEY"].encode()
    return LocalStore.open(
        home(), "default", key, audit_log, Context(f"pid-{os.getpid()}", Source.API)
    )


def cas(name: str, count: int) -> None:
    store = _open()
    won, lost = [], 0
    for i in range(count):
        value = f"{os.getpid()}-{i}".encode()
        latest = store.latest_version(name)
        try:
            won.append([store.write(name, value, latest).number, value.decode()])
        except StoreConflictError:
            lost += 1
    print(json.dumps({"won": won, "lost": lost}))


def read(stop: Path, count: int) -> None:
    store = _open()
    reads, saw_rotation, failures = 0, False, []
    expected = {f"secret-{i}": f"value-{i}".encode() for i in range(count)}
    while not stop.exists():
        for name, value in expected.items():
            try:
                got = store.read(name)
            except Exception as exc:  # noqa: BLE001 - the test counts any failure at all
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            reads += 1
            if got != value:
                failures.append(f"{name}: a wrong value")
            saw_rotation |= json.loads(store.paths.org_file.read_bytes())["rotation"] is not None
        time.sleep(0.001)
    print(json.dumps({"reads": reads, "failures": failures[:5], "saw_rotation": saw_rotation}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "cas":
        cas(sys.argv[2], int(sys.argv[3]))
    else:
        read(Path(sys.argv[2]), int(sys.argv[3]))
