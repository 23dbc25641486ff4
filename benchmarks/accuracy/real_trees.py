#!/usr/bin/env python3
"""False alarms on real trees nobody here wrote: installed Python packages, npm packages, the
Python documentation and a long public history built from released versions of Django.

    python real_trees.py prepare --work DIR            # download and build the trees (once)
    python real_trees.py run --work DIR [--leakstop-cmd CMD] [--tools leakstop,gitleaks,...]

Every tree is public code and text published by others, so nearly everything a scanner reports
in it is a false alarm, a documented example or a test fixture; the few real-looking values
are checked by hand. `run` prints, per tree and tool, the findings per 100 MB (leakstop's split
by severity) and writes every leakstop finding of severity high or critical to
WORK/review.jsonl: path, line, rule and the line with the value masked. The verdicts of that
hand check are kept in `real_trees_verdicts.json` beside this script (keyed by tree, path,
rule and the value's SHA-1, so a verdict survives a line moving); `run` says how many high
findings have no verdict yet.

Pinned inputs (so a re-run scans the same bytes): the PyPI and npm packages below, Debian's
python3.11-doc, Django's sdists. `prepare` needs the PyPI, npm and Debian registries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as peers  # noqa: E402

PYPI_PACKAGES = [
    "boto3==1.35.0",
    "botocore==1.35.0",
    "django==5.0.8",
    "flask==3.0.3",
    "sqlalchemy==2.0.32",
    "requests==2.32.3",
    "cryptography==43.0.0",
    "paramiko==3.4.1",
    "ansible-core==2.17.3",
    "google-api-python-client==2.141.0",
    "azure-mgmt-compute==33.0.0",
    "stripe==10.7.0",
    "twilio==9.2.3",
    "sphinx==7.4.7",
    "pytest==8.3.2",
]
NPM_PACKAGES = [
    "moment@2.30.1",
    "date-fns@3.6.0",
    "i18next@23.12.2",
    "lodash@4.17.21",
    "aws-sdk@2.1670.0",
    "firebase@10.12.5",
    "stripe@16.6.0",
    "typescript@5.5.4",
]
DEBIAN_DOCS = ["python3.11-doc"]
DJANGO_VERSIONS = ["4.0", "4.1", "4.2", "5.0", "5.1"]
TREES = ("pypi", "npm", "docs", "django-history")
VERDICTS = HERE / "real_trees_verdicts.json"
REVIEWED_SEVERITIES = ("critical", "high")


def prepare(work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "pypi").exists():
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
              str(work / "pypi"), *PYPI_PACKAGES])
    if not (work / "npm").exists():
        (work / "npm").mkdir()
        _run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--ignore-scripts",
              "--prefix", str(work / "npm"), *NPM_PACKAGES])
    if not (work / "docs").exists():
        with tempfile.TemporaryDirectory() as scratch:
            _run(["apt-get", "download", *DEBIAN_DOCS], cwd=scratch)
            for deb in Path(scratch).glob("*.deb"):
                _run(["dpkg-deb", "-x", str(deb), str(work / "docs")])
    if not (work / "django-history").exists():
        _django_history(work / "django-history")


def _django_history(repo: Path) -> None:
    """A git repository with one commit per Django release: each commit's tree is that
    release's sdist, so the history holds every file every release changed."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "real-trees", "GIT_AUTHOR_EMAIL": "rt@example.org",
           "GIT_COMMITTER_NAME": "real-trees", "GIT_COMMITTER_EMAIL": "rt@example.org"}
    _run(["git", "init", "--quiet", str(repo)])
    with tempfile.TemporaryDirectory() as scratch:
        for version in DJANGO_VERSIONS:
            _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                  ":all:", "--dest", scratch, f"django=={version}"])
            (sdist,) = Path(scratch).glob(f"[Dd]jango-{version}.tar.gz")
            _run(["git", "rm", "-r", "-q", "--ignore-unmatch", "."], cwd=repo)
            with tarfile.open(sdist) as archive:
                top = archive.getmembers()[0].name.split("/")[0]
                archive.extractall(scratch, filter="data")
            _run(["cp", "-a", f"{scratch}/{top}/.", str(repo)])
            _run(["git", "add", "-A"], cwd=repo)
            _run(["git", "commit", "-q", "-m", f"Django {version}"], cwd=repo, env=env)
            _run(["rm", "-rf", f"{scratch}/{top}", str(sdist)])


def _run(cmd: list[str], cwd: str | Path | None = None, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, env=env, check=True)


def tree_size(path: Path, history: bool) -> tuple[int, int]:
    """(files, bytes): of the working tree, or of every blob in the history."""
    if history:
        out = subprocess.run(
            ["git", "-C", str(path), "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)"],
            check=True, capture_output=True, text=True,
        ).stdout.split("\n")
        sizes = [int(line.split()[1]) for line in out if line.startswith("blob ")]
        return len(sizes), sum(sizes)
    files = size = 0
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            full = os.path.join(root, name)
            if os.path.isfile(full) and not os.path.islink(full):
                files += 1
                size += os.path.getsize(full)
    return files, size


def scan(args: argparse.Namespace) -> int:
    work = Path(args.work).resolve()
    reports = work / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    tools = args.tools.split(",")
    verdicts = json.loads(VERDICTS.read_text()) if VERDICTS.exists() else {}
    review: list[dict] = []
    rows = []
    for tree in TREES:
        root = work / tree
        if not root.exists():
            print(f"{tree}: missing (run prepare)", file=sys.stderr)
            continue
        history = tree.endswith("-history")
        files, size = tree_size(root, history)
        per_100mb = 100 * 1024 * 1024 / max(size, 1)
        for tool in tools:
            run = peers.run_tool(tool, "history" if history else "tree", str(root), str(reports), args)
            if not run.ok:
                rows.append([tree, f"{size / 2**20:.0f}", str(files), tool, "n/a", "", "", run.error[:50]])
                continue
            if tool != "leakstop":
                rows.append([tree, f"{size / 2**20:.0f}", str(files), tool, str(len(run.findings)),
                             f"{len(run.findings) * per_100mb:.1f}", "", f"{run.seconds:.1f}s"])
                continue
            raw = json.loads((reports / f"leakstop-{'history' if history else 'tree'}.json").read_text())
            found = raw.get("findings", [])
            by_severity: dict[str, int] = {}
            for finding in found:
                by_severity[finding["severity"]] = by_severity.get(finding["severity"], 0) + 1
                if finding["severity"] in REVIEWED_SEVERITIES:
                    review.append(_review_entry(tree, root, finding, verdicts))
            high = sum(by_severity.get(s, 0) for s in REVIEWED_SEVERITIES)
            split = " ".join(f"{s[0]}{by_severity[s]}" for s in ("critical", "high", "medium", "low", "info") if s in by_severity)
            rows.append([tree, f"{size / 2**20:.0f}", str(files), tool, str(len(found)),
                         f"{len(found) * per_100mb:.1f}", f"{high * per_100mb:.2f} ({split})", f"{run.seconds:.1f}s"])
    peers.table("Findings on real trees (per 100 MB scanned; leakstop's high+critical split by severity)",
                ["tree", "MB", "files", "tool", "findings", "/100MB", "high+crit /100MB", "time"], rows)
    with (work / "review.jsonl").open("w") as out:
        for entry in review:
            out.write(json.dumps(entry) + "\n")
    unreviewed = [e for e in review if e["verdict"] is None]
    counts: dict[str, int] = {}
    for entry in review:
        counts[entry["verdict"] or "unreviewed"] = counts.get(entry["verdict"] or "unreviewed", 0) + 1
    print(f"\nleakstop high/critical findings: {len(review)}; verdicts: {counts}")
    print(f"review list: {work / 'review.jsonl'} ({len(unreviewed)} without a verdict)")
    return 0


def verdict_key(tree: str, finding: dict) -> str:
    value = hashlib.sha1(str(finding.get("secret", "")).encode()).hexdigest()[:12]
    return f"{tree}:{finding['path']}:{finding['rule_id']}:{value}"


def _review_entry(tree: str, root: Path, finding: dict, verdicts: dict) -> dict:
    key = verdict_key(tree, finding)
    line = ""
    path = root / finding["path"]
    if path.is_file():
        lines = path.read_text(errors="replace").splitlines()
        number = int(finding.get("line") or 0)
        if 0 < number <= len(lines):
            line = lines[number - 1].strip()[:240]
    secret = str(finding.get("secret", ""))
    if secret:
        line = line.replace(secret, secret[:4] + "…" if len(secret) > 8 else "…")
    verdict = verdicts.get(key, {})
    return {"key": key, "severity": finding["severity"], "rule": finding["rule_id"],
            "path": finding["path"], "line": finding.get("line"), "context": line,
            "verdict": verdict.get("verdict"), "why": verdict.get("why")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["prepare", "run"])
    parser.add_argument("--work", default=str(HERE / "out" / "real-trees"))
    parser.add_argument("--tools", default="leakstop,gitleaks,kingfisher,detect-secrets")
    parser.add_argument("--leakstop-cmd", default="leakstop")
    parser.add_argument("--gitleaks")
    parser.add_argument("--kingfisher")
    parser.add_argument("--detect-secrets")
    args = parser.parse_args()
    if args.action == "prepare":
        prepare(Path(args.work))
        return 0
    return scan(args)


if __name__ == "__main__":
    sys.exit(main())
