"""`leakstop respond --dry-run`: the plan, in text and Markdown, never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.cli import main
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN


@pytest.fixture
def leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEAKSTOP_CONFIG", raising=False)
    (tmp_path / "a.env").write_text(f"TOKEN={GITHUB_TOKEN}\naws_access_key_id={AWS_KEY_ID}\n")
    (tmp_path / "b.env").write_text(f"TOKEN={GITHUB_TOKEN}\n")
    return tmp_path


def test_dry_run_plans_one_response_per_secret(
    leaks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["respond", "--dry-run", "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Response plan (dry run): 2 distinct secrets\n")
    assert "revoke through GitHub's credential revocation API" in out
    assert "create a new IAM access key" in out
    assert "(needs confirmation: not verified live)" in out
    assert GITHUB_TOKEN not in out
    assert AWS_KEY_ID not in out


def test_markdown_plan(leaks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["respond", "--dry-run", "-f", "markdown", "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## leakstop response plan (dry run)\n")
    assert "| `github-pat` | `a.env:1` |" in out
    assert out.count("| needs confirmation |") == 2
    assert GITHUB_TOKEN not in out


def test_nothing_to_respond_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.txt").write_text("hello\n")
    assert main(["respond", "--dry-run"]) == 0
    assert capsys.readouterr().out == "Nothing to respond to: no findings.\n"


def test_without_dry_run_it_says_rotation_is_not_here_yet(
    leaks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["respond"]) == 2
    err = capsys.readouterr().err
    assert "rotation is not available yet" in err
    assert len(err.strip().splitlines()) == 1
