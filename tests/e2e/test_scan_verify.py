"""`leakstop scan --verify` end to end: one live and one dead GitHub token, GitHub's API played
by a local server; every report shows which is which, and no report shows a token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.cli import main
from tests.conftest import GitRepo

LIVE = "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"
DEAD = "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"

pytestmark = pytest.mark.e2e


@pytest.fixture
def github(httpserver_ipv4: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    httpserver_ipv4.clear()
    httpserver_ipv4.expect_request(
        "/user", headers={"Authorization": f"Bearer {LIVE}"}
    ).respond_with_json({"login": "someone"})
    httpserver_ipv4.expect_request(
        "/user", headers={"Authorization": f"Bearer {DEAD}"}
    ).respond_with_json({"message": "Bad credentials"}, status=401)
    endpoints = {"api.github.com": httpserver_ipv4.url_for("").rstrip("/")}
    monkeypatch.setenv("LEAKSTOP_VERIFY_ENDPOINTS", json.dumps(endpoints))
    return httpserver_ipv4


@pytest.fixture
def repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    git_repo.write("deploy.py", f'TOKEN = "{LIVE}"\n\n\nOLD_TOKEN = "{DEAD}"\n')
    monkeypatch.chdir(git_repo.path)
    return git_repo


def test_scan_verify_shows_live_and_dead_in_every_report(
    repo: GitRepo, github: HTTPServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    json_path, sarif_path = tmp_path / "r.json", tmp_path / "r.sarif"
    code = main(
        [
            "scan",
            "--verify",
            "-j",
            "1",
            "--color",
            "never",
            "--report",
            f"json:{json_path}",
            "--report",
            f"sarif:{sarif_path}",
            "--report",
            f"github:{tmp_path / 'r.annotations'}",
            "--report",
            f"markdown:{tmp_path / 'r.md'}",
        ]
    )
    text = capsys.readouterr().out
    assert code == 1
    [live_line] = [line for line in text.splitlines() if "1:10" in line]
    [dead_line] = [line for line in text.splitlines() if "4:14" in line]
    assert "[verified]" in live_line
    assert "[invalid]" in dead_line
    assert "api.github.com rejected it (HTTP 401)" in text

    report = json.loads(json_path.read_text())
    by_line = {f["line"]: f["verification"] for f in report["findings"]}
    assert by_line[1]["status"] == "verified"
    assert by_line[4] == {
        "status": "invalid",
        "reason": "api.github.com rejected it (HTTP 401)",
        "verifier": "github",
    }
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(
        (Path(__file__).parents[2] / "leakstop/report/schemas/report-v1.json").read_text()
    )
    jsonschema.validate(report, schema)

    results = json.loads(sarif_path.read_text())["runs"][0]["results"]
    verified = [r for r in results if r["properties"].get("verification") == "verified"]
    assert len(verified) == 1
    assert verified[0]["level"] == "error"
    assert {r["properties"]["verification"] for r in results} == {"verified", "invalid"}

    annotations = (tmp_path / "r.annotations").read_text().splitlines()
    assert "[verified:" in annotations[0]  # the live one first
    assert "| verified |" in (tmp_path / "r.md").read_text()

    everything = text + "".join(p.read_text() for p in tmp_path.iterdir() if p.is_file())
    assert LIVE not in everything
    assert DEAD not in everything
    assert len(github.log) == 2


def test_only_verified_keeps_the_live_token(
    repo: GitRepo, github: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", "--only-verified", "-j", "1", "-f", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["line"], f["verification"]["status"]) for f in findings] == [(1, "verified")]
    # The summary says what --only-verified left out, not that the files are clean.
    assert main(["scan", "--only-verified", "-j", "1", "--color", "never"]) == 1
    assert "1 not verified live, left out (--only-verified)" in capsys.readouterr().out


def test_only_verified_with_nothing_live_does_not_say_clean(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing answers for api.github.com: both tokens stay unknown.
    monkeypatch.setenv(
        "LEAKSTOP_VERIFY_ENDPOINTS", json.dumps({"api.github.com": "http://127.0.0.1:9"})
    )
    assert main(["scan", "--only-verified", "-j", "1", "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert "✓ No verified secrets" in out
    assert "No secrets found" not in out
    assert "2 not verified live, left out (--only-verified)" in out


def test_without_verify_nothing_is_contacted(
    repo: GitRepo, github: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", "-j", "1", "-f", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert len(findings) == 2
    assert all("verification" not in f for f in findings)
    assert github.log == []


def test_a_bad_endpoint_map_is_a_one_line_error(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEAKSTOP_VERIFY_ENDPOINTS", "not json")
    assert main(["scan", "--verify", "-j", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "LEAKSTOP_VERIFY_ENDPOINTS" in err
