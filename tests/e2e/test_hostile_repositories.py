"""What a pull request, a file name or a crafted argument must not be able to do to a scan,
checked with the installed `leakstop` command in real repositories."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from tests.conftest import GITHUB_TOKEN, GitRepo
from tests.e2e.test_scan_command import leakstop

pytestmark = pytest.mark.e2e


def _findings(result_stdout: str) -> list[tuple[str, int, str]]:
    return [(f["path"], f["line"], f["rule_id"]) for f in json.loads(result_stdout)["findings"]]


@pytest.fixture
def feature(git_repo: GitRepo) -> GitRepo:
    git_repo.write("README.md", "base\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    return git_repo


@pytest.mark.parametrize("attribute", ["* -diff", "* binary"])
def test_gitattributes_in_a_pull_request_cannot_hide_a_token(
    feature: GitRepo, attribute: str
) -> None:
    feature.write(".gitattributes", f"{attribute}\n")
    feature.write("app.env", f"MODE=prod\nTOKEN={GITHUB_TOKEN}\n")
    feature.commit("hide it")
    result = leakstop("scan", "--diff", "main..feature", "-f", "json", cwd=feature.path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert _findings(result.stdout) == [("app.env", 2, "github-pat")]


def test_a_utf16_file_is_not_skipped_by_diff_or_staged(feature: GitRepo) -> None:
    text = f"[auth]\r\ntoken = {GITHUB_TOKEN}\r\n"
    feature.write("win.ini", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    feature.git("add", "-A")
    staged = leakstop("scan", "--staged", "-f", "json", cwd=feature.path)
    assert _findings(staged.stdout) == [("win.ini", 2, "github-pat")], staged.stderr
    feature.commit("utf-16")
    diff = leakstop("scan", "--diff", "main..feature", "-f", "json", cwd=feature.path)
    assert _findings(diff.stdout) == [("win.ini", 2, "github-pat")], diff.stderr


@pytest.mark.parametrize("order", ["allowlisted first", "allowlisted later"])
def test_history_reports_a_blob_at_every_path_that_is_not_allowlisted(
    git_repo: GitRepo, order: str
) -> None:
    """The same bytes at an allowlisted `fixtures/` path and at `src/prod.env`: scanned once,
    reported at the path that is not allowlisted, whichever came first."""
    git_repo.write(".leakstop.yaml", "version: 1\nallowlist:\n  paths: ['fixtures/']\n")
    content = f"TOKEN={GITHUB_TOKEN}\n"
    first, second = ("fixtures/token.env", "src/prod.env")
    if order == "allowlisted later":
        first, second = second, first
    git_repo.write(first, content)
    git_repo.commit("first")
    git_repo.write(second, content)
    git_repo.commit("second")
    result = leakstop("scan", "--git", "-f", "json", cwd=git_repo.path)
    assert result.returncode == 1, result.stderr
    assert _findings(result.stdout) == [("src/prod.env", 1, "github-pat")]


def test_history_reports_a_copied_secret_under_each_path(git_repo: GitRepo) -> None:
    content = f"TOKEN={GITHUB_TOKEN}\n"
    git_repo.write("a.env", content)
    git_repo.commit("a")
    git_repo.write("b.env", content)
    git_repo.commit("copy")
    result = leakstop("scan", "--git", "-f", "json", cwd=git_repo.path)
    assert _findings(result.stdout) == [("a.env", 1, "github-pat"), ("b.env", 1, "github-pat")]
    assert json.loads(result.stdout)["stats"]["scanned"] == 1  # the blob is read once


def test_a_file_named_like_a_baseline_is_scanned(feature: GitRepo) -> None:
    """Baselines hold only fingerprints and redactions; a name must not exempt a file."""
    feature.write("sub/.secrets.baseline", f"TOKEN={GITHUB_TOKEN}\n")
    feature.write(".leakstop-baseline.json", json.dumps({"note": GITHUB_TOKEN}))
    feature.commit("hide in baselines")
    result = leakstop("scan", "--diff", "main..feature", "-f", "json", cwd=feature.path)
    assert sorted(p for p, _l, _r in _findings(result.stdout)) == [
        ".leakstop-baseline.json",
        "sub/.secrets.baseline",
    ]


def test_extra_rule_files_cannot_replace_a_builtin_rule(feature: GitRepo) -> None:
    feature.write(
        "weaker.yaml",
        "version: 1\nrules:\n  - id: github-pat\n    description: never matches\n"
        "    regex: 'x{1000}'\n    keywords: [xxxx]\n",
    )
    feature.write("app.env", f"TOKEN={GITHUB_TOKEN}\n")
    result = leakstop("scan", "--rules", "weaker.yaml", cwd=feature.path)
    assert result.returncode == 2
    assert "rule 'github-pat'" in result.stderr
    assert "cannot replace" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_diff_range_cannot_run_a_command(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("a.txt", "a\n")
    git_repo.commit("a")
    clone = tmp_path / "clone"
    git_repo.git("clone", "-q", f"file://{git_repo.path}", str(clone))
    marker = tmp_path / "pwned"
    result = leakstop(
        "scan", f"--diff=--upload-pack=touch {marker};true ..HEAD", "--fetch", cwd=clone
    )
    assert result.returncode == 2, result.stderr
    assert "is not a revision" in result.stderr
    assert not marker.exists()


def test_log_opts_paths_and_ranges_work_after_our_options(git_repo: GitRepo) -> None:
    git_repo.write("src/app.env", f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.write("docs/readme.md", "docs\n")
    git_repo.commit("add")
    result = leakstop("scan", "--git", "--log-opts=HEAD -- src", "-f", "json", cwd=git_repo.path)
    assert result.returncode == 1, result.stderr
    assert _findings(result.stdout) == [("src/app.env", 1, "github-pat")]


@pytest.mark.parametrize(
    ("log_opts", "message"),
    [
        ("HEAD -- no-such-path", "selects no commits"),
        ("HEAD..HEAD", "selects no commits"),
        ("--format=%H", "changes git log's output"),
        ("--output=written-by-git", "changes git log's output"),
        ("-p", "changes git log's output"),
    ],
)
def test_log_opts_that_select_nothing_or_change_the_output_are_errors(
    git_repo: GitRepo, log_opts: str, message: str
) -> None:
    git_repo.write("a.env", f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.commit("add")
    result = leakstop("scan", "--git", f"--log-opts={log_opts}", cwd=git_repo.path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (git_repo.path / "written-by-git").exists()
