"""File names, refs and event payloads crafted to run a command, inject a git option, write a
file or forge a workflow command: reported exactly (JSON, SARIF) or escaped (text, Markdown,
annotations), never executed, never a file written outside the output the user named."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import GITHUB_TOKEN, GitRepo, assert_safe_output, installed_tool

pytestmark = pytest.mark.e2e
PACKAGE = Path(__file__).resolve().parents[2] / "leakstop"

HOSTILE_NAMES = [
    "-rf",
    "--output=written-by-git",
    "$(touch pwned)",
    ";rm -rf x;",
    "`touch pwned`",
    "new\nline.env",
    "100%0A::error::forged.env",
    "::warning file=evil::forged",
    "a,b:c=d.env",
    "\x1b[2Jclear.env",
    "\u202eevil.env",
    "sub/-c core.pager=touch pwned",
    "##[add-mask]x.env",
]
#: Commands leakstop itself writes to the Actions log.
OWN_COMMANDS = ("::error ", "::warning ", "::notice ", "::add-mask::")


def _leakstop(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    executable = installed_tool("leakstop")
    command = [executable] if executable else [sys.executable, "-m", "leakstop"]
    base = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "LEAKSTOP_CONFIG")}
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, env={**base, **(env or {})}
    )


def test_no_subprocess_reaches_a_shell() -> None:
    """No `shell=True`, `os.system`, `os.popen` or `subprocess.getoutput` in the package."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name in (
                "os.system",
                "os.popen",
                "subprocess.getoutput",
                "subprocess.getstatusoutput",
            ):
                offenders.append(f"{path.name}:{node.lineno} {name}")
            for keyword in node.keywords:
                if keyword.arg == "shell" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    offenders.append(
                        f"{path.name}:{node.lineno} shell={ast.unparse(keyword.value)}"
                    )
    assert offenders == []
    assert len(list(PACKAGE.rglob("*.py"))) > 100  # the walk saw the package


@pytest.fixture
def hostile(git_repo: GitRepo) -> GitRepo:
    git_repo.write("README.md", "base\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    for name in HOSTILE_NAMES:
        git_repo.write(name, f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("hostile names")
    return git_repo


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.parts}


@pytest.mark.parametrize(
    "mode", [("--no-git", "."), (".",), ("--git",), ("--diff", "main..feature")]
)
def test_hostile_names_are_reported_exactly_and_run_nothing(
    hostile: GitRepo, tmp_path: Path, mode: tuple[str, ...]
) -> None:
    before = _files(hostile.path)
    reports = tmp_path / "reports"
    reports.mkdir()
    outputs = {}
    for fmt in ("json", "sarif", "text", "markdown", "github"):
        out = reports / f"report.{fmt}"
        result = _leakstop("scan", *mode, "-f", fmt, "-o", str(out), cwd=hostile.path)
        assert result.returncode == 1, (fmt, result.stderr)
        assert GITHUB_TOKEN not in result.stdout + result.stderr
        outputs[fmt] = out.read_text(encoding="utf-8")
        assert GITHUB_TOKEN not in outputs[fmt]

    assert _files(hostile.path) == before  # nothing written in the repository
    assert sorted(os.listdir(reports)) == sorted(f"report.{f}" for f in outputs)
    assert not (hostile.path / "pwned").exists()
    assert not (hostile.path / "written-by-git").exists()

    # JSON and SARIF keep the exact names (a path must still open its file).
    paths = sorted(f["path"] for f in json.loads(outputs["json"])["findings"])
    assert paths == sorted(HOSTILE_NAMES)
    (run,) = json.loads(outputs["sarif"])["runs"]
    uris = sorted(
        urllib.parse.unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in run["results"]
    )
    assert uris == sorted(HOSTILE_NAMES)
    # Text, Markdown and annotations cannot steer a terminal or the runner.
    for fmt in ("json", "sarif", "text", "markdown"):
        assert_safe_output(outputs[fmt])
    assert_safe_output(outputs["github"], OWN_COMMANDS)
    annotations = outputs["github"].splitlines()
    # GitHub shows 10 per level and step: the rest are counted, not annotated.
    assert len([a for a in annotations if a.startswith("::")]) == 10
    assert f"{len(HOSTILE_NAMES) - 10} more findings are not annotated" in outputs["github"]
    for line in annotations:
        if not line.startswith("::"):
            continue
        properties, _sep, _message = line[2:].partition("::")
        level, _space, pairs = properties.partition(" ")
        assert level in ("error", "warning", "notice"), line
        keys = [pair.split("=", 1)[0] for pair in pairs.split(",")]
        # Only leakstop's own properties: no `,` or `:` from a name survived unescaped.
        assert set(keys) <= {"file", "line", "endLine", "col", "endColumn", "title"}, line


def _event(tmp_path: Path, name: str, payload: dict[str, object]) -> dict[str, str]:
    runner = tmp_path / "runner"
    runner.mkdir(exist_ok=True)
    (runner / "event.json").write_text(json.dumps(payload))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(runner / "event.json"),
        "RUNNER_TEMP": str(runner),
        "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
        "GITHUB_OUTPUT": str(runner / "output"),
    }


INJECTIONS = [
    "--upload-pack=touch pwned;true",
    "--output=written-by-git",
    "-c core.pager=touch pwned",
    "-ccore.fsmonitor=touch pwned",
]


@pytest.mark.parametrize("injection", INJECTIONS[::2])
@pytest.mark.parametrize(
    ("event_name", "where"),
    [
        ("pull_request", "base"),
        ("pull_request", "head"),
        ("push", "before"),
        ("push", "after"),
        ("push", "default_branch"),
    ],
)
def test_event_payloads_cannot_inject_git_options(
    hostile: GitRepo, tmp_path: Path, event_name: str, where: str, injection: str
) -> None:
    sha = hostile.git("rev-parse", "HEAD").strip()
    main = hostile.git("rev-parse", "main").strip()
    payload: dict[str, object]
    if event_name == "pull_request":
        sides = {"base": {"sha": main}, "head": {"sha": sha}}
        sides[where] = {"sha": injection}
        payload = {"pull_request": {"number": 1, **sides}, "repository": {"default_branch": "main"}}
    else:
        payload = {"before": main, "after": sha, "repository": {"default_branch": "main"}}
        if where == "default_branch":
            payload["before"] = "0" * 40
            payload["repository"] = {"default_branch": injection}
        else:
            payload[where] = injection
    result = _leakstop("action", cwd=hostile.path, env=_event(tmp_path, event_name, payload))
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (hostile.path / "pwned").exists()
    assert not (hostile.path / "written-by-git").exists()


@pytest.mark.parametrize("injection", INJECTIONS)
def test_command_line_refs_cannot_inject_git_options(hostile: GitRepo, injection: str) -> None:
    for args in (
        ("--diff", f"{injection}..feature"),
        ("--diff", f"main..{injection}"),
        ("--git", f"--log-opts={injection}"),
    ):
        result = _leakstop("scan", *args, cwd=hostile.path)
        assert result.returncode == 2, (args, result.stdout + result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not (hostile.path / "pwned").exists()
        assert not (hostile.path / "written-by-git").exists()
