"""Time audit-log reading over 1,000,000 records, with each run's peak memory.

    python benchmarks/audit/bench_query.py [--records 1000000] [--days 100] [--folder DIR]

Generates a realistic log once (into a temp folder, reused while its `complete` marker is
there): ~150 managed secrets read by services and people, rotations with their steps, some
failing, denied access, findings, approvals, spread evenly over --days UTC day files, every
line as `AuditLog` writes it (canonical JSON, 64-hex chain fields). Then runs, each in a
fresh interpreter so that its peak RSS (`ru_maxrss`) is its own:

* baseline: importing leakstop.audit and nothing else (the floor under every figure),
* query --secret: one secret's records, all days,
* query --failed --since 30d: failures in the last 30 days of the log,
* stats: counts over every record,
* anomalies: every detector (unusual hours configured) over every record,

and, for scale, two floors measured on the same files: `json.loads` of every line (no
`Record`), under stats and anomalies; `grep -F -c` for the one secret's fragment, under the
one-secret query.

Prints one line per run: records out, MB of day files read, wall seconds, MB/s, peak RSS.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from leakstop.audit.files import day_file_name, day_files
from leakstop.audit.record import Action, Record, Source, utc_timestamp

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
ONE_SECRET = "payments/stripe-api-key"
#: ru_maxrss is in KiB on Linux, bytes on macOS.
_RSS_UNIT = 1 if sys.platform == "darwin" else 1024
#: Bumped whenever `generate` changes, so that an old log is not reused.
GENERATOR = "v2"
PHASES = (
    "baseline",
    "query-secret",
    "query-failed-30d",
    "stats",
    "anomalies",
    "ref:json-loads",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--folder", type=Path, help="where the log is (made if missing)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.gettempdir()) / (
        f"leakstop-audit-bench-{GENERATOR}-{args.records}-{args.days}d"
    )
    if args.phase:
        return run_phase(args.phase, folder, args.days)
    if not (folder / "complete").exists():
        started = time.perf_counter()
        generate(folder, args.records, args.days)
        print(f"generated {args.records:,} records in {time.perf_counter() - started:.1f} s")
    size = sum(p.stat().st_size for p in folder.glob("audit-*.jsonl"))
    print(f"log: {folder} ({args.days} day files, {size / 1e6:.0f} MB)")
    print(
        f"{'run':<18} {'records out':>12} {'MB read':>8} {'seconds':>8} {'MB/s':>6} {'peak RSS':>9}"
    )
    for phase in PHASES:
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                phase,
                "--folder",
                str(folder),
                "--days",
                str(args.days),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(result.stdout)
        _print_row(phase, row)
    grep = shutil.which("grep")
    if grep:
        # The floor under a one-secret query: grep -F for the same fragment, same files.
        files = [str(f.path) for f in day_files(folder)]
        started = time.perf_counter()
        child = subprocess.Popen(
            [grep, "-F", "-c", "-h", f'"secret":"{ONE_SECRET}"', *files],
            stdout=subprocess.PIPE,
            text=True,
        )
        output = child.stdout.read() if child.stdout else ""
        # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would be the largest child);
        # Popen is told the exit status, so it does not wait for the child again.
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        row = {
            "out": sum(int(n) for n in output.split()),
            "seconds": time.perf_counter() - started,
            "read_mb": size / 1e6,
            "rss_mb": usage.ru_maxrss * _RSS_UNIT / 2**20,
        }
        _print_row("ref:grep -F", row)
    return 0


def _print_row(phase: str, row: dict[str, float]) -> None:
    rate = f"{row['read_mb'] / row['seconds']:.0f}" if row["seconds"] > 0.01 else "-"
    print(
        f"{phase:<18} {row['out']:>12,.0f} {row['read_mb']:>8.0f} {row['seconds']:>8.2f} "
        f"{rate:>6} {row['rss_mb']:>6.1f} MB"
    )


def run_phase(phase: str, folder: Path, days: int) -> int:
    from leakstop.audit.anomalies import detect
    from leakstop.audit.query import Query, parse_when, select
    from leakstop.audit.stats import collect_stats
    from leakstop.config.audit import AnomalySettings, UnusualHours

    end = START + timedelta(days=days)
    since = parse_when("30d", end) if phase == "query-failed-30d" else None
    read = sum(f.path.stat().st_size for f in day_files(folder, since and since.date()))
    started = time.perf_counter()
    out = 0
    if phase == "baseline":
        read = 0
    elif phase == "query-secret":
        out = sum(1 for _ in select(folder, Query(secrets=frozenset({ONE_SECRET}))))
    elif phase == "query-failed-30d":
        out = sum(1 for _ in select(folder, Query(since=since, failed_only=True)))
    elif phase == "stats":
        out = collect_stats(select(folder, Query())).total.records
    elif phase == "ref:json-loads":
        # The floor under any full scan in Python: json.loads of every line, no Record.
        for day_file in day_files(folder):
            with day_file.open() as stream:
                out += sum(1 for line in stream if json.loads(line))
    elif phase == "anomalies":
        hours = UnusualHours(
            datetime.strptime("07:00", "%H:%M").time(),
            datetime.strptime("20:00", "%H:%M").time(),
            "Europe/Berlin",
        )
        settings = AnomalySettings(unusual_hours=hours)
        out = sum(1 for _ in detect(select(folder, Query()), settings))
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RSS_UNIT
    print(
        json.dumps({"out": out, "seconds": seconds, "read_mb": read / 1e6, "rss_mb": rss / 2**20})
    )
    return 0


def generate(folder: Path, records: int, days: int) -> None:
    """`records` records over `days` days, in time order, seq 1, 2, …"""
    rng = random.Random(20240101)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "complete").unlink(missing_ok=True)
    for old in folder.glob("audit-*.jsonl*"):
        old.unlink()
    teams = ["payments", "billing", "search", "auth", "data", "infra", "mobile", "web"]
    kinds = ["api-key", "db-password", "oauth-client", "webhook-secret", "signing-key"]
    secrets = [f"{t}/{k}-{n}" for t in teams for k in kinds for n in range(4)][:149]
    secrets.append(ONE_SECRET)
    services = [f"svc-{t}-{n}" for t in teams for n in range(2)]
    people = [f"user{n:02d}" for n in range(40)]
    # Some secrets are read far more than others, each mostly by its own two services.
    weights = [1 / (rank + 1) for rank in range(len(secrets))]
    readers = {secret: rng.sample(services, 2) for secret in secrets}
    per_day = records // days
    seq = 0
    prev = "0" * 64
    for day in range(days):
        count = per_day if day < days - 1 else records - per_day * (days - 1)
        moments = sorted(rng.random() * 86400 for _ in range(count))
        base = START + timedelta(days=day)
        lines = []
        for offset in moments:
            seq += 1
            record = _record(rng, secrets, weights, readers, people, seq, prev)
            record = dataclasses.replace(
                record, timestamp=utc_timestamp(base + timedelta(seconds=offset))
            )
            # A stand-in for the HMAC chain: the same length and cost order.
            mac = hashlib.sha256(record.signed_bytes()).hexdigest()
            lines.append(dataclasses.replace(record, mac=mac).line())
            prev = mac
        (folder / day_file_name(base.date())).write_bytes(b"".join(lines))
    (folder / "complete").write_text("ok\n")


def _record(
    rng: random.Random,
    secrets: list[str],
    weights: list[float],
    readers: dict[str, list[str]],
    people: list[str],
    seq: int,
    prev: str,
) -> Record:
    roll = rng.random()
    secret = rng.choices(secrets, weights)[0]
    actor = rng.choice(readers[secret]) if rng.random() < 0.9 else rng.choice(people)
    source = Source.API if actor.startswith("svc-") else rng.choice([Source.CLI, Source.ACTION])
    details: dict[str, object] = {}
    success, error = True, None
    if roll < 0.85:
        action = Action.SECRET_READ
        details = {"version": rng.randint(1, 40)}
        if rng.random() < 0.01:
            success, error = False, "store unavailable: timed out after 5s"
    elif roll < 0.87:
        action = Action.ACCESS_DENIED
        success, error = False, "not allowed by policy"
    elif roll < 0.93:
        action = rng.choice(
            [Action.ROTATION_STARTED, Action.ROTATION_STEP, Action.ROTATION_COMPLETED]
        )
        actor, source = "github-actions", Source.SCHEDULE
        details = {
            "step": rng.choice(["create", "set", "test", "finish"]),
            "run_url": f"https://github.com/acme/infra/actions/runs/{seq}",
        }
        if rng.random() < 0.03:
            action, success, error = Action.ROTATION_FAILED, False, "test step: login refused"
    elif roll < 0.96:
        action = rng.choice([Action.FINDING_DETECTED, Action.FINDING_CONFIRMED])
        secret = hashlib.sha256(str(rng.randint(0, 5000)).encode()).hexdigest()
        details = {
            "rule_id": "github-pat",
            "path": f"src/module{rng.randint(0, 300)}.py",
            "line": rng.randint(1, 900),
        }
    elif roll < 0.98:
        action = rng.choice([Action.SECRET_UPDATED, Action.APPROVAL_REQUESTED, Action.APPROVED])
        actor = rng.choice(people)
    else:
        action = Action.EXPIRATION_WARNING
        details = {"expires_in_days": rng.randint(1, 14)}
    return Record(
        action=action,
        secret=secret,
        actor=actor,
        source=source,
        org="acme",
        details=details,
        success=success,
        error=error,
        actor_ip=f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        seq=seq,
        prev=prev,
    )


if __name__ == "__main__":
    sys.exit(main())
