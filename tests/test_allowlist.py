from __future__ import annotations

import pytest

from leakstop.allowlist import parse_allowlist
from leakstop.errors import ConfigError
from leakstop.yamlfile import Fields, load_yaml


def _parse(text: str):  # type: ignore[no-untyped-def]
    def error(message: str, line: int | None) -> ConfigError:
        return ConfigError(message, "c.yaml", line)

    return parse_allowlist(Fields(load_yaml(text, "c.yaml"), "c.yaml", error))


def test_paths_use_gitignore_semantics() -> None:
    allowlist = _parse("paths: ['tests/fixtures/**', '*.lock', 'docs/']\n")
    assert allowlist.allows_path("tests/fixtures/a/b.py")
    assert allowlist.allows_path("sub/poetry.lock")
    assert allowlist.allows_path("src/docs/readme.md")
    assert not allowlist.allows_path("src/app.py")


def test_regexes_stopwords_lines_and_fingerprints() -> None:
    allowlist = _parse(
        "regexes: ['^test_']\nstopwords: [Sample]\nlines: ['# nosecret']\n"
        "fingerprints: ['0123456789abcdef0123456789abcdef']\n"
    )
    assert allowlist.allows_secret("test_abc", "x")
    assert allowlist.allows_secret("mySAMPLEvalue", "x")
    assert allowlist.allows_secret("real", "key = real  # nosecret")
    assert not allowlist.allows_secret("real", "key = real")
    assert allowlist.allows_fingerprint("0123456789abcdef0123456789abcdef")


def test_rules_scope_the_allowlist() -> None:
    allowlist = _parse("rules: [generic-password]\nstopwords: [x]\n")
    assert allowlist.applies_to("generic-password")
    assert not allowlist.applies_to("github-pat")
    assert _parse("stopwords: [x]\n").applies_to("anything")


def test_invalid_regex_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"c\.yaml:2: invalid regex in 'regexes'"):
        _parse("stopwords: [a]\nregexes: ['(unclosed']\n")


def test_unknown_key_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'path'.*did you mean 'paths'"):
        _parse("path: [a]\n")
