"""The command line as users meet it: exit codes, one-line errors, report options."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from leakstop import __version__
from leakstop.cli import main
from leakstop.commands import scan as scan_command
from tests.conftest import GITHUB_TOKEN


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("LEAKSTOP_CONFIG", raising=False)
    (tmp_path / "app.py").write_text(f'TOKEN = "{GITHUB_TOKEN}"\n')
    (tmp_path / "clean.py").write_text("print('hello')\n")
    return tmp_path


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("leakstop: error: ")
    return lines[0]


def test_exit_codes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "clean.py"]) == 0
    assert main(["scan"]) == 1
    assert main(["scan", "--exit-zero"]) == 0
    out = capsys.readouterr().out
    assert "ghp_…4xXH" in out
    assert GITHUB_TOKEN not in out


def test_missing_path_is_one_line_and_exit_2(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", "nope/"]) == 2
    assert "no such file or directory: nope" in _one_error_line(capsys.readouterr().err)


def test_invalid_config_names_file_and_line(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / ".leakstop.yaml").write_text("version: 1\nallowlist:\n  regexes: ['(']\n")
    assert main(["scan"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert ".leakstop.yaml:3: invalid regex in 'regexes'" in line


def test_invalid_rule_file_names_file_and_rule(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "rules.yaml").write_text(
        "version: 1\nrules:\n  - id: broken\n    description: d\n    regex: '(?P<secret>[a-'\n"
        "    keywords: [a]\n"
    )
    (tree / ".leakstop.yaml").write_text("version: 1\nrule_files: [rules.yaml]\n")
    assert main(["scan"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "rules.yaml: rule 'broken': line 5: invalid regex" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", "--format", "xml"], "invalid choice: 'xml'"),
        (["scan", "--report", "xml:out.xml"], "unknown format 'xml'"),
        (["scan", "--report", "sarif:"], "give a file after the colon"),
        (["scan", "--max-file-size", "lots"], "is not a size"),
        (["scan", "--stdin", "app.py"], "either --stdin or paths"),
        (["scan", "--output", "missing/dir/out.json"], "no such directory"),
        (
            ["scan", "--report", "json:-", "--report", "sarif:-"],
            "only one report can go to standard output",
        ),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors(
    tree: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in _one_error_line(capsys.readouterr().err)


def test_several_reports_in_one_run(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["scan", "--report", "sarif:out.sarif", "--report", "out.json", "--report", "text:out.txt"]
    )
    assert code == 1
    assert "github-pat" in capsys.readouterr().out  # the text report still goes to stdout
    assert json.loads((tree / "out.sarif").read_text())["version"] == "2.1.0"
    assert json.loads((tree / "out.json").read_text())["findings"][0]["rule_id"] == "github-pat"
    assert "\x1b[" not in (tree / "out.txt").read_text()


def test_output_format_from_extension(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "-o", "results.sarif"]) == 1
    assert capsys.readouterr().out == ""
    assert "runs" in json.loads((tree / "results.sarif").read_text())


def test_stdin(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(f"x={GITHUB_TOKEN}\n".encode())))
    assert main(["scan", "--stdin", "--stdin-name", "pasted.txt", "-f", "json"]) == 1
    finding = json.loads(capsys.readouterr().out)["findings"][0]
    assert finding["path"] == "pasted.txt"


def test_show_secrets_is_refused_in_github_actions(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["scan", "--show-secrets"]) == 2
    assert "refused in GitHub Actions" in _one_error_line(capsys.readouterr().err)


def test_interrupt_is_130(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(scan_command, "scan", interrupted)
    assert main(["scan"]) == 130


def test_bug_is_3_with_traceback(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(scan_command, "scan", broken)
    assert main(["scan"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "please report it" in err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["scan", "--help"]) == 0
    assert "--report" in capsys.readouterr().out


def test_rules_list_and_check(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list", "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    rules = listing["rules"]
    assert any(rule["id"] == "github-pat" and rule["category"] == "github" for rule in rules)
    assert listing["total"] == len(rules) == sum(listing["categories"].values())
    (tree / "good.yaml").write_text(
        "version: 1\nrules:\n  - id: acme\n    description: ACME key\n"
        "    regex: '\\bacme_[a-z0-9]{8}\\b'\n    keywords: [acme_]\n"
        "    examples:\n      positive: ['k = acme_a1b2c3d4']\n      negative: ['acme_short']\n"
    )
    assert main(["rules", "check", "good.yaml"]) == 0
    (tree / "bad.yaml").write_text(
        "version: 1\nrules:\n  - id: acme\n    description: ACME key\n"
        "    regex: '\\bacme_[a-z0-9]{8}\\b'\n    keywords: [acme_]\n"
        "    examples:\n      positive: ['k = acme_a1b2']\n      negative: ['acme_a1b2c3d4']\n"
    )
    assert main(["rules", "check", "bad.yaml"]) == 1
    out = capsys.readouterr().out
    assert "positive example not found" in out
    assert "negative example reported" in out


#: A path a repository can hold (Linux allows every byte but NUL and '/' in a name).
HOSTILE_NAME = "x\n::stop-commands::tok\x1b[2K\u202e##[add-mask]y"


def _assert_safe_stderr(err: str) -> None:
    for line in err.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "##[" not in err
    assert not any(char in err for char in "\x1b\x9b\u202e\r")


def test_error_naming_a_hostile_path_stays_one_safe_line(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", HOSTILE_NAME]) == 2
    err = capsys.readouterr().err
    line = _one_error_line(err)
    _assert_safe_stderr(err)
    assert "::stop-commands::tok\\x1b[2K\\u202e##\\[add-mask]y" in line


def test_log_messages_naming_a_hostile_path_are_sanitized(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A config without a version key is logged at debug level with its path.
    config = tree / f"{HOSTILE_NAME}.yaml"
    config.write_text("disabled_rules: []\n")
    assert main(["scan", "-vv", "--config", str(config), "clean.py"]) == 0
    err = capsys.readouterr().err
    _assert_safe_stderr(err)
    assert "\\n::stop-commands::tok\\x1b[2K\\u202e##\\[add-mask]y.yaml has no version key" in err


def test_a_json_scan_loads_no_terminal_sarif_or_yaml_library(tree: Path) -> None:
    """rich, attrs and PyYAML cost ~65 ms of every start: a JSON scan with no config file
    and the rules cache warm needs none of them."""
    probe = (
        "import sys\n"
        "from leakstop.cli import main\n"
        "code = main(['scan', '.', '-f', 'json', '-o', 'out.json'])\n"
        "print(code, sorted(m for m in ('rich', 'attr', 'sarif_om', 'yaml') if m in sys.modules))\n"
    )

    def modules_loaded(probe: str) -> list[str]:
        return subprocess.run(
            [sys.executable, "-c", probe], cwd=tree, capture_output=True, text=True, check=True
        ).stdout.split(None, 1)

    modules_loaded(probe)  # warms the rules cache, if this is the first scan of the session
    assert modules_loaded(probe) == ["1", "[]\n"]
    assert json.loads((tree / "out.json").read_text())["findings"]
    # The text report does load rich, and a config file PyYAML: the probe would notice if
    # they stopped being lazy.
    (tree / ".leakstop.yaml").write_text("version: 1\n")
    probe = probe.replace("'-f', 'json', '-o', 'out.json'", "'-o', 'out.txt'")
    assert modules_loaded(probe) == ["1", "['rich', 'yaml']\n"]
