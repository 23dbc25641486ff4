"""The vault provider as an Issuer, against a real OpenBao: AppRole secret-ids and tokens are
minted, proven by a real login, and revoked so that the old one no longer logs in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import hvac
import pytest

from leakstop.errors import ProviderError
from leakstop.rotator.providers.vault import VaultProvider
from tests.rotator.providers.bao import BaoServer, frozen, running_bao, where

pytestmark = pytest.mark.slow

SECRET = "ci/deployer-secret-id"
APPROLE = frozen({"approle": "deployer"})
TOKEN_ROLE = frozen({"token_role": "ci", "ttl": "1h"})


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    for server in running_bao(tmp_path_factory.mktemp("bao")):
        admin = server.admin
        admin.sys.create_or_update_acl_policy(
            name="reader", policy='path "secret/data/ci/*" { capabilities = ["read"] }'
        )
        admin.sys.enable_auth_method("approle")
        admin.auth.approle.create_or_update_approle("deployer", token_policies=["reader"])
        admin.auth.token.create_or_update_role("ci", allowed_policies=["reader"], orphan=True)
        admin.auth.token.create_or_update_role("child", allowed_policies=["reader"])
        yield server


@pytest.fixture
def vault(bao: BaoServer) -> Iterator[VaultProvider]:
    provider = bao.provider()
    yield provider
    provider.close()


def logs_in(bao: BaoServer, secret_id: bytes) -> bool:
    role_id = bao.admin.auth.approle.read_role_id("deployer")["data"]["role_id"]
    try:
        bao.client().auth.approle.login(role_id=role_id, secret_id=secret_id.decode())
    except hvac.exceptions.InvalidRequest:
        return False
    return True


def token_count(bao: BaoServer) -> int:
    return len(bao.admin.auth.token.list_accessors()["data"]["keys"])


def test_an_approle_rotation_as_the_machine_runs_it(
    bao: BaoServer, vault: VaultProvider, caplog: pytest.LogCaptureFixture
) -> None:
    first = bao.admin.auth.approle.generate_secret_id("deployer")["data"]["secret_id"]
    place = where("ci/deployer", key="secret_id")
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path="ci/deployer", secret={"secret_id": first}, mount_point="secret"
    )

    new = vault.mint(SECRET, APPROLE)
    assert isinstance(new, bytes)
    pending = vault.put_pending(SECRET, place, new, "1")
    vault.apply(SECRET, APPROLE, new, first.encode())
    tokens_before_test = token_count(bao)
    vault.test(SECRET, APPROLE, new)
    assert token_count(bao) == tokens_before_test  # the test login's token was revoked
    assert vault.read(SECRET, place) == first.encode()  # readers still get the old one
    vault.promote(SECRET, place, pending.version, "1")
    old = vault.read(SECRET, place, "1")
    vault.revoke(SECRET, APPROLE, old)

    assert vault.read(SECRET, place) == new
    assert logs_in(bao, new)
    assert not logs_in(bao, old)
    with pytest.raises(ProviderError, match="test login as AppRole 'deployer'"):
        vault.test(SECRET, APPROLE, old)
    with caplog.at_level(logging.INFO):
        vault.revoke(SECRET, APPROLE, old)  # safe to repeat
    assert "the old secret-id is already gone" in caplog.text
    looked_up = bao.admin.auth.approle.read_secret_id("deployer", new.decode())["data"]
    assert looked_up["metadata"] == {"created_by": "leakstop", "leakstop_secret": SECRET}


def test_sweep_destroys_only_what_a_dead_run_minted_and_never_stored(
    bao: BaoServer, vault: VaultProvider
) -> None:
    """Orphans: minted by leakstop for this secret after the current one. The previous
    value (older than current, in its grace period), another secret's and a person's
    secret-ids are kept; so is one minted within `older_than` (a live run's)."""
    name = "ci/sweep-target"
    previous = vault.mint(name, APPROLE)
    current = vault.mint(name, APPROLE)
    orphan = vault.mint(name, APPROLE)
    other_secret = vault.mint("ci/someone-else", APPROLE)
    by_hand = bao.admin.auth.approle.generate_secret_id("deployer")["data"]["secret_id"]

    assert vault.sweep(name, APPROLE, current, timedelta(hours=1)) == 0  # too young
    assert logs_in(bao, orphan)
    assert vault.sweep(name, APPROLE, current, timedelta(0)) == 1
    assert not logs_in(bao, orphan)
    for kept in (previous, current, other_secret, by_hand.encode()):
        assert isinstance(kept, bytes)
        assert logs_in(bao, kept)
    assert vault.sweep(name, APPROLE, current, timedelta(0)) == 0  # nothing left to do


def test_a_refused_secret_id_is_not_shown(vault: VaultProvider) -> None:
    bogus = b"4a1e62f0-0000-4000-8000-00000000dead"
    with pytest.raises(ProviderError) as raised:
        vault.test(SECRET, APPROLE, bogus)

    assert "invalid role or secret ID" in str(raised.value)
    assert bogus.decode() not in str(raised.value)
    with pytest.raises(ProviderError, match="single value, not fields"):
        vault.test(SECRET, APPROLE, {"secret_id": "x"})


def test_revoke_by_value_when_the_policy_allows_no_lookup(
    bao: BaoServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = bao.token_with_policy(
        "destroy-only",
        'path "auth/approle/role/deployer/secret-id/destroy" { capabilities = ["update"] }',
    )
    old = bao.admin.auth.approle.generate_secret_id("deployer")["data"]["secret_id"].encode()
    assert logs_in(bao, old)

    with caplog.at_level(logging.INFO):
        bao.provider(environ={"VAULT_TOKEN": token}).revoke(SECRET, APPROLE, old)

    assert not logs_in(bao, old)
    assert "accessor not looked up" in caplog.text


def test_a_token_rotation(bao: BaoServer, vault: VaultProvider) -> None:
    old = vault.mint("ci/token", TOKEN_ROLE)
    new = vault.mint("ci/token", TOKEN_ROLE)
    assert isinstance(old, bytes)
    assert isinstance(new, bytes)
    looked_up = bao.admin.auth.token.lookup(new.decode())["data"]
    assert looked_up["orphan"] is True
    assert looked_up["meta"] == {"created_by": "leakstop", "leakstop_secret": "ci/token"}
    assert looked_up["policies"] == ["default", "reader"]

    vault.test("ci/token", TOKEN_ROLE, new)
    vault.renew("ci/token", TOKEN_ROLE, new)
    vault.revoke("ci/token", TOKEN_ROLE, old)

    with pytest.raises(ProviderError) as raised:
        vault.test("ci/token", TOKEN_ROLE, old)
    assert "permission denied" in str(raised.value)
    assert old.decode() not in str(raised.value)
    vault.test("ci/token", TOKEN_ROLE, new)
    vault.revoke("ci/token", TOKEN_ROLE, old)  # safe to repeat


def test_a_role_that_makes_child_tokens_is_refused_and_leaves_none(
    bao: BaoServer, vault: VaultProvider
) -> None:
    vault.current("x/y", where("x/y"))  # logged in, so the count below is only the mint's
    before = token_count(bao)

    with pytest.raises(ProviderError, match="set orphan=true on the token role"):
        vault.mint("ci/token", frozen({"token_role": "child"}))

    assert token_count(bao) == before


def test_secret_ids_are_not_renewed(vault: VaultProvider) -> None:
    with pytest.raises(ProviderError, match="cannot be renewed"):
        vault.renew(SECRET, APPROLE, b"x")


def test_minting_needs_permission(bao: BaoServer) -> None:
    token = bao.token_with_policy("nothing", 'path "secret/data/none" { capabilities = ["read"] }')
    provider: Any = bao.provider(environ={"VAULT_TOKEN": token})

    with pytest.raises(ProviderError) as raised:
        provider.mint(SECRET, APPROLE)

    assert str(raised.value) == (
        "vault 'vault': mint a secret-id for AppRole 'deployer': permission denied"
    )
