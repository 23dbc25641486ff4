"""The registry builds each provider type once, and a github store only over a readable
journal store."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.config import parse_config
from leakstop.errors import ProviderError
from leakstop.rotator.providers.command import CommandIssuer
from leakstop.rotator.providers.github import GitHubProvider
from leakstop.rotator.providers.github_store import GitHubSecretsStore
from leakstop.rotator.providers.registry import Providers
from leakstop.rotator.providers.webhook import WebhookIssuer
from leakstop.store import LocalStore

MASTER = "master of the registry tests"
CONFIG = """version: 1
providers:
  github: {type: github}
  ghe: {type: github, api_url: 'https://ghe.example.com/api/v3', journal: hook}
  gh2: {type: github, journal: nowhere}
  hook: {type: webhook, url: 'https://hooks.example.com/x', hmac_key_env: HOOK_KEY}
  tool: {type: command, command: [/bin/true]}
"""


@pytest.fixture
def providers(tmp_path: Path) -> Providers:
    audit_log = AuditLog.open(tmp_path / "audit", b"audit key of the registry tests")
    LocalStore.init(
        tmp_path,
        "default",
        MASTER.encode(),
        audit_log,
        Context("t", Source.CLI),
        iterations=1000,
    )
    config = parse_config(CONFIG, ".leakstop.yaml", base_dir=tmp_path, with_rules=False)
    environ = {"LEAKSTOP_HOME": str(tmp_path), "LEAKSTOP_MASTER_KEY": MASTER}
    return Providers(config, audit_log, Context("t", Source.CLI), environ)


def test_each_new_type_is_built_by_its_module(providers: Providers) -> None:
    assert isinstance(providers.issuer("github"), GitHubProvider)
    assert isinstance(providers.issuer("hook"), WebhookIssuer)
    assert isinstance(providers.issuer("tool"), CommandIssuer)
    assert isinstance(providers.store("github", "default"), GitHubSecretsStore)


def test_a_github_store_needs_a_readable_journal(providers: Providers) -> None:
    with pytest.raises(ProviderError, match="journal 'hook' must be a readable store"):
        providers.store("ghe", "default")
    with pytest.raises(ProviderError, match="journal 'nowhere' must be a readable store"):
        providers.store("gh2", "default")


def test_webhook_and_command_cannot_store(providers: Providers) -> None:
    with pytest.raises(ProviderError, match="cannot store secrets"):
        providers.store("hook", "default")
