"""The config loader on arbitrary YAML text and arbitrary nested data: it returns a Config or
raises ConfigError (a rule inside it: RuleError), never anything else."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from leakstop.allowlist import ALLOWLIST_KEYS
from leakstop.config import CONFIG_KEYS, Config, parse_config
from leakstop.config.audit import AUDIT_KEYS
from leakstop.config.notifications import NOTIFIER_KEYS
from leakstop.config.respond import RESPOND_KEYS
from leakstop.config.revocation import REVOCATION_KEYS
from leakstop.config.rotation import POLICY_KEYS
from leakstop.config.secrets import GENERATE_KEYS, SECRET_KEYS
from leakstop.errors import ConfigError, RuleError
from leakstop.rules.loader import RULE_KEYS
from tests.fuzz.strategies import (
    DEEP_NESTING,
    SCALARS,
    check_message,
    fuzz_settings,
    json_data,
    keys_from,
)

VOCABULARY = sorted(
    {
        *CONFIG_KEYS,
        *AUDIT_KEYS,
        *NOTIFIER_KEYS,
        *RESPOND_KEYS,
        *REVOCATION_KEYS,
        *POLICY_KEYS,
        *SECRET_KEYS,
        *GENERATE_KEYS,
        *ALLOWLIST_KEYS,
        *RULE_KEYS,
        "type",
        "url",
        "salt",
        "local",
        "vault",
        "address",
        "mount",
        "path",
        "label",
    }
)
#: Values the loader gives meaning to, so documents get past type checks more often.
MEANINGFUL = st.one_of(
    SCALARS,
    st.sampled_from(
        ["none", "default", "1", "10MB", "30d", "1h", "local", "vault", "aws", "high", "(?i)x+"]
    ),
    st.just(1),
)
DOCUMENTS = st.fixed_dictionaries(
    {"version": st.just(1), "extends": st.sampled_from(["none", "default"])},
    optional={
        key: json_data(keys_from(VOCABULARY), MEANINGFUL)
        for key in CONFIG_KEYS
        if key not in ("version", "extends")
    },
)


def _parse(text: str | bytes, tmp: Path, *, with_rules: bool = True) -> None:
    try:
        config = parse_config(text, ".leakstop.yaml", base_dir=tmp, with_rules=with_rules)
    except (ConfigError, RuleError) as exc:
        check_message(exc)
    else:
        assert isinstance(config, Config)


@fuzz_settings(60)
@given(document=DOCUMENTS)
def test_arbitrary_nested_data_gives_a_config_or_a_config_error(
    document: dict[str, object],
) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    # Without rules: parsing the 1,069 built-in ones costs ~0.4 s an example and is the same
    # every time; rule mappings have tests/fuzz/test_rules.py.
    _parse(text, Path("/nonexistent-leakstop-fuzz"), with_rules=False)


@fuzz_settings(200)
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300), DEEP_NESTING))
@example(text="[" * 50_000)
@example(text="a: &x [*x]")
@example(text="!!python/object:os.system {}")
@example(text="version: 1\nextends: none\nrules: [{id: x, regex: '(a+)+', keywords: [a]}]")
def test_arbitrary_yaml_text_gives_a_config_or_a_config_error(text: str | bytes) -> None:
    _parse(text, Path("/nonexistent-leakstop-fuzz"))
