from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from leakstop.config import (
    DEFAULT_MAX_FILE_SIZE,
    find_config,
    load_config,
    parse_config,
    parse_size,
)
from leakstop.errors import ConfigError
from leakstop.rules import load_builtin_rules

CUSTOM_RULE = """\
version: 1
rules:
  - id: acme-key
    description: ACME API key
    regex: '\\b(?P<secret>acme_[a-z0-9]{16})\\b'
    keywords: [acme_]
"""


def _parse(text: str, base: Path = Path(".")):  # type: ignore[no-untyped-def]
    return parse_config(text, "cfg.yaml", base_dir=base)


def test_defaults_when_no_file() -> None:
    config = load_config(None)
    assert len(config.rules) == len(load_builtin_rules())
    assert config.max_file_size == DEFAULT_MAX_FILE_SIZE
    assert config.path is None


def test_lookup_order(tmp_path: Path) -> None:
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("version: 1\n")
    from_env = tmp_path / "env.yaml"
    from_env.write_text("version: 1\n")
    (tmp_path / ".leakstop.yaml").write_text("version: 1\n")
    environ = {"LEAKSTOP_CONFIG": str(from_env)}
    assert find_config(explicit, tmp_path, environ) == explicit
    assert find_config(None, tmp_path, environ) == from_env
    assert find_config(None, tmp_path, {}) == tmp_path / ".leakstop.yaml"
    assert find_config(None, tmp_path / "nowhere", {}) is None


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        find_config(tmp_path / "missing.yaml", tmp_path, {})


def test_custom_rules_extend_the_defaults() -> None:
    config = _parse(CUSTOM_RULE)
    ids = [rule.id for rule in config.rules]
    assert "acme-key" in ids
    assert "github-pat" in ids


def test_extends_none_keeps_only_custom_rules() -> None:
    config = _parse("extends: none\n" + CUSTOM_RULE)
    assert [rule.id for rule in config.rules] == ["acme-key"]


def test_disabled_rules_are_removed_and_must_exist() -> None:
    config = _parse("disabled_rules: [generic-password]\n")
    assert "generic-password" not in [rule.id for rule in config.rules]
    with pytest.raises(ConfigError, match=r"cfg\.yaml:1: disabled_rules names unknown rule 'nope'"):
        _parse("disabled_rules: [nope]\n")


def test_rule_files_are_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text(CUSTOM_RULE)
    config = _parse("rule_files: [more.yaml]\n", tmp_path)
    assert "acme-key" in [rule.id for rule in config.rules]


def test_allowlist_and_allowlists_are_both_accepted() -> None:
    config = _parse(
        "allowlist:\n  paths: ['a/**']\nallowlists:\n  - rules: [github-pat]\n    stopwords: [x]\n"
    )
    single, scoped = config.allowlists
    assert single.allows_path("a/b.txt")
    assert scoped.rules == frozenset({"github-pat"})


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("version: 2\n", 1, "'version' must be between 1 and 1"),
        ("version: 1\nextends: everything\n", 2, "extends must be 'default' or 'none'"),
        ("version: 1\nmax_file_size: huge\n", 2, "must be a size"),
        ("version: 1\nallowlist:\n  regexes: ['(']\n", 3, "invalid regex"),
        ("version: 1\nrulez: []\n", 2, "unknown key 'rulez'"),
        (
            "version: 1\nrules:\n  - id: bad\n    description: d\n    regex: '(unclosed'\n"
            "    keywords: [x]\n",
            5,
            "rule 'bad': invalid regex",
        ),
        (
            "version: 1\nrules:\n  - id: nokw\n    description: d\n    regex: 'abc'\n",
            3,
            "rule 'nokw': missing required key 'keywords'",
        ),
        ("version: 1\n  bad: indent\n", 2, "invalid YAML"),
        ("- a list\n", 1, "the config must be a mapping"),
        ("version: 1\naudit: nope\n", 2, "audit must be a mapping, got a string"),
        ("version: 1\nfingerprint: [salt]\n", 2, "fingerprint must be a mapping, got a list"),
    ],
)
def test_invalid_config_names_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(text)
    assert info.value.line == line, str(info.value)
    assert message in str(info.value)
    assert str(info.value).startswith(f"cfg.yaml:{line}: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10MB", 10_000_000),
        ("512KiB", 524_288),
        ("1048576", 1_048_576),
        ("1.5 GB", 1_500_000_000),
        ("0", None),
        ("none", None),
        ("2k", 2000),
    ],
)
def test_parse_size(text: str, expected: int | None) -> None:
    assert parse_size(text) == expected


def test_parse_size_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="ten megs"):
        parse_size("ten megs")


def test_fingerprint_salt() -> None:
    assert _parse("fingerprint:\n  salt: team-a\n").fingerprint_salt == "team-a"


def test_a_config_named_with_two_leading_dots_is_shown_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leakstop.config import display_path

    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "..leakstop.yaml") == "..leakstop.yaml"
    assert display_path(tmp_path.parent / "x.yaml") == str(tmp_path.parent / "x.yaml")


def test_configs_without_an_inventory_do_not_load_its_modules() -> None:
    # Their dataclasses and patterns take ~20 ms to set up: a scan should not pay for them.
    code = (
        "import sys; from pathlib import Path; from leakstop.config import parse_config; "
        "config = parse_config('version: 1\\n', 'c.yaml', Path('.')); "
        "assert config.providers == config.secrets == (); "
        "print(sorted(m for m in sys.modules if m.startswith('leakstop.config.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['leakstop.config.audit']"
