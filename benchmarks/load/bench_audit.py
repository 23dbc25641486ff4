"""Verify and query an audit log of 10,000,000 records; report time and peak RSS.

    python benchmarks/load/bench_audit.py [--records 10000000] [--days 365] [--folder DIR]

Writes the log once with the real record and chain code (`Record.signed_bytes`,
`Sealer.seal` under a fixed `LEAKSTOP_AUDIT_KEY`, `record.with_mac` for the line: the bytes
`Record.line()` gives, from one encoding instead of two; `write_anchor` for head.json): one
HMAC chain over `--days` UTC day files, records spread evenly, reads and rotations of ~200
secrets. It is reused while its `complete` marker is there. Then each leakstop command runs
niced under `/usr/bin/time -v` (wall time, CPU time and peak RSS):

* `audit verify` (every record parsed, its HMAC recomputed, its links checked),
* `audit query --secret NAME -f json` (one secret, every day),
* `audit query --failed --since 30d -f json` (the last 30 days of the log),
* `audit stats -f json` (every record parsed),

and the script checks each one's output against what it wrote.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import mib, run_measured

KEY = "load-benchmark-audit-key"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
ONE_SECRET = "payments/stripe-api-key"
GENERATOR = "v1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--stats", action="store_true", help="also time `audit stats`")
    parser.add_argument("--leakstop", default=str(Path(sys.executable).parent / "leakstop"))
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.gettempdir()) / (
        f"leakstop-load-audit-{GENERATOR}-{args.records}-{args.days}d"
    )
    if not (folder / "complete").exists():
        started = time.perf_counter()
        expected = generate(folder, args.records, args.days)
        (folder / "expected.json").write_text(json.dumps(expected))
        (folder / "complete").touch()
        print(f"generated {args.records:,} records in {time.perf_counter() - started:.1f} s")
    expected = json.loads((folder / "expected.json").read_text())
    size = sum(p.stat().st_size for p in folder.glob("audit-*.jsonl"))
    print(f"log: {folder} ({args.days} day files, {size / 1e9:.2f} GB, {args.records:,} records)")
    env = {**os.environ, "LEAKSTOP_AUDIT_KEY": KEY, "LEAKSTOP_HOME": str(folder / "home")}
    base = [args.leakstop, "audit"]
    where = ["--dir", str(folder)]
    last_day = (START + timedelta(days=args.days)).date()
    since = (last_day - timedelta(days=30)).isoformat()
    runs = [
        ("verify", [*base, "verify", *where], None),
        (
            "query --secret",
            [*base, "query", *where, "--secret", ONE_SECRET, "-f", "json"],
            expected["one_secret"],
        ),
        (
            "query --failed --since",
            [*base, "query", *where, "--failed", "--since", since, "-f", "json"],
            expected["failed_last_30d"],
        ),
    ]
    if args.stats:
        runs.append(("stats", [*base, "stats", *where, "-f", "json"], args.records))
    print(
        f"{'run':<24} {'exit':>4} {'out':>10} {'seconds':>8} {'MB/s':>6} {'CPU s':>7} "
        f"{'records/CPU s':>13} {'peak RSS':>10}"
    )
    ok = True
    for name, command, want in runs:
        out_path = folder / "out.txt"
        measured = run_measured(command, env, out_path)
        out = _count(name, out_path)
        good = measured.returncode == 0 and (want is None or out == want)
        ok &= good
        print(
            f"{name:<24} {measured.returncode:>4} {out:>10,} {measured.wall_seconds:>8.1f} "
            f"{size / 1e6 / measured.wall_seconds:>6.0f} {measured.cpu_seconds:>7.1f} "
            f"{args.records / measured.cpu_seconds:>13,.0f} {mib(measured.max_rss_mib):>10}"
            + ("" if good else f"  UNEXPECTED (want {want}): {measured.stderr.strip()[:300]}")
        )
        out_path.unlink()
    return 0 if ok else 1


def _count(name: str, path: Path) -> int:
    data = path.read_bytes()
    if name.startswith("query"):
        return data.count(b'"seq":')
    if name == "stats":
        by_action = json.loads(data.decode())["by_action"]
        return sum(int(counts["records"]) for counts in by_action.values())
    return 0


def generate(folder: Path, records: int, days: int) -> dict[str, int]:
    """`records` sealed records over `days` day files; returns what the queries should find."""
    # Imported here: the runs can time another leakstop (`--leakstop`, or PYTHONPATH set to an
    # older checkout) on a log this one wrote.
    from leakstop.audit.anchor import write_anchor
    from leakstop.audit.chain import Sealer
    from leakstop.audit.files import day_file_name
    from leakstop.audit.record import Action, Record, Source, utc_timestamp, with_mac

    key = KEY.encode()
    sealer = Sealer(key)
    rng = random.Random(10_000_000)
    folder.mkdir(parents=True, exist_ok=True)
    secrets = [f"team{n % 12}/secret-{n}" for n in range(199)] + [ONE_SECRET]
    actors = [f"svc-{n}" for n in range(30)] + [f"user{n}" for n in range(20)]
    per_day = records // days
    seq, prev, name = 0, "", ""
    one_secret = failed_last_30d = 0
    for day in range(days):
        base = START + timedelta(days=day)
        count = per_day if day < days - 1 else records - per_day * (days - 1)
        step = 86_400 / max(1, count)
        name = day_file_name(base.date())
        with open(folder / name, "wb", buffering=1 << 20) as out:
            for index in range(count):
                seq += 1
                secret = secrets[seq % len(secrets)]
                roll = rng.random()
                success = roll >= 0.01
                action = Action.SECRET_READ if roll < 0.9 else Action.ROTATION_STEP
                record = Record(
                    action=action,
                    secret=secret,
                    actor=actors[seq % len(actors)],
                    source=Source.API,
                    org="acme",
                    details={"version": seq % 40 + 1},
                    success=success,
                    error=None if success else "store unavailable: timed out after 5s",
                    actor_ip=f"10.0.{seq % 256}.{seq % 253 + 1}",
                    id=f"{seq:032x}",
                    timestamp=utc_timestamp(base + timedelta(seconds=index * step)),
                    seq=seq,
                    prev=prev,
                )
                signed = record.signed_bytes()
                mac = sealer.seal(signed)
                out.write(with_mac(signed, mac) + b"\n")
                prev = mac
                one_secret += secret == ONE_SECRET
                failed_last_30d += (not success) and day >= days - 30
        if day % 30 == 0:
            print(f"  day {day + 1}/{days}: {seq:,} records", flush=True)
    write_anchor(folder, seq, prev, name, key)
    return {"one_secret": one_secret, "failed_last_30d": failed_last_30d}


if __name__ == "__main__":
    raise SystemExit(main())
