"""Both engines find exactly the same on the accuracy benchmark's corpus (issue: the fallback
engine must not change results)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from leakstop.scanner.engine import hyperscan_available
from tests.e2e.test_scan_command import leakstop

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "accuracy" / "generate.py"


@pytest.mark.skipif(not hyperscan_available(), reason="compares hyperscan with the fallback")
def test_engines_agree_on_the_accuracy_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(corpus)], check=True, capture_output=True
    )
    reports = {}
    for engine in ("hyperscan", "keywords"):
        result = leakstop(
            "scan", ".", "--engine", engine, "-f", "json", "--show-secrets", cwd=corpus
        )
        assert result.returncode == 1, result.stderr
        reports[engine] = json.loads(result.stdout)["findings"]
    assert len(reports["hyperscan"]) > 200
    assert reports["hyperscan"] == reports["keywords"]
