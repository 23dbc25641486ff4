"""A bounded run of each fuzz target in benchmarks/fuzz (the hunt runs longer locally; see its
README): a few seconds of coverage-guided fuzzing under atheris, or of the hypothesis loop
where atheris is not installed, so CI notices a target that crashes on what it finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz"
TARGETS = ["detector", "decode", "config", "rules", "baseline", "audit", "store"]


@pytest.mark.slow  # ~2 s of fuzzing plus ~3 s of start-up and instrumentation each
@pytest.mark.parametrize("target", TARGETS)
def test_the_fuzz_target_runs_a_few_seconds_without_a_crash(target: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(FUZZ / "fuzz.py"), target, "-max_total_time=2", "-rss_limit_mb=2048"],
        cwd=tmp_path,  # atheris writes crash files into the working directory
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "executions in" in result.stderr or "Done " in result.stderr, result.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*"))


def test_an_unknown_target_is_refused_with_usage(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(FUZZ / "fuzz.py"), "nope"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr
