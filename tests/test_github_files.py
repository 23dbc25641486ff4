"""action.yml and every workflow, validated offline as CI would: the published JSON schemas
(check-jsonschema) and actionlint, which also checks `uses: ./` against action.yml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import installed_tool

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("examples/workflows/*.yml")])


def _tool(name: str) -> str:
    path = installed_tool(name)
    assert path, f"{name} is a test dependency (pip install -e '.[test]')"
    return path


def test_there_are_workflows_to_check() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"ci.yml", "leakstop.yml", "leakstop-respond.yml"} <= names


def test_action_metadata_matches_the_schema() -> None:
    result = subprocess.run(
        [
            _tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-actions",
            str(ROOT / "action.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_matches_the_schema(workflow: Path) -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint() -> None:
    # shellcheck is used when installed (.ci/run installs it); -shellcheck= turns it off otherwise.
    shellcheck = [] if shutil.which("shellcheck") else ["-shellcheck="]
    result = subprocess.run(
        [_tool("actionlint"), *shellcheck, *(str(p.relative_to(ROOT)) for p in WORKFLOWS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
