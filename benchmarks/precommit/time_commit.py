"""Time `git commit` with the leakstop pre-commit hook on a repository of >= 10,000 files.

    python benchmarks/precommit/time_commit.py [--files 12000] [--repeat 5] [--workdir DIR]

Builds a repository from real Python source files (this interpreter's standard library and
site-packages, copied until --files is reached), installs the hook exactly as a user does
(`.pre-commit-config.yaml` naming this checkout at its HEAD commit, `pre-commit install`),
warms the hook's environment once, then times, --repeat times each and alternating:

* `git commit --no-verify` of a one-file change (git alone),
* `git commit` of a clean one-file change (the hook passes),
* `git commit` of a change adding a secret (the hook blocks it),
* `git commit` of a clean change with a plain `.git/hooks/pre-commit` that runs
  `leakstop scan --staged` (leakstop's own share, without the pre-commit framework),
* `gitleaks git --pre-commit --staged` on the same staged secret, if gitleaks is on PATH.

Run it with PYTHONDONTWRITEBYTECODE unset: installed packages are byte-compiled, and a
machine that forbids it recompiles every module on every start.

Prints the median wall time of each, and leakstop's share (hook time minus git alone).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
TOKEN = "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"  # valid checksum, never issued



def _beside_python(name: str) -> str | None:
    """A command installed with this interpreter (its venv's bin/), else one on PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.is_file() else shutil.which(name)

def _empty_git_config() -> Path:
    """An empty global git config (never /dev/null: a git config write would replace it)."""
    path = Path(tempfile.mkdtemp(prefix="bench-git-")) / "gitconfig"
    path.touch()
    return path


def run(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if check and result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def build_repository(repo: Path, files: int, env: dict[str, str]) -> int:
    sources = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    copied = 0
    for source in sources:
        for path in sorted(source.rglob("*.py")):
            if copied >= files:
                break
            target = repo / "src" / str(copied // 1000) / f"{copied}_{path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied += 1
    run(["git", "init", "-q", "-b", "main"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-q", "-m", "import"], repo, env)
    return copied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=12_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="leakstop-precommit-"))
    repo = workdir / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": str(_empty_git_config()),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "PRE_COMMIT_HOME": str(workdir / "pre-commit-home"),
    }
    count = build_repository(repo, args.files, env)
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=CHECKOUT, capture_output=True, text=True, check=True
    ).stdout.strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {CHECKOUT}\n    rev: {revision}\n    hooks:\n      - id: leakstop\n"
    )
    pre_commit = _beside_python("pre-commit") or sys.exit("pre-commit is not installed")
    run([pre_commit, "install"], repo, env)
    run(["git", "add", ".pre-commit-config.yaml"], repo, env)
    run(["git", "commit", "-q", "-m", "hook"], repo, env)  # installs the hook's environment

    timings: dict[str, list[float]] = {
        "git commit --no-verify": [],
        "clean commit": [],
        "blocked commit": [],
        "clean commit, plain git hook": [],
    }
    framework_hook = repo / ".git" / "hooks" / "pre-commit"
    plain_hook = repo / ".git" / "hooks" / "plain-pre-commit"
    leakstop = _beside_python("leakstop") or sys.exit("leakstop is not installed")
    plain_hook.write_text(f"#!/bin/sh\nexec {leakstop} scan --staged\n")
    plain_hook.chmod(0o755)
    gitleaks = shutil.which("gitleaks")
    if gitleaks:
        timings["gitleaks git --pre-commit --staged"] = []
    target = repo / "src" / "0" / "change.py"
    for index in range(args.repeat):
        target.write_text(f"VALUE = {index}\n")
        run(["git", "add", str(target)], repo, env)
        timings["git commit --no-verify"].append(
            run(["git", "commit", "-q", "--no-verify", "-m", f"plain {index}"], repo, env)
        )
        target.write_text(f"VALUE = {index} + 1\n")
        run(["git", "add", str(target)], repo, env)
        timings["clean commit"].append(
            run(["git", "commit", "-q", "-m", f"clean {index}"], repo, env)
        )
        target.write_text(f'TOKEN = "{TOKEN}"\n')
        run(["git", "add", str(target)], repo, env)
        timings["blocked commit"].append(
            run(["git", "commit", "-q", "-m", "secret"], repo, env, check=False)
        )
        if gitleaks:
            timings["gitleaks git --pre-commit --staged"].append(
                run(
                    [gitleaks, "git", "--pre-commit", "--staged", "--no-banner"],
                    repo,
                    env,
                    check=False,
                )
            )
        run(["git", "reset", "-q", "HEAD", "--", str(target)], repo, env)
        target.write_text(f"VALUE = {index} + 2\n")
        run(["git", "add", str(target)], repo, env)
        framework_hook.rename(repo / ".git" / "hooks" / "framework-pre-commit")
        plain_hook.rename(framework_hook)
        timings["clean commit, plain git hook"].append(
            run(["git", "commit", "-q", "-m", f"plain hook {index}"], repo, env)
        )
        framework_hook.rename(plain_hook)
        (repo / ".git" / "hooks" / "framework-pre-commit").rename(framework_hook)

    print(f"repository: {count} files ({repo}); {args.repeat} runs each, median wall time")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, value in medians.items():
        print(f"  {name:38s} {value:6.3f} s")
    labels = {
        "clean commit": "overhead of the pre-commit hook",
        "clean commit, plain git hook": "overhead of the plain git hook",
    }
    for name, label in labels.items():
        overhead = medians[name] - medians["git commit --no-verify"]
        print(f"  {label:38s} {overhead:6.3f} s")


if __name__ == "__main__":
    main()
