"""The vault provider's options: checked at the place they were configured, no server needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leakstop.config import parse_config
from leakstop.config.options import FrozenMap, Options, Origin
from leakstop.errors import ConfigError
from leakstop.rotator.providers.base import ProviderContext
from leakstop.rotator.providers.vault import VaultProvider
from leakstop.rotator.providers.vault_options import (
    AppRoleSpec,
    KvPlace,
    TokenSpec,
    VaultSettings,
    parse_issuer,
    parse_place,
    parse_settings,
)
from tests.rotator.providers.bao import frozen

ORIGIN = Origin(".leakstop.yaml", 7)


def options(**values: Any) -> Options:
    result = frozen(values)
    assert isinstance(result, FrozenMap)
    return result


def settings(environ: dict[str, str] | None = None, **values: Any) -> VaultSettings:
    return parse_settings("vault", options(**values), environ or {}, ORIGIN)


def test_defaults_and_url_from_the_environment() -> None:
    parsed = settings({"VAULT_ADDR": "https://vault.example.com:8200/"})

    assert parsed.url == "https://vault.example.com:8200"
    assert parsed.auth.method == "token"
    assert parsed.auth.token_env == "VAULT_TOKEN"
    assert parsed.timeout == 30
    assert not parsed.tls.skip_verify


def test_every_option() -> None:
    parsed = settings(
        url="https://vault.example.com",
        namespace="/team-a/",
        timeout="1m",
        auth={"method": "jwt", "role": "ci", "mount": "github", "jwt_file": "/run/jwt"},
        tls={"ca_file": "/ca.pem", "client_cert_file": "/c.pem", "client_key_file": "/k.pem"},
    )

    assert parsed.namespace == "team-a"
    assert parsed.timeout == 60
    assert (parsed.auth.method, parsed.auth.role, parsed.auth.mount) == ("jwt", "ci", "github")
    assert parsed.auth.jwt_file == "/run/jwt"
    assert parsed.auth.audience is None  # GitHub's default audience
    audience = settings(
        url="http://localhost",
        auth={"method": "jwt", "role": "ci", "audience": "https://v.example"},
    )
    assert audience.auth.audience == "https://v.example"
    assert parsed.tls.ca_file == "/ca.pem"
    assert parsed.tls.client_key_file == "/k.pem"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "'url' is missing and VAULT_ADDR is not set"),
        ({"url": "ftp://vault"}, "http:// or https://"),
        ({"url": "http://vault.example.com:8200"}, "clear text"),
        ({"url": "http://localhost", "tls": {"skip_verify": True}}, "tls.insecure: true"),
        ({"url": "http://localhost", "tls": {"client_cert_file": "/c"}}, "go together"),
        ({"url": "http://localhost", "tls": {"verify": False}}, "unknown option tls.verify"),
        ({"url": "http://localhost", "auth": {"method": "ldap"}}, "auth.method must be one of"),
        ({"url": "http://localhost", "auth": {"method": "jwt"}}, "auth.role is missing"),
        (
            {"url": "http://localhost", "auth": {"method": "jwt", "role": "ci", "audience": 5}},
            "auth.audience must be a string",
        ),
        (
            {"url": "http://localhost", "auth": {"method": "jwt", "role": "ci", "audience": " "}},
            "auth.audience must not be empty",
        ),
        (
            {"url": "http://localhost", "auth": {"method": "token", "audience": "x"}},
            "unknown option auth.audience",
        ),
        (
            {"url": "http://localhost", "auth": {"method": "token", "role_id_env": "X"}},
            "unknown option auth.role_id_env",
        ),
        (
            {"url": "http://localhost", "auth": {"method": "approle", "secret_id_env": "a b"}},
            "must name an environment variable",
        ),
        ({"url": "http://localhost", "timeout": 0}, "more than 0"),
        ({"url": "http://localhost", "timeout": "soon"}, "'timeout'"),
        ({"url": "http://localhost", "namespace": "/"}, "'namespace' must not be empty"),
        ({"url": "http://localhost", "region": "x"}, "unknown option region"),
    ],
)
def test_bad_options_are_config_errors_at_the_provider(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(**values)

    assert message in str(raised.value)
    assert str(raised.value).startswith(".leakstop.yaml:7: provider 'vault': ")


def test_skip_verify_and_plain_http_elsewhere_need_an_explicit_insecure() -> None:
    parsed = settings(url="https://vault.internal", tls={"skip_verify": True, "insecure": True})
    remote_http = settings(url="http://vault:8200", tls={"insecure": True})

    assert parsed.tls.skip_verify
    assert parsed.insecure
    assert remote_http.url == "http://vault:8200"
    assert settings(url="http://127.0.0.1:8200").url == "http://127.0.0.1:8200"
    assert settings(url="http://[::1]:8200").url == "http://[::1]:8200"


def test_from_settings_uses_the_context_origin_and_does_not_connect() -> None:
    context = ProviderContext(
        "prod", options(url="http://127.0.0.1:1"), {"VAULT_TOKEN": "t"}, ORIGIN
    )
    provider = VaultProvider.from_settings(context)
    assert (provider.name, provider.mints) == ("prod", True)
    with pytest.raises(ConfigError, match=r"^\.leakstop\.yaml:7: provider 'prod': 'url'"):
        VaultProvider.from_settings(ProviderContext("prod", options(url="x"), {}, ORIGIN))


def test_store_places() -> None:
    assert parse_place("s", options(path="billing/db", key="password")) == KvPlace(
        "secret", "billing/db", "password"
    )
    assert parse_place("s", options(mount="kv/", path="a")) == KvPlace("kv", "a", None)
    assert KvPlace("kv", "a/b").pending_path == "a/b.leakstop-pending"
    for bad, message in [
        ({"key": "x"}, "'path' is missing"),
        ({"path": "a/../b"}, "'/'-separated parts"),
        ({"path": "a b"}, "'/'-separated parts"),
        ({"path": "a.leakstop-pending"}, "must not end in"),
        ({"path": "a", "key": ""}, "'key' must not be empty"),
        ({"path": "a", "version": 2}, "unknown option version"),
    ]:
        with pytest.raises(ConfigError, match=message) as raised:
            parse_place("billing/db", options(**bad), ORIGIN)
        assert str(raised.value).startswith(".leakstop.yaml:7: secret 'billing/db': store: ")


def test_issuers() -> None:
    assert parse_issuer("s", options(approle="deployer")) == AppRoleSpec("deployer")
    assert parse_issuer(
        "s", options(approle="d", mount="ci-approle", cidr_list=["10.0.0.0/8"])
    ) == AppRoleSpec("d", "ci-approle", ("10.0.0.0/8",))
    assert parse_issuer("s", options(token_role="ci", ttl="24h")) == TokenSpec("ci", "24h")
    for bad, message in [
        ({}, "give one of 'approle'"),
        ({"approle": "a", "token_role": "b"}, "give one of 'approle'"),
        ({"approle": "a", "cidr_list": ["nope"]}, "not a CIDR block"),
        ({"approle": "a", "ttl": "1h"}, "unknown option ttl"),
        ({"token_role": "ci", "ttl": "tomorrow"}, "'ttl'"),
        ({"approle": "../sys"}, "'/'-separated parts"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_issuer("s", options(**bad), ORIGIN)


def test_loading_the_provider_imports_neither_hvac_nor_requests() -> None:
    code = (
        "import sys\n"
        "from leakstop.config.options import FrozenMap\n"
        "from leakstop.rotator.providers.base import ProviderContext\n"
        "from leakstop.rotator.providers.vault import VaultProvider\n"
        "context = ProviderContext('v', FrozenMap({'url': 'http://[::1]'}), {})\n"
        "VaultProvider.from_settings(context)\n"
        "print(sorted(m for m in ('hvac', 'requests') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


CONFIG = """\
version: 1
providers:
  vault:
    type: vault
    url: https://vault.example.com
    auth: {method: approle, role_id_env: CI_ROLE_ID, secret_id_env: CI_SECRET_ID}
    tls: {ca_file: /etc/vault-ca.pem, client_cert_file: /c.pem, client_key_file: /k.pem}
secrets:
  - name: ci/deployer-secret-id
    store: {provider: vault, mount: secret, path: ci/deployer, key: secret_id}
    issuer: {provider: vault, approle: deployer}
"""


def test_from_a_config_file() -> None:
    config = parse_config(CONFIG, ".leakstop.yaml", base_dir=Path("."))
    (settings_,) = config.providers
    (secret,) = config.secrets
    context = ProviderContext(settings_.name, settings_.options, {}, settings_.origin)

    provider = VaultProvider.from_settings(context)

    assert provider.settings.auth.secret_id_env == "CI_SECRET_ID"
    assert provider.settings.tls.client_key_file == "/k.pem"
    assert parse_place(secret.name, secret.store.options) == KvPlace(
        "secret", "ci/deployer", "secret_id"
    )
    assert secret.issuer is not None
    assert parse_issuer(secret.name, secret.issuer.options) == AppRoleSpec("deployer")
    # Why the option is client_key_file: the config refuses `*_key` options with a value.
    with pytest.raises(ConfigError, match="'client_key' would put a credential"):
        parse_config(CONFIG.replace("client_key_file", "client_key"), ".leakstop.yaml", Path("."))
    bad = CONFIG.replace("method: approle", "method: approle, mount: 'a b'")
    config = parse_config(bad, ".leakstop.yaml", base_dir=Path("."))
    (settings_,) = config.providers
    with pytest.raises(ConfigError, match=r"^\.leakstop\.yaml:3: provider 'vault': auth\.mount"):
        VaultProvider.from_settings(
            ProviderContext(settings_.name, settings_.options, {}, settings_.origin)
        )
