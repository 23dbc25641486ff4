"""Which managed secrets a revocation names: by name (and org), by type."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.config import Config, parse_config
from leakstop.errors import UsageError
from leakstop.rotator.targets import by_name, by_type

CONFIG = """version: 1
providers:
  billing-db: {type: postgres, dsn_env: BILLING_DSN}
  ci-vault: {type: vault, url: 'http://127.0.0.1:9'}
secrets:
  - name: billing/db-password
    store: {provider: local}
    issuer: {provider: billing-db, role: billing_app}
  - name: search/db-password
    org: eu
    store: {provider: local}
    issuer: {provider: billing-db, role: search_app}
    tags: {type: database-password}
  - name: ci/deployer
    store: {provider: ci-vault, path: ci/deployer, key: secret_id}
    issuer: {provider: ci-vault, approle: deployer}
  - name: legacy/db-password
    store: {provider: local}
    tags: {type: database-password}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config(CONFIG, ".leakstop.yaml", base_dir=tmp_path, with_rules=False)


def names(secrets: list) -> list[str]:  # type: ignore[type-arg]
    return [f"{s.org}/{s.name}" for s in secrets]


def test_a_type_is_an_issuers_provider_type_or_a_type_tag(config: Config) -> None:
    assert names(by_type(config, "postgres")) == [
        "default/billing/db-password",
        "eu/search/db-password",
    ]
    assert names(by_type(config, "vault")) == ["default/ci/deployer"]
    assert names(by_type(config, "database-password")) == [
        "eu/search/db-password",
        "default/legacy/db-password",
    ]


def test_an_unknown_type_names_the_known_ones(config: Config) -> None:
    with pytest.raises(UsageError) as raised:
        by_type(config, "aws")
    assert str(raised.value).endswith("types in the config: database-password, postgres, vault")


def test_by_name_and_org(config: Config) -> None:
    assert by_name(config.secrets, "ci/deployer", None).name == "ci/deployer"
    assert by_name(config.secrets, "search/db-password", "eu").org == "eu"
    with pytest.raises(UsageError, match="search/db-password is not a managed secret"):
        by_name(config.secrets, "search/db-password", "default")
    with pytest.raises(UsageError, match="billing/nope is not a managed secret"):
        by_name(config.secrets, "billing/nope", None)
