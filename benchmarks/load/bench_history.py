"""Scan a git history of ~2 GB of blobs and report wall time, MB/s and peak RSS.

    python benchmarks/load/bench_history.py [--mb 2048] [--files 40] [--keep DIR]

Builds the repository with `git fast-import` (nothing checked out): `--files`
files, each rewritten in every commit with ~`--blob-kb` KB of generated text (so every blob is
new), until the blobs total `--mb` MB; every 50th commit plants a fresh AWS access key id.
Then runs `leakstop scan --git REPO -f json` niced under `/usr/bin/time -v`, checks every
planted key is reported once, prints the figures and removes the repository (unless `--keep`).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import mib, run_measured

WORDS = [
    "".join(random.Random(n).choice(string.ascii_lowercase) for _ in range(3 + n % 8))
    for n in range(4096)
]
KEY_ALPHABET = string.ascii_uppercase + "234567"
PLANT_EVERY = 50
#: Generated text that blobs are cut from (generating each blob afresh: ~2 MB/s).
POOL = 16 * 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=2048, help="total blob size (MB)")
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--blob-kb", type=int, default=256)
    parser.add_argument("--keep", type=Path, help="build into (or reuse) this folder")
    parser.add_argument("--leakstop", default=str(Path(sys.executable).parent / "leakstop"))
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="leakstop-load-history-"))
    try:
        repo = folder / "repo"
        marker = folder / f"complete-{args.mb}-{args.files}-{args.blob_kb}"
        if not marker.exists():
            started = time.perf_counter()
            shutil.rmtree(repo, ignore_errors=True)
            planted, commits = build(repo, args.mb * 10**6, args.files, args.blob_kb * 1000)
            (folder / "planted.json").write_text(json.dumps(sorted(planted)))
            marker.touch()
            print(f"built {commits:,} commits in {time.perf_counter() - started:.1f} s")
        planted = set(json.loads((folder / "planted.json").read_text()))
        pack = sum(p.stat().st_size for p in (repo / ".git" / "objects" / "pack").glob("*.pack"))
        out = folder / "r.json"
        command = [args.leakstop, "scan", "--git", str(repo), "-f", "json", "-o", str(out)]
        measured = run_measured(command)
        if measured.returncode not in (0, 1):
            print(measured.stderr, file=sys.stderr)
            return 2
        report = json.loads(out.read_text())
        keys = [f for f in report["findings"] if f["rule_id"] == "aws-access-key-id"]
        found = {f["fingerprint"] for f in keys}
        total = report["stats"]["bytes"]
        print(f"command: {' '.join(command[1:])}")
        print(
            f"history: {total / 1e6:,.0f} MB of blobs scanned ({pack / 1e6:,.0f} MB packed), "
            f"{report['stats']['scanned']:,} blobs; planted {len(planted)}, reported "
            f"{len(keys)} ({len(found)} distinct), exit {measured.returncode}"
        )
        print(
            f"wall {measured.wall_seconds:.1f} s  {total / 1e6 / measured.wall_seconds:,.0f} "
            f"MB/s  peak RSS (largest process) {mib(measured.max_rss_mib)}  "
            f"peak RSS (process tree, summed) {mib(measured.tree_rss_mib)}, of it anonymous "
            f"{mib(measured.tree_anon_mib)}"
        )
        return 0 if len(keys) == len(planted) == len(found) else 1
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def build(repo: Path, total: int, files: int, blob: int) -> tuple[set[str], int]:
    """A repository whose blobs total `total` bytes; returns the planted keys."""
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    rng = random.Random(2048)
    pool = _text(rng, POOL)
    importer = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    assert importer.stdin is not None
    stream = importer.stdin
    planted: set[str] = set()
    written = commit = 0
    while written < total:
        commit += 1
        stream.write(
            f"commit refs/heads/main\ncommitter Bench <b@example.com> {1_700_000_000 + commit}"
            f" +0000\ndata 12\ncommit {commit:05d}\n".encode()
        )
        for index in range(files):
            start = rng.randrange(len(pool) - blob)
            # A first line of its own makes every blob new, as edits do.
            data = f"# commit {commit} file {index}\n".encode() + pool[start : start + blob]
            if index == 0 and commit % PLANT_EVERY == 1:
                key = "AKIA" + "".join(rng.choice(KEY_ALPHABET) for _ in range(16))
                data += f'\naws_access_key_id = "{key}"\n'.encode()
                planted.add(key)
            stream.write(f"M 100644 inline src/file{index:03d}.txt\ndata {len(data)}\n".encode())
            stream.write(data + b"\n")
            written += len(data)
        if commit % 20 == 0:
            print(f"  {commit} commits, {written / 1e6:,.0f} MB", flush=True)
    stream.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    return planted, commit


def _text(rng: random.Random, size: int) -> bytes:
    words = rng.choices(WORDS, k=size // 6)
    lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    return "\n".join(lines).encode()[:size]


if __name__ == "__main__":
    raise SystemExit(main())
