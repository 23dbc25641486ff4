"""`leakstop providers check` for vault, against a real OpenBao: the capabilities it asks
for are exactly what a rotation needs (a token with only those rotates for real)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leakstop.config.options import FrozenMap, Origin
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.errors import ProviderError
from tests.rotator.providers.bao import (
    BaoServer,
    closed_port,
    frozen,
    provider_at,
    running_bao,
)

pytestmark = pytest.mark.slow

#: What leakstop needs for one KV secret whose value is an AppRole secret-id it mints.
LEAST_PRIVILEGE = """
path "secret/data/ci/deployer" { capabilities = ["read", "create", "update"] }
path "secret/metadata/ci/deployer" { capabilities = ["read", "create", "update"] }
path "secret/data/ci/deployer.leakstop-pending" { capabilities = ["read", "create", "update"] }
path "secret/metadata/ci/deployer.leakstop-pending" { capabilities = ["read", "delete"] }
path "auth/approle/role/deployer/secret-id" { capabilities = ["update"] }
path "auth/approle/role/deployer/role-id" { capabilities = ["read"] }
path "auth/approle/role/deployer/secret-id/lookup" { capabilities = ["update"] }
path "auth/approle/role/deployer/secret-id-accessor/destroy" { capabilities = ["update"] }
"""


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    for server in running_bao(tmp_path_factory.mktemp("bao")):
        server.admin.sys.enable_auth_method("approle")
        server.admin.auth.approle.create_or_update_approle("deployer", token_policies=["default"])
        server.admin.auth.token.create_or_update_role("ci", orphan=True)
        yield server


def secret(
    name: str, store: dict[str, Any], issuer: dict[str, Any] | None = None, provider: str = "vault"
) -> ManagedSecret:
    """A managed secret as the config parser makes it, configured at .leakstop.yaml:12."""
    place, how = frozen(store), frozen(issuer)
    assert isinstance(place, FrozenMap)
    return ManagedSecret(
        name,
        StoreRef(provider, place),
        IssuerRef(provider, how) if isinstance(how, FrozenMap) else None,
        origin=Origin(".leakstop.yaml", 12),
    )


DEPLOYER = secret(
    "ci/deployer-secret-id",
    {"path": "ci/deployer", "key": "secret_id"},
    {"approle": "deployer"},
)


def test_the_root_token_may_do_everything(bao: BaoServer) -> None:
    assert bao.provider().check([DEPLOYER]) == []


def test_a_token_with_least_privilege_passes_and_can_rotate(bao: BaoServer) -> None:
    token = bao.token_with_policy("leakstop-deployer", LEAST_PRIVILEGE)
    vault = bao.provider(environ={"VAULT_TOKEN": token})
    assert DEPLOYER.issuer is not None
    place, how = DEPLOYER.store.options, DEPLOYER.issuer.options

    assert vault.check([DEPLOYER]) == []

    first = vault.mint(DEPLOYER.name, how)
    vault.put_pending(DEPLOYER.name, place, first, None)
    vault.promote(DEPLOYER.name, place, "1", None)
    second = vault.mint(DEPLOYER.name, how)
    pending = vault.put_pending(DEPLOYER.name, place, second, "1")
    vault.test(DEPLOYER.name, how, second)
    vault.promote(DEPLOYER.name, place, pending.version, "1")
    vault.revoke(DEPLOYER.name, how, vault.read(DEPLOYER.name, place, "1"))
    with pytest.raises(ProviderError, match="invalid role or secret ID"):
        vault.test(DEPLOYER.name, how, first)
    assert vault.read(DEPLOYER.name, place) == second


def test_missing_capabilities_are_listed_per_path(bao: BaoServer) -> None:
    token = bao.token_with_policy(
        "read-only-deployer",
        'path "secret/data/ci/deployer" { capabilities = ["read"] }\n'
        'path "secret/metadata/ci/deployer" { capabilities = ["read", "create", "update"] }\n'
        'path "secret/+/ci/deployer.leakstop-pending" { capabilities = ["deny"] }\n',
    )
    problems = bao.provider(environ={"VAULT_TOKEN": token}).check([DEPLOYER])

    prefix = "vault 'vault': leakstop's token lacks "
    needed = " (needed by ci/deployer-secret-id)"
    assert problems == [
        f"{prefix}read on auth/approle/role/deployer/role-id{needed}",
        f"{prefix}update on auth/approle/role/deployer/secret-id{needed}",
        f"{prefix}update on auth/approle/role/deployer/secret-id-accessor/destroy{needed}",
        f"{prefix}update on auth/approle/role/deployer/secret-id/lookup{needed}",
        f"{prefix}create, update on secret/data/ci/deployer{needed}",
        f"{prefix}create, read, update on secret/data/ci/deployer.leakstop-pending{needed}",
        f"{prefix}delete, read on secret/metadata/ci/deployer.leakstop-pending{needed}",
    ]


def test_bad_options_unreachable_and_refused_are_lines(bao: BaoServer) -> None:
    bad = secret("bad/secret", {"path": "a/../b"})
    elsewhere = secret("other/secret", {"path": "../x"}, provider="aws")

    assert bao.provider().check([bad, elsewhere]) == [
        ".leakstop.yaml:12: secret 'bad/secret': store: path 'a/../b' must be '/'-separated "
        "parts of letters, digits and ._@+=-"
    ]
    down = provider_at(f"http://127.0.0.1:{closed_port()}", {"VAULT_TOKEN": "t"})
    assert down.check([]) == [
        "vault 'vault': look up leakstop's own token: cannot connect (connection refused)"
    ]
    refused = bao.provider(environ={"VAULT_TOKEN": "s.revoked-or-never-issued"})
    assert refused.check([DEPLOYER]) == [
        "vault 'vault': look up leakstop's own token: permission denied"
    ]
    assert bao.provider(environ={}).check([]) == [
        "vault 'vault': the environment variable VAULT_TOKEN is not set (auth.method: token)"
    ]


def test_a_token_issuer_with_least_privilege(bao: BaoServer) -> None:
    ci_token = secret("ci/token", {"path": "ci/token", "key": "token"}, {"token_role": "ci"})
    assert ci_token.issuer is not None
    how = ci_token.issuer.options
    token = bao.token_with_policy(
        "leakstop-ci-token",
        'path "auth/token/create/ci" { capabilities = ["update"] }\n'
        'path "auth/token/revoke" { capabilities = ["update"] }\n'
        'path "secret/+/ci/token*" { capabilities = ["read", "create", "update", "delete"] }\n',
    )
    vault = bao.provider(environ={"VAULT_TOKEN": token})

    assert vault.check([ci_token]) == []
    old, new = vault.mint(ci_token.name, how), vault.mint(ci_token.name, how)
    vault.test(ci_token.name, how, new)
    vault.revoke(ci_token.name, how, old)
    with pytest.raises(ProviderError, match="permission denied"):
        vault.test(ci_token.name, how, old)
