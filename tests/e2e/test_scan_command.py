"""`leakstop scan` as a user runs it: a subprocess in a real git repository."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import jsonschema
import pytest

from leakstop.cli import main
from leakstop.rules import load_builtin_rules
from tests.conftest import (
    AWS_KEY_ID,
    AWS_SECRET,
    GITHUB_TOKEN,
    OWN_COMMANDS,
    GitRepo,
    assert_safe_output,
    installed_tool,
)

pytestmark = pytest.mark.e2e

SARIF_SCHEMA = json.loads(
    (Path(__file__).parent.parent / "data" / "schemas" / "sarif-schema-2.1.0.json").read_text()
)


def leakstop(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    executable = installed_tool("leakstop") or ""
    command = [executable] if executable else [sys.executable, "-m", "leakstop"]
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "LEAKSTOP_CONFIG")}
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write(".gitignore", "local.env\n")
    git_repo.write("src/settings.py", f'GITHUB_TOKEN = "{GITHUB_TOKEN}"\n')
    git_repo.write("deploy/crlf.env", f"# deploy\r\nAWS_ACCESS_KEY_ID={AWS_KEY_ID}\r\n".encode())
    git_repo.write(
        "deploy/utf16.ini",
        codecs.BOM_UTF16_LE
        + f"[aws]\r\naws_secret_access_key = {AWS_SECRET}\r\n".encode("utf-16-le"),
    )
    git_repo.write("docs/bom.md", codecs.BOM_UTF8 + f"Use `{GITHUB_TOKEN}`\n".encode())
    git_repo.write("legacy/latin1.cfg", "# caf\xe9\npassword=S\xe9same2024!x\n".encode("latin-1"))
    git_repo.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00" + GITHUB_TOKEN.encode())
    git_repo.write("README.md", "# demo\n")
    git_repo.commit("initial")
    git_repo.write("local.env", f"TOKEN={GITHUB_TOKEN}\n")  # ignored: must not be reported
    git_repo.write("new.txt", f"aws_access_key_id={AWS_KEY_ID}\n")  # untracked, not ignored
    return git_repo


def test_scan_a_real_repository(repo: GitRepo) -> None:
    result = leakstop("scan", "--format", "json", cwd=repo.path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(f["path"], f["line"], f["column"], f["rule_id"]) for f in report["findings"]}
    assert found == {
        ("deploy/crlf.env", 2, 19, "aws-access-key-id"),
        ("deploy/utf16.ini", 2, 25, "aws-secret-access-key"),
        ("docs/bom.md", 1, 6, "github-pat"),
        ("legacy/latin1.cfg", 2, 10, "generic-password"),
        ("new.txt", 1, 19, "aws-access-key-id"),
        ("src/settings.py", 1, 17, "github-pat"),
    }
    assert report["stats"]["skipped"] == {"binary": 1}


def test_paths_are_repository_relative_from_a_subfolder(repo: GitRepo) -> None:
    (repo.path / ".leakstop.yaml").write_text("version: 1\ndisabled_rules: [generic-password]\n")
    result = leakstop("scan", ".", "--format", "json", cwd=repo.path / "deploy")
    report = json.loads(result.stdout)
    assert {f["path"] for f in report["findings"]} == {"deploy/crlf.env", "deploy/utf16.ini"}
    text = leakstop("scan", ".", cwd=repo.path / "deploy").stdout
    assert "crlf.env" in text
    assert "deploy/crlf.env" not in text


def test_config_allowlist_and_inline_markers(repo: GitRepo) -> None:
    repo.write(".leakstop.yaml", "version: 1\nallowlist:\n  paths: ['deploy/']\n")
    repo.write("src/settings.py", f'GITHUB_TOKEN = "{GITHUB_TOKEN}"  # leakstop:allow\n')
    report = json.loads(leakstop("scan", "-f", "json", cwd=repo.path).stdout)
    paths = {f["path"] for f in report["findings"]}
    assert paths == {"docs/bom.md", "legacy/latin1.cfg", "new.txt"}
    assert report["stats"]["skipped"]["allowlisted"] == 2


def test_sarif_validates_and_is_plain_text_when_piped(repo: GitRepo) -> None:
    result = leakstop("scan", "--report", "sarif:out.sarif", cwd=repo.path)
    assert result.returncode == 1
    assert "\x1b[" not in result.stdout
    assert "✗ 6 secrets in 6 files" in result.stdout
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(
        json.loads((repo.path / "out.sarif").read_text())
    )


def test_clean_repository_exits_0(git_repo: GitRepo) -> None:
    git_repo.write("main.py", "print('hi')\n")
    git_repo.commit()
    result = leakstop("scan", cwd=git_repo.path)
    assert result.returncode == 0
    assert "No secrets found" in result.stdout


def test_outside_git_every_file_is_scanned(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.env").write_text(f"TOKEN={GITHUB_TOKEN}\n")
    result = leakstop("scan", "dir", "-f", "json", cwd=tmp_path)
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["a.env"]


def test_stdin(tmp_path: Path) -> None:
    result = leakstop(
        "scan", "--stdin", "-f", "json", cwd=tmp_path, stdin=f"t={GITHUB_TOKEN}".encode()
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["findings"][0]["path"] == "<stdin>"


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / ".leakstop.yaml").write_text("version: 1\nmax_file_size: [1]\n")
    result = leakstop("scan", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "leakstop: error: .leakstop.yaml:2: 'max_file_size' must be a size such as 10MB, "
        "512KiB or 1048576\n"
    )


def test_no_output_format_shows_a_secret(tmp_path: Path) -> None:
    """Every rule's positive examples, scanned into every format: no secret in clear."""
    secrets = set()
    for index, rule in enumerate(load_builtin_rules()):
        for number, example in enumerate(rule.positives):
            name = f"ex/{index:03d}-{number}-{Path(example.path).name}"
            (tmp_path / name).parent.mkdir(exist_ok=True)
            (tmp_path / name).write_text(example.text + "\n", encoding="utf-8")
    shown = leakstop("scan", "ex", "-f", "json", "--show-secrets", cwd=tmp_path)
    secrets = {f["secret"] for f in json.loads(shown.stdout)["findings"]}
    assert len(secrets) > 20
    leakstop(
        "scan",
        "ex",
        "--report",
        "json:r.json",
        "--report",
        "sarif:r.sarif",
        "-o",
        "r.txt",
        cwd=tmp_path,
    )
    outputs = {name: (tmp_path / name).read_text() for name in ("r.json", "r.sarif", "r.txt")}
    for name, text in outputs.items():
        leaked = [s for s in secrets if len(s) >= 6 and s in text]
        assert not leaked, f"{name} shows secrets in clear: {len(leaked)}"


@pytest.mark.skipif(sys.platform != "linux", reason="non-UTF-8 file names are a Linux thing")
@pytest.mark.parametrize("mode", [[], ["--git"], ["--staged"]])
def test_non_utf8_file_names_in_every_mode(git_repo: GitRepo, mode: list[str]) -> None:
    name = os.fsdecode(b"caf\xe9.env")
    (git_repo.path / name).write_text(f"TOKEN={GITHUB_TOKEN}\n")
    git_repo.git("add", "-A")
    if mode != ["--staged"]:
        git_repo.commit("latin-1 name")
    result = leakstop("scan", *mode, "-f", "json", "--exclude-path", "*.md", cwd=git_repo.path)
    assert result.returncode == 1, result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["caf\ufffd.env"]


#: File names and content that try to steer a terminal or the Actions runner: a workflow
#: command at the start of a line, legacy `##[` commands, cursor movement, a bidi override.
HOSTILE_NAMES = ["a\n::stop-commands::x.env", "##[error]b.env", "c\u202egnp.env"]
HOSTILE_LINE = f"\x1b[2K\x1b[1A ##[stop-commands]tok \u202e TOKEN={GITHUB_TOKEN}\n"
HOSTILE_AUTHOR = "Eve\x1b[2K ##[add-mask]x"


@pytest.fixture
def hostile_repo(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for index, name in enumerate(HOSTILE_NAMES):
        # Each its own content: history scanning reads a blob once, whatever its names.
        git_repo.write(name, f"TOKEN_{index}={GITHUB_TOKEN}\n")
    git_repo.write("d.env", HOSTILE_LINE)
    git_repo.commit(
        "\x1b[2K##[stop-commands]tok",
        env={"GIT_AUTHOR_NAME": HOSTILE_AUTHOR, "GIT_AUTHOR_EMAIL": "eve@example.com\x1b[1A"},
    )
    monkeypatch.chdir(git_repo.path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("LEAKSTOP_CONFIG", raising=False)
    return git_repo


@pytest.mark.skipif(sys.platform != "linux", reason="newlines and ESC in file names: Linux")
@pytest.mark.parametrize("mode", [[], ["--git"]], ids=["files", "history"])
@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown", "github"])
def test_hostile_names_and_content_in_every_format(
    hostile_repo: GitRepo, capsys: pytest.CaptureFixture[str], fmt: str, mode: list[str]
) -> None:
    assert main(["scan", *mode, "-j", "1", "-vv", "-f", fmt]) == 1
    out, err = capsys.readouterr()
    assert_safe_output(out, OWN_COMMANDS if fmt == "github" else ())
    assert_safe_output(err)
    expected = {*HOSTILE_NAMES, "d.env"}
    if fmt == "json":
        findings = json.loads(out)["findings"]
        assert {f["path"] for f in findings} == expected
        if mode:
            assert {f["commit"]["author_name"] for f in findings} == {HOSTILE_AUTHOR}
    elif fmt == "sarif":
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(out))
        uris = {
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for result in json.loads(out)["runs"][0]["results"]
        }
        assert {urllib.parse.unquote(uri) for uri in uris} == expected
    elif fmt == "github":
        lines = out.splitlines()
        assert len(lines) == 4
        assert all(line.startswith("::error file=") for line in lines)
        assert "::error file=a\\n%3A%3Astop-commands%3A%3Ax.env,line=1," in out
    else:
        assert "a\\n::stop-commands::x.env" in out
        assert "##\\[error]b.env" in out
        assert "c\\u202egnp.env" in out
        if fmt == "text":
            assert "│ \\x1b[2K\\x1b[1A ##\\[stop-commands]tok \\u202e TOKEN=ghp_…4xXH" in out
            if mode:
                assert "Eve\\x1b[2K ##\\[add-mask]x <eve@example.com\\x1b[1A>" in out
