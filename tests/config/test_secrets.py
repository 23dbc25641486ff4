from __future__ import annotations

import pickle
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from leakstop.config import Config, parse_config
from leakstop.config.options import FrozenMap, Origin
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import (
    Charset,
    GenerateSpec,
    IssuerRef,
    ManagedSecret,
    StoreRef,
)
from leakstop.errors import ConfigError

ISSUE_EXAMPLE = """\
providers:
  local: {type: local}
  vault: {type: vault, url: http://127.0.0.1:8200, auth: {method: token}}
  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}
secrets:
  - name: billing/api-key
    store: {provider: local}
    generate: {length: 40, charset: alnum}
    policy: {interval: 90d, notify_before: 7d, expires: 2027-06-30, grace: 24h, auto_rotate: true}
    owners: [team-billing]
    tags: {env: prod, type: api_key}
  - name: billing/db-password
    store: {provider: vault, mount: secret, path: billing/db, key: password}
    issuer: {provider: billing-db, role: billing_app}
    policy: {interval: 30d, grace: 1h}
    handler: my_package.rotation:new_value
"""


def _parse(text: str) -> Config:
    return parse_config(text, "cfg.yaml", base_dir=Path("."))


def _secret(body: str, providers: str = "") -> ManagedSecret:
    """One secret in the local store, with `body` as more of its keys (indented 4)."""
    text = f"{providers}secrets:\n  - name: a\n    store: {{provider: local}}\n{body}"
    (secret,) = _parse(text).secrets
    return secret


def test_the_issue_example() -> None:
    api_key, password = _parse(ISSUE_EXAMPLE).secrets
    assert api_key == ManagedSecret(
        name="billing/api-key",
        store=StoreRef("local"),
        generate=GenerateSpec(length=40, charset=Charset.ALNUM),
        policy=RotationPolicy(
            interval=timedelta(days=90),
            notify_before=timedelta(days=7),
            expires=date(2027, 6, 30),
            grace=timedelta(hours=24),
            auto_rotate=True,
        ),
        owners=("team-billing",),
        tags=FrozenMap({"env": "prod", "type": "api_key"}),
    )
    assert api_key.origin == Origin("cfg.yaml", 6)
    assert password == ManagedSecret(
        name="billing/db-password",
        store=StoreRef(
            "vault", FrozenMap({"mount": "secret", "path": "billing/db", "key": "password"})
        ),
        issuer=IssuerRef("billing-db", FrozenMap({"role": "billing_app"})),
        policy=RotationPolicy(interval=timedelta(days=30), grace=timedelta(hours=1)),
        handler="my_package.rotation:new_value",
        org="default",
    )
    assert "my_package" not in sys.modules  # a handler is not imported when the config loads


def test_secrets_are_hashable_and_picklable() -> None:
    secrets = _parse(ISSUE_EXAMPLE).secrets
    assert len(set(secrets)) == 2
    assert pickle.loads(pickle.dumps(secrets)) == secrets


def test_local_needs_no_providers_section() -> None:
    config = _parse("secrets:\n  - {name: a, store: {provider: local}}\n")
    assert config.secrets[0].store == StoreRef("local")
    assert config.provider(config.secrets[0].store.provider).type == "local"


@pytest.mark.parametrize("name", ["a", "billing/api-key", "team.x/db_1/pass-word", "0/1"])
def test_valid_names(name: str) -> None:
    assert (
        _parse(f"secrets:\n  - {{name: '{name}', store: {{provider: local}}}}\n").secrets[0].name
        == name
    )


@pytest.mark.parametrize(
    "name", ["Billing", "/a", "a/", "a//b", "a/../b", "a/.hidden", "-a", "a b", "é", "a" * 256]
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(ConfigError, match=r"cfg\.yaml:2: secret name .* must be lower-case"):
        _parse(f"secrets:\n  - {{name: '{name}', store: {{provider: local}}}}\n")


def test_defaults() -> None:
    secret = _secret("")
    assert secret.issuer is None
    assert secret.generate == GenerateSpec(length=32, charset=Charset.ALNUM, prefix="")
    assert secret.policy == RotationPolicy()
    assert (secret.owners, secret.tags, secret.handler, secret.org) == ((), {}, None, "default")


def test_generate_and_the_alphabets() -> None:
    spec = _secret(
        "    generate: {length: 4096, charset: ascii-printable, prefix: 'acme_'}\n"
    ).generate
    assert spec == GenerateSpec(4096, Charset.ASCII_PRINTABLE, "acme_")
    assert _secret("    generate: {length: 8}\n").generate.length == 8
    sizes = {
        Charset.ALNUM: 62,
        Charset.ALPHA: 52,
        Charset.HEX: 16,
        Charset.BASE64: 64,
        Charset.URLSAFE: 64,
        Charset.ASCII_PRINTABLE: 94,
        Charset.DIGITS: 10,
    }
    for charset, size in sizes.items():
        assert len(set(charset.alphabet)) == len(charset.alphabet) == size, charset
        assert not any(char.isspace() for char in charset.alphabet)


@pytest.mark.parametrize(
    "handler", ["pkg.mod:fn", "mod:Class.method", "_private:_fn", "does_not_exist_anywhere:x"]
)
def test_handlers_are_checked_by_shape_only(handler: str) -> None:
    assert _secret(f"    handler: '{handler}'\n").handler == handler
    assert "does_not_exist_anywhere" not in sys.modules


def test_owners_and_tags_and_org() -> None:
    secret = _secret("    owners: team-a\n    tags: {tier: '1'}\n    org: acme-eu\n")
    assert secret.owners == ("team-a",)
    assert secret.tags == {"tier": "1"}
    assert secret.org == "acme-eu"


SECRET_A = "secrets:\n  - name: a\n    store: {provider: local}\n"
VAULT = "providers:\n  vault: {type: vault}\n  db: {type: postgres}\n  kv: {type: azure-keyvault}\n"


def test_references_to_stores_and_issuers() -> None:
    secret = _secret("    issuer: {provider: db, role: app}\n", VAULT)
    assert secret.issuer == IssuerRef("db", FrozenMap({"role": "app"}))
    text = VAULT + "secrets:\n  - name: a\n    store: {provider: kv, name: a-secret}\n"
    assert _parse(text).secrets[0].store == StoreRef("kv", FrozenMap({"name": "a-secret"}))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("secrets: {a: 1}\n", 1, "'secrets' must be a list"),
        ("secrets:\n  - billing/api-key\n", 2, "each entry of 'secrets' must be a mapping"),
        ("secrets:\n  - nmae: a\n", 2, "unknown key 'nmae' in a secret (did you mean 'name'?)"),
        ("secrets:\n  - store: {provider: local}\n", 2, "missing required key 'name' in a secret"),
        (
            "secrets:\n  - {name: a, store: {provider: local}}\n"
            "  - {name: a, store: {provider: local}}\n",
            3,
            "secret 'a' is defined twice (first on line 2)",
        ),
        ("secrets:\n  - name: a\n", 2, "secret 'a': missing required key 'store'"),
        ("secrets:\n  - name: a\n    store: local\n", 3, "secret 'a': 'store' must be a mapping"),
        (
            "secrets:\n  - name: a\n    store: {mount: x}\n",
            3,
            "missing required key 'provider' in 'store'",
        ),
        (
            "secrets:\n  - name: a\n    store: {provider: vault}\n",
            3,
            "secret 'a': store.provider 'vault' is not configured under 'providers:' "
            "(configured: local)",
        ),
        (
            VAULT + "secrets:\n  - name: a\n    store: {provider: db}\n",
            7,
            "store.provider 'db' is of type postgres, which cannot be a store "
            "(types that can: local,",
        ),
        (
            VAULT
            + "secrets:\n  - name: a\n    store: {provider: local}\n    issuer: {provider: kv}\n",
            8,
            "issuer.provider 'kv' is of type azure-keyvault, which cannot be an issuer "
            "(types that can: vault, postgres,",
        ),
        (
            "secrets:\n  - name: a\n    store: {provider: local}\n    issuer: {provider: local}\n",
            4,
            "issuer.provider 'local' is of type local",
        ),
        (
            VAULT + "secrets:\n  - name: a\n    store: {provider: vault, token: abc}\n",
            7,
            "'token' would put a credential in the config file",
        ),
        (
            VAULT + SECRET_A + "    issuer: {provider: db, key: abc}\n",
            8,
            "'key' would put a credential",
        ),
        ("    polcy: {}\n", 4, "secret 'a': unknown key 'polcy' (did you mean 'policy'?)"),
        ("    generate: {length: 7}\n", 4, "'length' must be between 8 and 4096"),
        ("    generate: {length: 4097}\n", 4, "'length' must be between 8 and 4096"),
        (
            "    generate: {charset: emoji}\n",
            4,
            "'charset' must be one of alnum, alpha, hex, base64, urlsafe, ascii-printable, digits",
        ),
        ("    generate: {prefix: 'a b'}\n", 4, "'prefix' must be at most 64 printable ASCII"),
        ("    generate: {size: 12}\n", 4, "unknown key 'size'"),
        ("    handler: pkg.mod.fn\n", 4, "'handler' must be 'package.module:function'"),
        ("    handler: 'pkg:'\n", 4, "'handler' must be"),
        ("    handler: 'pkg.mod:fn()'\n", 4, "'handler' must be"),
        (
            "    generate: {length: 12}\n    handler: m:f\n",
            5,
            "'generate' and 'handler' both make the new value: keep one",
        ),
        (
            "    policy: {interval: 7d, grace: 7d}\n",
            4,
            "secret 'a': 'grace' must be shorter than 'interval'",
        ),
        ("    tags: {tier: 1}\n", 4, "tag 'tier' must be a name with a string value"),
        ("    tags: [prod]\n", 4, "'tags' must be a mapping"),
        ("    owners: [team, 3]\n", 4, "'owners' items must be non-empty strings"),
        ("    org: Acme\n", 4, "'org' must be lower-case letters"),
    ],
)
def test_bad_secrets_name_file_and_line(text: str, line: int, message: str) -> None:
    if text.startswith("    "):  # more keys for a secret in the local store
        text = "secrets:\n  - name: a\n    store: {provider: local}\n" + text
    with pytest.raises(ConfigError) as info:
        _parse(text)
    assert str(info.value).startswith(f"cfg.yaml:{line}: "), str(info.value)
    assert message in str(info.value)
