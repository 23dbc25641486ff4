from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from leakstop.errors import ConfigError, RuleError
from leakstop.rules import Rule
from leakstop.rules.loader import load_rule_document
from leakstop.scanner import engine as engine_module
from leakstop.scanner.engine import (
    MAX_SNAP,
    KeywordEngine,
    build_engine,
    hyperscan_available,
    hyperscan_pattern,
)

needs_hyperscan = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")


def _rules(yaml_text: str) -> list[Rule]:
    return load_rule_document(yaml_text, "test.yaml")


TOKEN_RULE = """\
version: 1
rules:
  - id: tok
    description: token
    regex: '\\b(?P<secret>tok_[a-z0-9]{12})\\b'
    keywords: [tok_]
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("(?P<secret>a)", b"(?:a)"),
        ("\"(?P<secret>[^\"]+)\"|'(?P<secret>[^']+)'", b"\"(?:[^\"]+)\"|'(?:[^']+)'"),
        (r"[(?P<x>]\((?P<y>b)", rb"[(?P<x>]\((?:b)"),
        (r"[]x](?P<z>c)[^]x]", rb"[]x](?:c)[^]x]"),
    ],
)
def test_hyperscan_pattern_drops_group_names(source: str, expected: bytes) -> None:
    assert hyperscan_pattern(source) == expected


@needs_hyperscan
def test_every_builtin_rule_compiles_in_both_engines(all_rules: list[Rule]) -> None:
    for kind in ("hyperscan", "keywords"):
        assert build_engine(all_rules, kind).name == kind


@needs_hyperscan
def test_a_rule_hyperscan_cannot_compile_is_named() -> None:
    rules = _rules(TOKEN_RULE.replace("'\\b(?P<secret>tok_[a-z0-9]{12})\\b'", "'(?r)tok_abc'"))
    with pytest.raises(RuleError, match=r"test\.yaml: rule 'tok': the regex cannot be compiled"):
        build_engine(rules, "hyperscan")


ENGINES = ["keywords", *(["hyperscan"] if hyperscan_available() else [])]


@pytest.mark.parametrize("kind", ENGINES)
def test_finds_matches_at_edges_and_in_long_lines(kind: str) -> None:
    engine = build_engine(_rules(TOKEN_RULE), kind)
    data = (
        b"tok_aaaaaaaaaa11 first\n"
        + b"x" * (MAX_SNAP * 3)
        + b" tok_bbbbbbbbbb22 "
        + b"y" * (MAX_SNAP * 3)
        + b"\nlast tok_cccccccccc33"
    )
    secrets = [data[c.secret_start : c.secret_end] for c in engine.find(data)]
    assert secrets == [b"tok_aaaaaaaaaa11", b"tok_bbbbbbbbbb22", b"tok_cccccccccc33"]


@pytest.mark.parametrize("kind", ENGINES)
def test_longer_token_is_not_matched_partially(kind: str) -> None:
    engine = build_engine(_rules(TOKEN_RULE), kind)
    assert engine.find(b"tok_aaaaaaaaaaaaaaaaaa and xtok_aaaaaaaaaa11") == []


@needs_hyperscan
def test_engines_agree_on_all_examples_and_noise(all_rules: list[Rule]) -> None:
    """Both engines must give identical candidates: examples in one file, mixed with noise."""
    rng = random.Random(1)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 =:\"'_-/+.\n"
    pieces = []
    for rule in all_rules:
        for example in (*rule.positives, *rule.negatives):
            pieces.append(example.text)
            pieces.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300))))
    data = "\n".join(pieces).encode()
    hyperscan = build_engine(all_rules, "hyperscan").find(data)
    keywords = build_engine(all_rules, "keywords").find(data)

    def key(candidates):  # type: ignore[no-untyped-def]
        return [(c.rule.id, c.start, c.end, c.secret_start, c.secret_end) for c in candidates]

    assert key(hyperscan) == key(keywords)
    assert len(hyperscan) > len(all_rules)


def test_keyword_search_without_pyahocorasick_finds_the_same(
    all_rules: list[Rule], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pure-Python keyword loop is the last resort; it must agree with Aho-Corasick."""
    text = "\n".join(example.text for rule in all_rules for example in rule.positives)
    data = (text + "\nKEY Token sEcReT " * 50).encode()
    with_automaton = KeywordEngine(all_rules)
    assert with_automaton._automaton is not None
    monkeypatch.setitem(sys.modules, "ahocorasick", None)
    plain = KeywordEngine(all_rules)
    assert plain._automaton is None

    def key(candidates):  # type: ignore[no-untyped-def]
        return [(c.rule.id, c.start, c.end, c.secret_start, c.secret_end) for c in candidates]

    found = key(with_automaton.find(data))
    assert found == key(plain.find(data))
    assert len({rule_id for rule_id, *_ in found}) > 200


@pytest.mark.parametrize("kind", ENGINES)
def test_candidates_are_ordered_by_position(kind: str, all_rules: list[Rule]) -> None:
    text = "\n".join(example.text for rule in all_rules for example in rule.positives)
    candidates = build_engine(all_rules, kind).find(text.encode())
    starts = [c.secret_start for c in candidates]
    assert starts == sorted(starts)


@needs_hyperscan
def test_compiled_database_is_cached_and_a_bad_cache_is_rebuilt(
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("LEAKSTOP_CACHE_DIR", str(tmp_path))
    rules = _rules(TOKEN_RULE)
    data = b"x tok_aaaaaaaaaa11 y"
    assert len(build_engine(rules, "hyperscan").find(data)) == 1
    (cached,) = tmp_path.glob("hyperscan-*.db")
    assert len(build_engine(rules, "hyperscan").find(data)) == 1  # loaded from the cache
    cached.write_bytes(b"garbage")
    assert len(build_engine(rules, "hyperscan").find(data)) == 1  # rebuilt
    assert cached.read_bytes() != b"garbage"


@pytest.mark.parametrize("garbage", [b"not json", b"[1, 2, 3]", b'["a"]'])
def test_rule_reaches_are_cached_and_a_bad_cache_is_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, garbage: bytes
) -> None:
    monkeypatch.setenv("LEAKSTOP_CACHE_DIR", str(tmp_path))
    rules = _rules(TOKEN_RULE)
    assert build_engine(rules, "keywords").reach == [16]  # "tok_" + 12, not max_length
    (cached,) = tmp_path.glob("reach-*.json")
    assert json.loads(cached.read_bytes()) == [16]
    cached.write_bytes(garbage)
    assert build_engine(rules, "keywords").reach == [16]
    assert json.loads(cached.read_bytes()) == [16]


@needs_hyperscan
def test_prefilter_mode_is_read_from_the_syntax_for_every_builtin_rule(
    all_rules: list[Rule],
) -> None:
    """The whole set compiles in one go only when each pattern's mode is guessed right; a
    wrong guess costs a cold start ~12 s of probing."""
    import hyperscan

    exact = hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY
    for rule in all_rules:
        pattern = hyperscan_pattern(rule.regex)
        try:
            hyperscan.Database().compile(expressions=[pattern], ids=[0], elements=1, flags=[exact])
            accepted = True
        except hyperscan.error:
            accepted = False
        assert engine_module._needs_prefilter(pattern) is not accepted, rule.id


@needs_hyperscan
def test_a_misjudged_pattern_falls_back_to_probing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKSTOP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(engine_module, "_needs_prefilter", lambda pattern: False)
    rules = _rules(TOKEN_RULE.replace("\\b(?P<secret>", "(?<![a-z])(?P<secret>"))
    assert "(?<!" in rules[0].regex
    assert len(build_engine(rules, "hyperscan").find(b"x tok_aaaaaaaaaa11 y")) == 1


def test_asking_for_hyperscan_where_it_is_missing_is_a_clear_error(
    all_rules: list[Rule], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "hyperscan", None)
    with pytest.raises(ConfigError, match=r"hyperscan package is not installed.*--engine keywords"):
        build_engine(all_rules, "hyperscan")
    assert build_engine(all_rules, "auto").name == "keywords"
