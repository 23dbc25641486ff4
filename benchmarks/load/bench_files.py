"""Scan 1,000,000 small files and report wall time, files/s and peak RSS.

    python benchmarks/load/bench_files.py [--files 1000000] [--secrets 200] [--keep DIR]

Writes `--files` files (1,000 per folder; most a line or two, every n-th one holding an AWS
access key id) under a temp folder, runs `leakstop scan DIR -f json -o report.json` niced
under `/usr/bin/time -v`, checks the report holds exactly the planted keys, prints the
figures and removes the folder (unless `--keep` names one to reuse).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import mib, run_measured

PER_FOLDER = 1000
FILLER = [
    b"",
    b"x = 1\n",
    b"# notes\nnothing to see here\n",
    b"def f(a, b):\n    return a + b\n",
    b'{"name": "demo", "version": "1.0.0"}\n',
    b"SELECT id, name FROM users WHERE id = 42;\n",
    b"lorem ipsum dolor sit amet, consectetur adipiscing elit\n" * 8,
]
KEY_ALPHABET = string.ascii_uppercase + "234567"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--secrets", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this folder")
    parser.add_argument("--leakstop", default=str(Path(sys.executable).parent / "leakstop"))
    parser.add_argument("--jobs", type=int, help="leakstop scan --jobs")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="leakstop-load-files-"))
    try:
        tree = folder / "tree"
        marker = folder / f"complete-{args.files}-{args.secrets}"
        if not marker.exists():
            started = time.perf_counter()
            planted = generate(tree, args.files, args.secrets)
            (folder / "planted.json").write_text(json.dumps(sorted(planted)))
            marker.touch()
            print(f"generated {args.files:,} files in {time.perf_counter() - started:.1f} s")
        planted = set(json.loads((folder / "planted.json").read_text()))
        command = [args.leakstop, "scan", str(tree), "-f", "json", "-o", str(folder / "r.json")]
        if args.jobs:
            command += ["--jobs", str(args.jobs)]
        measured = run_measured(command)
        if measured.returncode not in (0, 1):
            print(measured.stderr, file=sys.stderr)
            return 2
        report = json.loads((folder / "r.json").read_text())
        found = {f["path"] for f in report["findings"] if f["rule_id"] == "aws-access-key-id"}
        scanned = report["stats"]["scanned"] if "stats" in report else "?"
        print(f"command: {' '.join(command[1:])}")
        print(
            f"files {args.files:,}  scanned {scanned}  findings {len(report['findings'])}  "
            f"planted {len(planted)}  planted found {len(found & planted)}  exit "
            f"{measured.returncode}"
        )
        print(
            f"wall {measured.wall_seconds:.1f} s  {args.files / measured.wall_seconds:,.0f} "
            f"files/s  peak RSS (largest process) {mib(measured.max_rss_mib)}  "
            f"peak RSS (process tree, summed) {mib(measured.tree_rss_mib)}, of it anonymous "
            f"{mib(measured.tree_anon_mib)}"
        )
        return 0 if found == planted else 1
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def generate(tree: Path, files: int, secrets: int) -> set[str]:
    """`files` files under `tree`; returns the paths (relative to `tree`) holding a key."""
    rng = random.Random(17)
    every = max(1, files // max(1, secrets))
    planted: set[str] = set()
    for index in range(files):
        folder = tree / f"d{index // PER_FOLDER:04d}"
        if index % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        name = f"f{index % PER_FOLDER:03d}.txt"
        if index % every == every // 2 and len(planted) < secrets:
            key = "AKIA" + "".join(rng.choice(KEY_ALPHABET) for _ in range(16))
            data = f'aws_access_key_id = "{key}"\n'.encode()
            planted.add(f"{folder.name}/{name}")
        else:
            data = FILLER[index % len(FILLER)]
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return planted


if __name__ == "__main__":
    raise SystemExit(main())
