from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from leakstop.config import Config, parse_config
from leakstop.config.options import Origin
from leakstop.config.providers import (
    LOCAL_PROVIDER,
    PROVIDER_TYPES,
    ProviderSettings,
    find_provider,
)
from leakstop.errors import ConfigError

PROVIDERS = """\
providers:
  vault: {type: vault, url: http://127.0.0.1:8200, auth: {method: token}}
  billing-db:
    type: postgres
    dsn_env: BILLING_DB_ADMIN_DSN
"""


def _parse(text: str) -> Config:
    return parse_config(text, "cfg.yaml", base_dir=Path("."))


def test_providers_keep_their_order_type_options_and_place() -> None:
    vault, database = _parse(PROVIDERS).providers
    assert vault == ProviderSettings(
        "vault", "vault", {"url": "http://127.0.0.1:8200", "auth": {"method": "token"}}
    )
    assert database == ProviderSettings(
        "billing-db", "postgres", {"dsn_env": "BILLING_DB_ADMIN_DSN"}
    )
    assert database.origin == Origin("cfg.yaml", 3)
    assert database.kind.issuer
    assert not database.kind.store


def test_settings_are_hashable_and_picklable() -> None:
    providers = _parse(PROVIDERS).providers
    assert len({*providers, *providers}) == 2
    assert pickle.loads(pickle.dumps(providers)) == providers


@pytest.mark.parametrize("kind", list(PROVIDER_TYPES))
def test_every_known_type_is_accepted(kind: str) -> None:
    name = "local" if kind == "local" else "p"
    (provider,) = _parse(f"providers:\n  {name}: {{type: {kind}}}\n").providers
    assert provider.type == kind


def test_local_is_always_available() -> None:
    config = _parse("version: 1\n")
    assert config.providers == ()
    assert config.provider("local") is LOCAL_PROVIDER
    assert Config(rules=()).provider("local") is LOCAL_PROVIDER
    listed = _parse("providers:\n  local: {type: local, folder: /srv/store}\n")
    assert listed.provider("local").options == {"folder": "/srv/store"}
    with pytest.raises(KeyError):
        config.provider("vault")


def test_find_provider() -> None:
    providers = _parse(PROVIDERS).providers
    assert find_provider(providers, "vault") is providers[0]
    assert find_provider(providers, "local") is LOCAL_PROVIDER
    assert find_provider(providers, "nope") is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "providers:\n  v: {type: vaults}\n",
            2,
            "provider 'v': unknown provider type 'vaults' (choose from local, vault,",
        ),
        ("providers:\n  v: {url: x}\n", 2, "provider 'v': missing required key 'type'"),
        ("providers:\n  v: {type: 3}\n", 2, "provider 'v': 'type' must be a string"),
        ("providers:\n  Vault: {type: vault}\n", 2, "provider name 'Vault' must be lower-case"),
        ("providers:\n  1st: {type: vault}\n", 2, "provider name '1st' must be"),
        (f"providers:\n  {'v' * 65}: {{type: vault}}\n", 2, "(at most 64)"),
        (
            "providers:\n  v: vault\n",
            2,
            "provider 'v' must be a mapping such as {type: vault, ...}",
        ),
        ("providers:\n  v:\n", 2, "provider 'v' must be a mapping"),
        ("providers:\n  local: {type: vault}\n", 2, "'local' is the embedded store"),
        (
            "providers:\n  v:\n    type: vault\n    auth: {method: approle, secret_id: x}\n",
            4,
            "provider 'v': 'secret_id' would put a credential in the config file",
        ),
        (
            "providers:\n  db: {type: postgres, dsn: 'postgresql://u:p@h/db'}\n",
            2,
            "'dsn_env' instead",
        ),
        ("providers:\n  - vault\n", 1, "'providers' must be a mapping, got a list"),
    ],
)
def test_bad_providers_name_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _parse(text)
    assert str(info.value).startswith(f"cfg.yaml:{line}: "), str(info.value)
    assert message in str(info.value)
    assert "u:p@h" not in str(info.value)
