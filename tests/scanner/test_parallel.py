"""Scanning on several processes gives exactly the single-process result."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.allowlist import Allowlist, PathPatterns
from leakstop.rules import Rule
from leakstop.scanner import parallel
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine
from leakstop.scanner.parallel import DetectorRecipe, batched, default_jobs
from leakstop.scanner.runner import PARALLEL_MIN_ITEMS, run_scan
from leakstop.scanner.sources.files import FileSource
from leakstop.scanner.sources.history import GitHistorySource
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, GitRepo


def _setup(
    rules: list[Rule], allowlists: tuple[Allowlist, ...] = ()
) -> tuple[Detector, DetectorRecipe]:
    detector = Detector(build_engine(rules), allowlists, b"k")
    return detector, DetectorRecipe(tuple(rules), allowlists, b"k", detector.engine.name)


def _key(result):  # type: ignore[no-untyped-def]
    return (
        [(f.rule_id, f.location, f.fingerprint, f.commit) for f in result.findings],
        result.stats.scanned,
        result.stats.bytes,
        dict(result.stats.skipped),
    )


# fork: workers inherit the detector (Linux); spawn: they build it from the recipe (macOS,
# Windows), which must give the same detector.
START_METHODS = pytest.mark.parametrize("fork", [True, False], ids=["fork", "spawn"])


@START_METHODS
def test_files_on_two_processes_match_one(
    tmp_path: Path, all_rules: list[Rule], fork: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "FORK", fork)
    for number in range(PARALLEL_MIN_ITEMS * 3):
        folder = tmp_path / f"d{number % 7}"
        folder.mkdir(exist_ok=True)
        body = f"value = {number}\n" * 20
        if number % 9 == 0:
            body += f"TOKEN={GITHUB_TOKEN}\naws_access_key_id={AWS_KEY_ID}\n"
        (folder / f"f{number}.env").write_text(body)
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01" + GITHUB_TOKEN.encode())
    allowlists = (Allowlist(paths=PathPatterns(["d3/"])),)
    detector, recipe = _setup(all_rules, allowlists)
    source = FileSource([tmp_path], tmp_path, skip=lambda path: path.startswith("d3/"))
    one = run_scan(source, detector, all_rules, jobs=1, recipe=recipe)
    two = run_scan(source, detector, all_rules, jobs=2, recipe=recipe)
    assert _key(one) == _key(two)
    assert len(one.findings) > 20
    assert one.stats.skipped["allowlisted"] > 0
    assert one.stats.skipped["binary"] == 1


@START_METHODS
def test_history_on_two_processes_matches_one(
    git_repo: GitRepo, all_rules: list[Rule], fork: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "FORK", fork)
    for number in range(40):
        git_repo.write(
            f"f{number % 5}.env",
            f"n={number}\nTOKEN={GITHUB_TOKEN}\n" if number % 4 == 0 else f"n={number}\n",
        )
        git_repo.commit(f"c{number}")
    detector, recipe = _setup(all_rules)
    source = GitHistorySource(git_repo.path)
    one = run_scan(source, detector, all_rules, jobs=1, recipe=recipe)
    two = run_scan(source, detector, all_rules, jobs=2, recipe=recipe)
    assert _key(one) == _key(two)
    assert len(one.findings) == 5  # once per path, at the oldest commit


def test_helpers() -> None:
    assert list(batched(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert default_jobs() >= 1
