"""User rules that could hang a scan are refused at load time with one line naming the rule;
a rule that still runs too long on some file is given up there with a warning and a count."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.cli import main
from leakstop.errors import RuleError
from leakstop.rules.loader import load_builtin_rules, load_rule_document
from leakstop.rules.regex_guard import regex_hazard
from tests.conftest import GITHUB_TOKEN

EVIL = [
    (r"\b(?P<secret>(a+)+)!", "nested repetition"),
    (r"\b(?P<secret>(?:\w+\s*)+)=", "nested repetition"),
    (r"\b(?P<secret>(?:x+x+)+)y", "two repeats of the same characters"),
    (r"\b(?P<secret>(?:a|aa)+)b", "repeated alternatives"),
    (r"\b(?P<secret>[a-z]{1,100000})\b", "at most 65536"),
    (r"\b(?P<secret>(?:[a-z]{1,1000}){1,1000})\b", "at most 65536"),
]
FINE = [
    r"\b(?P<secret>ghp_[A-Za-z0-9]{36})\b",
    r"(?:[a-z]+\.)+com",
    r"(?:[a-z]+-)+[a-z]+",
    r"(?:[A-Za-z]|\d)+",
    r"(?:\s|\\{1,3}[rn]|\\/|\\u002[Bb])*",
]


@pytest.mark.parametrize(("pattern", "why"), EVIL)
def test_known_evil_patterns_are_named(pattern: str, why: str) -> None:
    hazard = regex_hazard(pattern)
    assert hazard is not None
    assert why in hazard


@pytest.mark.parametrize("pattern", FINE)
def test_ordinary_patterns_pass(pattern: str) -> None:
    assert regex_hazard(pattern) is None


def test_no_shipped_rule_is_refused() -> None:
    assert [r.id for r in load_builtin_rules() if regex_hazard(r.regex)] == []


@pytest.mark.parametrize(("pattern", "why"), EVIL)
def test_a_user_rule_file_with_one_is_refused_in_one_line(pattern: str, why: str) -> None:
    text = (
        "version: 1\nrules:\n  - id: slow-rule\n    description: slow\n"
        f"    regex: '{pattern}'\n    keywords: [a]\n"
    )
    with pytest.raises(RuleError) as error:
        load_rule_document(text, "rules.yaml")
    message = str(error.value)
    assert message.startswith("rules.yaml: rule 'slow-rule': line 5: regex refused: ")
    assert why in message
    assert "\n" not in message


def test_rules_check_refuses_it_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slow.yaml").write_text(
        "version: 1\nrules:\n  - id: slow-rule\n    description: slow\n"
        "    regex: '(?:a|aa)+b'\n    keywords: [a]\n"
    )
    assert main(["rules", "check", "slow.yaml"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "slow-rule" in line
    assert "regex refused" in line


def test_a_rule_over_its_time_budget_is_skipped_with_a_warning(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The static check cannot see every slow pattern: `(a|a?){1,30}a{30}` backtracks
    exponentially on a run of a's that fails at the end, and is not one of the shapes it
    knows. The scan goes on; the rule is given up in that file only. (Hyperscan would not
    even try it here, as nothing in the file can match; the keyword engine does.)"""
    import leakstop.scanner.engine as engine

    monkeypatch.setattr(engine, "CONFIRM_BUDGET", 0.05)
    monkeypatch.chdir(tmp_path)
    slow = r"\bzz(?P<secret>(?:a|a?){1,30}a{30})!"
    assert regex_hazard(slow) is None
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nrules:\n  - id: slow-rule\n    description: slow\n"
        f"    regex: '{slow}'\n    keywords: [zz]\n"
    )
    (tmp_path / "bad.txt").write_text("zz" + "a" * 40 + "\n")
    (tmp_path / "app.env").write_text(f"GITHUB_TOKEN={GITHUB_TOKEN}\n")
    code = main(
        ["scan", ".", "-j", "1", "--engine", "keywords", "-f", "json", "--output", "out.json"]
    )
    assert code == 1  # the token in app.env is still found
    assert "WARNING: bad.txt: rule slow-rule took over" in capsys.readouterr().err
    import json

    report = json.loads((tmp_path / "out.json").read_text())
    assert [f["rule_id"] for f in report["findings"]] == ["github-pat"]
    assert report["stats"]["skipped"] == {"rule timed out": 1}
