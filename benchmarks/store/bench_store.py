"""Two times that matter for the local store, each beside a peer measured in the same run:

* `leakstop store get NAME` as a command (deploy scripts run it once per secret), against
  `python -c pass` and `leakstop --version` (leakstop's own start-up floor), with the PBKDF2
  derivation at 600,000 iterations timed alone.
* `rotate_master_key` over N secrets (default 10,000; two versions each), against the floor of
  the same work without the store: MultiFernet.rotate of every token in memory, then one atomic
  write (temp file, fsync, rename over the old file) per file, as many files of the same size.

    .venv/bin/python benchmarks/store/bench_store.py --secrets 10000 --gets 15
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.store import LocalStore
from leakstop.store.files import fsync_folder, write_atomic
from leakstop.store.keys import KdfParams, derive

MASTER = "benchmark master key"
AUDIT_KEY = "benchmark audit key"


def _median_run(command: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_get(home: Path, runs: int) -> None:
    audit_log = AuditLog.open(home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(home, "default", MASTER.encode(), audit_log, Context("b", Source.API))
    store.write("app/db-password", b"benchmark value", None)
    env = {
        **os.environ,
        "LEAKSTOP_HOME": str(home),
        "LEAKSTOP_MASTER_KEY": MASTER,
        "LEAKSTOP_AUDIT_KEY": AUDIT_KEY,
    }
    leakstop = str(Path(sys.executable).parent / "leakstop")
    python = _median_run([sys.executable, "-c", "pass"], env, runs)
    version = _median_run([leakstop, "--version"], env, runs)
    get = _median_run([leakstop, "store", "get", "app/db-password"], env, runs)
    kdf = statistics.median(_kdf_once() for _ in range(5))
    print(f"store get (median of {runs})   {get * 1000:7.0f} ms")
    print(f"  leakstop --version          {version * 1000:7.0f} ms  ({get / version:.2f}x)")
    print(f"  python -c pass              {python * 1000:7.0f} ms  ({get / python:.1f}x)")
    print(f"  PBKDF2 600,000 alone        {kdf * 1000:7.0f} ms")
    print(f"  get minus start-up floor    {(get - version) * 1000:7.0f} ms")


def _kdf_once() -> float:
    started = time.perf_counter()
    derive(b"key", KdfParams.new())
    return time.perf_counter() - started


def bench_rotation(home: Path, secrets: int) -> None:
    audit_log = AuditLog.open(home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(home, "default", MASTER.encode(), audit_log, Context("b", Source.API))
    started = time.perf_counter()
    for i in range(secrets):
        store.write(f"team/service-{i}/password", f"value-{i}-old".encode(), None)
        store.write(f"team/service-{i}/password", f"value-{i}-new".encode(), 1)
    filled = time.perf_counter() - started
    size = statistics.mean(p.stat().st_size for _n, p in list(store.paths.secret_files())[:100])
    result = store.rotate_master_key(b"the next master key")
    print(f"fill: {secrets} secrets x 2 versions through the API in {filled:.1f} s")
    print(f"rotate-key over {secrets} secrets     {result.seconds:7.2f} s")

    floor = _rotation_floor(home / "floor", secrets, int(size))
    print(f"  floor (rotate + atomic write)  {floor:7.2f} s  ({result.seconds / floor:.2f}x)")
    fresh = LocalStore.open(home, "default", b"the next master key", audit_log, store.context)
    assert fresh.read(f"team/service-{secrets - 1}/password") == f"value-{secrets - 1}-new".encode()


def _rotation_floor(folder: Path, count: int, size: int) -> float:
    folder.mkdir()
    old, new = Fernet(Fernet.generate_key()), Fernet(Fernet.generate_key())
    tokens = [(old.encrypt(b"value-old"), old.encrypt(b"value-new")) for _ in range(count)]
    both = MultiFernet([new, old])
    padding = b" " * max(0, size - 2 * len(tokens[0][0]))
    for i in range(count):  # files to replace, as a rotation replaces each secret's file
        (folder / f"{i}.json").write_bytes(b" " * size)
    fsync_folder(folder)
    started = time.perf_counter()
    for i, pair in enumerate(tokens):
        rotated = b"\n".join(both.rotate(token) for token in pair)
        write_atomic(folder / f"{i}.json", rotated + padding, sync_folder=False)
    fsync_folder(folder)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=15)
    parser.add_argument("--dir", type=Path, help="where to build the stores (default: a temp dir)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="leakstop-store-bench-", dir=args.dir))
    try:
        bench_get(base / "get", args.gets)
        bench_rotation(base / "rotation", args.secrets)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
