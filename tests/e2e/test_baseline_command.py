"""Baselines end to end: create, then rename, move, rebase, shallow-clone; import from
detect-secrets; read and upgrade a version-1 baseline."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from leakstop import fingerprint_key
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


PASSWORD = "Vq7#mZ2pLx9!rT4w"


@pytest.fixture
def v1_repo(git_repo: GitRepo) -> GitRepo:
    """A repository with a password and a token, and the baseline release 0.1 wrote for it:
    version 1, HMAC-SHA256 fingerprints, two fifths of each secret shown, reviews filled in."""
    git_repo.write("app.env", f'DB_PASSWORD="{PASSWORD}"\nTOKEN={GITHUB_TOKEN}\n')
    git_repo.commit("initial")
    root = git_repo.git("rev-list", "--max-parents=0", "HEAD").strip()
    key = fingerprint_key.from_root_commit(root).key

    def entry(rule: str, secret: str, line: int, status: str, note: str) -> dict[str, object]:
        message = rule.encode() + b"\0" + secret.encode()
        keep = min(4, len(secret) // 5)
        return {
            "fingerprint": hmac.new(key, message, hashlib.sha256).hexdigest()[:32],
            "rule_id": rule,
            "path": "app.env",
            "line": line,
            "secret_redacted": f"{secret[:keep]}…{secret[-keep:]}",
            "commit": None,
            "status": status,
            "note": note,
        }

    document = {
        "version": 1,
        "generated_by": "leakstop 0.1.0",
        "fingerprint_key": f"root:{root}",
        "findings": [
            entry("generic-password", PASSWORD, 1, "accepted", "staging database"),
            entry("github-pat", GITHUB_TOKEN, 2, "false-positive", "revoked test token"),
        ],
    }
    git_repo.write(".leakstop-baseline.json", json.dumps(document, indent=2) + "\n")
    return git_repo


def _document(repo: GitRepo) -> dict[str, Any]:
    return json.loads((repo.path / ".leakstop-baseline.json").read_text())  # type: ignore[no-any-return]


def test_a_version_1_baseline_still_suppresses_and_update_upgrades_it(v1_repo: GitRepo) -> None:
    scan = leakstop("scan", "--baseline", ".leakstop-baseline.json", cwd=v1_repo.path)
    assert scan.returncode == 0, scan.stdout + scan.stderr
    assert "2 known in the baseline" in scan.stdout
    assert "run `leakstop baseline update .leakstop-baseline.json`" in scan.stderr

    update = leakstop("baseline", "update", ".leakstop-baseline.json", cwd=v1_repo.path)
    assert update.returncode == 0, update.stderr
    assert "0 new, 2 kept, 0 no longer found and removed" in update.stdout
    document = _document(v1_repo)
    assert document["version"] == 2
    assert "legacy" not in document
    reviews = {e["rule_id"]: (e["status"], e["note"]) for e in document["findings"]}
    assert reviews == {
        "generic-password": ("accepted", "staging database"),
        "github-pat": ("false-positive", "revoked test token"),
    }
    text = (v1_repo.path / ".leakstop-baseline.json").read_text()
    assert PASSWORD[:3] not in text
    assert PASSWORD[-3:] not in text

    again = leakstop("scan", "--baseline", ".leakstop-baseline.json", cwd=v1_repo.path)
    assert again.returncode == 0
    assert "2 known in the baseline" in again.stdout
    assert "WARNING" not in again.stderr


def test_update_gives_passwords_slow_fingerprints_and_no_characters(v1_repo: GitRepo) -> None:
    v1 = {e["rule_id"]: e["fingerprint"] for e in _document(v1_repo)["findings"]}
    update = leakstop("baseline", "update", ".leakstop-baseline.json", cwd=v1_repo.path)
    assert "WARNING" not in update.stderr  # it is what the warning asks for
    entries = {e["rule_id"]: e for e in _document(v1_repo)["findings"]}
    assert entries["generic-password"]["secret_redacted"] == "[redacted]"
    assert entries["generic-password"]["fingerprint"] != v1["generic-password"]
    assert entries["github-pat"]["fingerprint"] == v1["github-pat"]
    assert entries["github-pat"]["secret_redacted"] == "ghp_…4xXH"
    scan = leakstop("scan", "--baseline", ".leakstop-baseline.json", cwd=v1_repo.path)
    assert "2 known in the baseline" in scan.stdout


def test_an_unknown_status_stops_the_scan_with_one_line(repo: GitRepo) -> None:
    path = repo.path / ".leakstop-baseline.json"
    lines = path.read_text().splitlines()
    bad = next(i for i, line in enumerate(lines) if '"status"' in line)
    lines[bad] = lines[bad].replace('"unreviewed"', '"wontfix"')
    path.write_text("\n".join(lines) + "\n")
    result = leakstop("scan", "--baseline", ".leakstop-baseline.json", cwd=repo.path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f'.leakstop-baseline.json:{bad + 1}: unknown status "wontfix"' in result.stderr
