"""History scanning: which way of reading blobs is fastest, and how fast is `leakstop scan --git`.

    python benchmarks/history/bench_history.py [--workdir DIR] [--package django]
        [--versions 4.2 4.2.1 ...] [--repeat 3]

Builds (once) a git repository whose commits are consecutive releases of a real package,
downloaded as sdists from the package index: real source, real diffs between commits, many
blobs shared across commits. Then, on that repository:

1. blob readers, each reading every blob that history introduces (the list comes from one
   `git log --raw` walk, as leakstop does): leakstop's pipelined `git cat-file --batch`,
   GitPython's GitCmdObjectDB (its default, one cat-file request at a time), GitPython's
   pure-Python GitDB, and `git cat-file --batch-all-objects --batch --unordered` (every object
   in pack order: the fastest read, but no per-commit attribution and no range support);
2. `leakstop scan --git` end to end, and `gitleaks git` if it is on PATH.

Prints MB/s and blobs/s for each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

DEFAULT_VERSIONS = [
    "4.2", "4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.2.5", "4.2.6", "4.2.7", "4.2.8", "4.2.9",
    "4.2.10", "4.2.11", "4.2.12", "4.2.13", "4.2.14", "4.2.15", "4.2.16", "5.0", "5.0.1",
    "5.0.2", "5.0.3", "5.0.4", "5.0.5", "5.0.6", "5.0.7", "5.0.8", "5.1", "5.1.1", "5.1.2",
]  # fmt: skip


def _empty_git_config() -> Path:
    """An empty global git config (never /dev/null: a git config write would replace it)."""
    path = Path(tempfile.mkdtemp(prefix="bench-git-")) / "gitconfig"
    path.touch()
    return path


def build(workdir: Path, package: str, versions: list[str]) -> Path:
    repo = workdir / f"{package}-history"
    if (repo / ".git").exists():
        return repo
    downloads = workdir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    repo.mkdir(parents=True)
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": str(_empty_git_config()),
        "GIT_AUTHOR_NAME": "Release",
        "GIT_AUTHOR_EMAIL": "release@example.com",
        "GIT_COMMITTER_NAME": "Release",
        "GIT_COMMITTER_EMAIL": "release@example.com",
    }
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    for index, version in enumerate(versions):
        target = downloads / version
        if not target.exists():
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                 "-d", str(target), f"{package}=={version}"],
                check=True,
            )  # fmt: skip
        (archive,) = target.iterdir()
        for child in repo.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        with tempfile.TemporaryDirectory() as unpacked:
            if archive.suffix == ".zip":
                zipfile.ZipFile(archive).extractall(unpacked)
            else:
                with tarfile.open(archive) as tar:
                    tar.extractall(unpacked, filter="data")
            (top,) = Path(unpacked).iterdir()
            for child in top.iterdir():
                shutil.move(str(child), repo / child.name)
        date = f"2023-{1 + index // 3:02d}-{1 + index % 3 * 9:02d}T12:00:00+00:00"
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(
            ["git", "commit", "-q", "-m", f"{package} {version}"],
            cwd=repo,
            check=True,
            env={**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )
    subprocess.run(["git", "gc", "-q"], cwd=repo, check=True)
    return repo


def introduced_blobs(repo: Path) -> list[str]:
    from leakstop.scanner.sources.history import GitHistorySource

    source = GitHistorySource(repo)
    return [entry.blob_id for entry in source.introductions([])]


def read_leakstop(repo: Path, blobs: list[str]) -> int:
    from leakstop.scanner.sources.catfile import BlobReader

    with BlobReader(repo) as reader:
        return sum(len(blob.data or b"") for blob in reader.read(blobs, lambda b: b))


def read_gitpython(repo: Path, blobs: list[str], pure_python: bool) -> int:
    import git

    odb = {"odbt": git.GitDB} if pure_python else {}
    handle = git.Repo(repo, **odb)
    total = sum(len(handle.odb.stream(bytes.fromhex(blob)).read()) for blob in blobs)
    handle.close()
    return total


def read_all_objects(repo: Path) -> int:
    process = subprocess.Popen(
        ["git", "cat-file", "--batch-all-objects", "--batch", "--unordered"],
        cwd=repo,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    total = 0
    while header := process.stdout.readline():
        size = int(header.split()[2])
        kind = header.split()[1]
        data = process.stdout.read(size + 1)
        if kind == b"blob":
            total += len(data) - 1
    process.wait()
    return total


def timed(function: Callable[[], int], repeat: int) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/work/bench-data/history"))
    parser.add_argument("--package", default="django")
    parser.add_argument("--versions", nargs="+", default=DEFAULT_VERSIONS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    repo = build(args.workdir, args.package, args.versions)
    commits = subprocess.run(
        ["git", "rev-list", "--count", "--all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    started = time.perf_counter()
    blobs = introduced_blobs(repo)
    walk = time.perf_counter() - started
    print(f"repository: {repo} ({commits} commits, {len(blobs)} distinct blobs introduced)")
    print(f"history walk (git log --raw, once): {walk:.2f} s")
    readers: dict[str, Callable[[], int]] = {
        "leakstop BlobReader (pipelined cat-file --batch)": lambda: read_leakstop(repo, blobs),
        "GitPython GitCmdObjectDB (default)": lambda: read_gitpython(repo, blobs, False),
        "GitPython GitDB (pure Python)": lambda: read_gitpython(repo, blobs, True),
        "cat-file --batch-all-objects --unordered": lambda: read_all_objects(repo),
    }
    print(f"{'blob reader':52s} {'seconds':>8s} {'MB/s':>8s} {'blobs/s':>9s}")
    for name, function in readers.items():
        seconds, total = timed(function, args.repeat)
        print(f"{name:52s} {seconds:8.2f} {total / 1e6 / seconds:8.1f} {len(blobs) / seconds:9.0f}")

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    reports = Path(tempfile.mkdtemp(prefix="history-bench-"))
    scanners = {
        "leakstop scan --git": (
            ["leakstop", "scan", "--git", "-f", "json", "-o", str(reports / "leakstop.json")],
            lambda data: len(data["findings"]),
        )
    }
    if gitleaks := shutil.which("gitleaks"):
        scanners["gitleaks git"] = (
            [gitleaks, "git", "--no-banner", "--exit-code", "0", "--report-format", "json",
             "--report-path", str(reports / "gitleaks.json")],
            len,
        )  # fmt: skip
    total_bytes = read_leakstop(repo, blobs)
    print(
        f"\n{'scanner (history, whole repository)':38s} {'seconds':>8s} {'MB/s':>8s} "
        f"{'blobs/s':>9s} {'findings':>9s}"
    )
    for name, (command, count) in scanners.items():
        report = Path(command[command.index("-o") + 1] if "-o" in command else command[-1])

        def scan(command: list[str] = command, name: str = name) -> int:
            done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
            if done.returncode not in (0, 1):
                sys.exit(f"{name} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
            return total_bytes

        seconds, _ = timed(scan, args.repeat)
        findings = count(json.loads(report.read_text()))
        print(
            f"{name:38s} {seconds:8.2f} {total_bytes / 1e6 / seconds:8.1f} "
            f"{len(blobs) / seconds:9.0f} {findings:9d}"
        )


if __name__ == "__main__":
    main()
