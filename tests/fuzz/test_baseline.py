"""The baseline reader on arbitrary files: a Baseline or ConfigError, never anything else;
and a baseline that loads can be matched against and saved again."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from leakstop import baseline
from leakstop.errors import ConfigError
from leakstop.finding import Finding, Location, Severity
from tests.fuzz.strategies import (
    DEEP_NESTING,
    SCALARS,
    check_message,
    fuzz_settings,
    json_data,
    keys_from,
)

ENTRY_KEYS = [
    "fingerprint",
    "rule_id",
    "path",
    "line",
    "secret_redacted",
    "commit",
    "status",
    "note",
    "sha1",
    "type",
]
ENTRY = st.fixed_dictionaries(
    {
        "fingerprint": st.one_of(st.text(max_size=8), SCALARS),
        "rule_id": st.one_of(st.just("github-pat"), SCALARS),
        "path": st.one_of(st.just("a.txt"), SCALARS),
        "line": st.one_of(st.integers(0, 9), SCALARS),
        "secret_redacted": st.one_of(st.just("ghp_…"), SCALARS),
    },
    optional={
        "commit": SCALARS,
        "status": st.one_of(st.sampled_from(baseline.STATUSES), SCALARS),
        "note": SCALARS,
    },
)
IMPORTED = st.fixed_dictionaries(
    {
        "path": st.one_of(st.just("a.txt"), SCALARS),
        "sha1": st.one_of(st.text(max_size=8), SCALARS),
        "type": st.one_of(st.just("Private Key"), SCALARS),
        "line": st.one_of(st.integers(0, 9), SCALARS),
    },
    optional={"status": st.one_of(st.sampled_from(baseline.STATUSES), SCALARS)},
)
DOCUMENTS = st.fixed_dictionaries(
    {
        "version": st.one_of(st.sampled_from([1, 2]), SCALARS),
        "fingerprint_key": st.one_of(st.text(max_size=8), SCALARS),
    },
    optional={
        "findings": st.one_of(st.lists(ENTRY, max_size=4), json_data(keys_from(ENTRY_KEYS))),
        "legacy": st.one_of(st.lists(ENTRY, max_size=3), json_data(keys_from(ENTRY_KEYS))),
        "imported": st.one_of(st.lists(IMPORTED, max_size=3), json_data(keys_from(ENTRY_KEYS))),
        "plugins_used": SCALARS,
    },
)
TEXTS = st.one_of(
    DOCUMENTS.map(json.dumps),
    st.text(max_size=200),
    DEEP_NESTING,
    st.binary(max_size=100).map(lambda raw: raw.decode("latin-1")),
)

FINDING = Finding(
    rule_id="github-pat",
    description="GitHub token",
    severity=Severity.HIGH,
    location=Location("a.txt", 1, 1, 1, 41),
    secret="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",
    fingerprint="0" * 32,
    entropy=4.5,
    context="",
)


def _exercise(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "baseline.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            loaded = baseline.load(path, password_rules=frozenset({"password"}), warn=False)
        except ConfigError as exc:
            check_message(exc)
            return
        loaded.contains(FINDING)
        loaded.update([FINDING], keep_missing=True)
        baseline.save(loaded, path)
        baseline.load(path, password_rules=frozenset(), warn=False)


@fuzz_settings(250)
@given(TEXTS)
@example(
    json.dumps(
        {
            "version": 2,
            "fingerprint_key": "k",
            "findings": [
                {
                    "fingerprint": "a",
                    "rule_id": "r",
                    "path": "p",
                    "line": "one",
                    "secret_redacted": "x",
                },
                {
                    "fingerprint": "b",
                    "rule_id": "r",
                    "path": "p",
                    "line": 2,
                    "secret_redacted": "x",
                },
            ],
        }
    )
)
@example("[" * 100_000 + "]" * 100_000)
def test_a_baseline_file_loads_or_is_a_config_error(text: str) -> None:
    _exercise(text)


def test_the_documents_reach_a_loaded_baseline() -> None:
    document: dict[str, Any] = {"version": 2, "fingerprint_key": "k", "findings": []}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "baseline.json"
        path.write_text(json.dumps(document))
        assert baseline.load(path).fingerprint_key == "k"
