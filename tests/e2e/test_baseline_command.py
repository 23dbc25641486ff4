"""Baselines end to end: create, then rename, move, rebase, shallow-clone; import from
detect-secrets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN, GitRepo, installed_tool
from tests.e2e.test_scan_command import leakstop

pytestmark = pytest.mark.e2e
NEW_TOKEN = "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"


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("config/app.env", f"# app\nTOKEN={GITHUB_TOKEN}\n")
    git_repo.write("deploy.sh", f"export AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")
    git_repo.commit("initial")
    result = leakstop("baseline", "create", cwd=git_repo.path)
    assert result.returncode == 0, result.stderr
    assert "Wrote 2 findings to .leakstop-baseline.json" in result.stdout
    git_repo.commit("add baseline")
    return git_repo


def _findings(repo: GitRepo, *args: str) -> list[dict]:  # type: ignore[type-arg]
    result = leakstop(
        "scan", *args, "--baseline", ".leakstop-baseline.json", "-f", "json", cwd=repo.path
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)["findings"]  # type: ignore[no-any-return]


def test_baselined_findings_are_not_reported_but_new_ones_are(repo: GitRepo) -> None:
    assert _findings(repo) == []
    repo.write("new.env", f"T={NEW_TOKEN}\n")
    assert [f["path"] for f in _findings(repo)] == ["new.env"]
    text = leakstop("scan", "--baseline", ".leakstop-baseline.json", cwd=repo.path).stdout
    assert "2 known in the baseline" in text


def test_survives_a_rename(repo: GitRepo) -> None:
    (repo.path / "settings").mkdir()
    repo.git("mv", "config/app.env", "settings/production.env")
    repo.commit("rename")
    assert _findings(repo) == []


def test_survives_a_line_move(repo: GitRepo) -> None:
    repo.write("config/app.env", "# app\n" + "# padding\n" * 50 + f"   TOKEN = {GITHUB_TOKEN}\n")
    repo.commit("move")
    assert _findings(repo) == []


def test_survives_a_rebase_in_history_scans(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "feature", "HEAD~1")
    repo.write("feature.txt", "work\n")
    repo.commit("feature")
    repo.git("rebase", "-q", "main")  # rewrites commits: new ids, same secrets
    (repo.path / ".leakstop-baseline.json").write_text(
        repo.git("show", "main:.leakstop-baseline.json")
    )
    assert _findings(repo, "--git") == []


def test_shallow_clone_uses_the_baselines_key(repo: GitRepo, tmp_path: Path) -> None:
    clone = repo.shallow_clone(tmp_path / "shallow").path
    result = leakstop("scan", "--baseline", ".leakstop-baseline.json", "-f", "json", cwd=clone)
    assert json.loads(result.stdout)["findings"] == []


def test_update_reports_changes(repo: GitRepo) -> None:
    (repo.path / "deploy.sh").unlink()
    repo.write("new.env", f"T={NEW_TOKEN}\n")
    result = leakstop("baseline", "update", ".leakstop-baseline.json", cwd=repo.path)
    assert "1 new, 1 kept, 1 no longer found and removed" in result.stdout
    assert _findings(repo) == []


def test_import_from_detect_secrets(git_repo: GitRepo) -> None:
    git_repo.write(
        "settings.py", f'AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\nAPI_TOKEN = "{GITHUB_TOKEN}"\n'
    )
    git_repo.commit("initial")
    detect_secrets = installed_tool("detect-secrets")
    assert detect_secrets, "detect-secrets is a dependency and installs its command"
    generated = subprocess.run(
        [detect_secrets, "scan"], cwd=git_repo.path, capture_output=True, text=True, check=True
    ).stdout
    (git_repo.path / ".secrets.baseline").write_text(generated)
    assert json.loads(generated)["results"]["settings.py"]
    refused = leakstop("scan", "--baseline", ".secrets.baseline", cwd=git_repo.path)
    assert refused.returncode == 2
    assert "leakstop baseline import" in refused.stderr

    imported = leakstop("baseline", "import", ".secrets.baseline", cwd=git_repo.path)
    assert imported.returncode == 0, imported.stderr
    assert "Imported" in imported.stdout
    assert _findings(git_repo) == []  # both secrets were known to detect-secrets
    git_repo.write(
        "settings.py", f'AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\nAPI_TOKEN = "{NEW_TOKEN}"\n'
    )
    assert [f["rule_id"] for f in _findings(git_repo)] == ["github-pat"]
    again = leakstop("baseline", "import", ".secrets.baseline", cwd=git_repo.path)
    assert again.returncode == 2
    assert "refusing to overwrite" in again.stderr
