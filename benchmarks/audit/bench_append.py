"""Appends per second to the audit log, with fsync, from 1 and from N processes at once.

The peer, measured in the same run on the same disk: the floor of any durable log, one
`os.write` of a line of the same size to an `O_APPEND` file, then `fsync` (under `flock` when
several processes share the file). The ratio shows what the chain, the tail read and
`head.json` cost on top of that.

    .venv/bin/python benchmarks/audit/bench_append.py --records 300 --processes 1 8
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Source
from leakstop.audit.verify import verify

KEY = b"benchmark-audit-key-0123456789ab"


def _leakstop(folder: str, count: int, start: float) -> None:
    log = AuditLog.open(Path(folder), KEY)
    context = Context(f"bench-{os.getpid()}", Source.CLI, details={"run": "benchmark"})
    while time.time() < start:
        time.sleep(0.0005)
    for number in range(count):
        log.append(Action.SECRET_READ, "billing/api-key", context, details={"n": number})


def _floor(folder: str, count: int, start: float) -> None:
    import fcntl

    line = b"x" * 420 + b"\n"  # about the size of a record above
    lock = os.open(os.path.join(folder, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    while time.time() < start:
        time.sleep(0.0005)
    for _ in range(count):
        fcntl.flock(lock, fcntl.LOCK_EX)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        descriptor = os.open(os.path.join(folder, "floor.log"), flags, 0o600)
        os.write(descriptor, line)
        os.fsync(descriptor)
        os.close(descriptor)
        fcntl.flock(lock, fcntl.LOCK_UN)


def measure(target: object, base: Path, processes: int, each: int) -> float:
    folder = Path(tempfile.mkdtemp(dir=base))
    start = time.time() + 1.0  # every process is ready before the clock starts
    workers = [
        multiprocessing.Process(target=target, args=(str(folder), each, start))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise SystemExit(f"a worker failed with exit code {worker.exitcode}")
    elapsed = time.time() - start
    if target is _leakstop:
        result = verify(folder, KEY)
        if not result.ok or result.records != processes * each:
            raise SystemExit(f"the log does not verify: {result}")
    shutil.rmtree(folder)
    return processes * each / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300, help="appends per process")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--repeat", type=int, default=3, help="best of")
    args = parser.parse_args()
    print(f"{'processes':>9} {'leakstop/s':>11} {'floor/s':>9} {'ratio':>6}")
    for processes in args.processes:
        each = max(1, args.records // processes) if processes > 1 else args.records
        ours = max(measure(_leakstop, args.dir, processes, each) for _ in range(args.repeat))
        floor = max(measure(_floor, args.dir, processes, each) for _ in range(args.repeat))
        print(f"{processes:>9} {ours:>11.0f} {floor:>9.0f} {ours / floor:>6.2f}")


if __name__ == "__main__":
    main()
