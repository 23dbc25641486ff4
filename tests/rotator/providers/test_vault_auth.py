"""Logging in to a real OpenBao: token, AppRole, JWT (signed here like a GitHub Actions OIDC
token, from a variable, a file or a local stand-in for the runner's endpoint), and TLS against
a `-dev-tls` server."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pytest_httpserver import HTTPServer

from leakstop.errors import ProviderError
from tests.rotator.providers.bao import BaoServer, running_bao, where

pytestmark = pytest.mark.slow

ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "https://github.com/acme"
READER_POLICY = 'path "secret/data/auth/*" { capabilities = ["read"] }'


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    for server in running_bao(tmp_path_factory.mktemp("bao")):
        server.admin.secrets.kv.v2.create_or_update_secret(
            path="auth/db", secret={"password": "readable"}, mount_point="secret"
        )
        server.admin.sys.create_or_update_acl_policy(name="reader", policy=READER_POLICY)
        yield server


@pytest.fixture(scope="module")
def approle(bao: BaoServer) -> dict[str, str]:
    """An AppRole `leakstop` with the reader policy: its role-id and one secret-id."""
    bao.admin.sys.enable_auth_method("approle")
    bao.admin.auth.approle.create_or_update_approle("leakstop", token_policies=["reader"])
    role_id = bao.admin.auth.approle.read_role_id("leakstop")["data"]["role_id"]
    secret_id = bao.admin.auth.approle.generate_secret_id("leakstop")["data"]["secret_id"]
    return {"VAULT_ROLE_ID": role_id, "VAULT_SECRET_ID": secret_id}


@pytest.fixture(scope="module")
def signing_key(bao: BaoServer) -> rsa.RSAPrivateKey:
    """The key "GitHub" signs OIDC tokens with; Vault's jwt auth trusts its public half, and
    its role `ci` admits tokens of the repository acme/app only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    bao.admin.sys.enable_auth_method("jwt")
    bao.admin.adapter.post(
        "/v1/auth/jwt/config",
        json={"jwt_validation_pubkeys": [public.decode()], "bound_issuer": ISSUER},
    )
    bao.admin.adapter.post(
        "/v1/auth/jwt/role/ci",
        json={
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": [AUDIENCE],
            "bound_claims": {"repository": "acme/app"},
            "token_policies": ["reader"],
            "token_ttl": "5m",
        },
    )
    return key


def github_oidc_token(key: rsa.RSAPrivateKey, repository: str = "acme/app") -> str:
    """An RS256 JWT with the claims GitHub Actions puts in a job's OIDC token."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": f"repo:{repository}:ref:refs/heads/main",
        "repository": repository,
        "ref": "refs/heads/main",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
    }
    header = {"alg": "RS256", "typ": "JWT", "kid": "test"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def reads(provider: Any) -> bytes:
    value = provider.read("auth/db", where("auth/db"))
    assert isinstance(value, bytes)
    return value


def test_token_from_a_variable_the_config_names(bao: BaoServer) -> None:
    provider = bao.provider(
        {"auth": {"method": "token", "token_env": "DEPLOY_VAULT_TOKEN"}},
        {"DEPLOY_VAULT_TOKEN": bao.root_token},
    )
    assert reads(provider) == b"readable"
    with pytest.raises(ProviderError, match="variable DEPLOY_VAULT_TOKEN is not set"):
        bao.provider(
            {"auth": {"method": "token", "token_env": "DEPLOY_VAULT_TOKEN"}},
            {"VAULT_TOKEN": bao.root_token},  # not the one it was told to use
        ).current("auth/db", where("auth/db"))


def test_approle_login_and_close_revokes_the_login_token(
    bao: BaoServer, approle: dict[str, str]
) -> None:
    provider = bao.provider({"auth": {"method": "approle"}}, approle)

    assert reads(provider) == b"readable"
    login_token = provider._session.client().token
    assert bao.admin.auth.token.lookup(login_token)["data"]["policies"] == ["default", "reader"]
    provider.close()

    with pytest.raises(hvac.exceptions.Forbidden):
        bao.admin.auth.token.lookup(login_token)


def test_approle_refusals_name_the_mount_not_the_credentials(
    bao: BaoServer, approle: dict[str, str]
) -> None:
    wrong = {**approle, "VAULT_SECRET_ID": "00000000-0000-0000-0000-000000000000"}
    with pytest.raises(ProviderError) as raised:
        bao.provider({"auth": {"method": "approle"}}, wrong).current("auth/db", where("auth/db"))
    message = str(raised.value)
    assert message.startswith("vault 'vault': AppRole login at auth/approle: ")
    assert wrong["VAULT_SECRET_ID"] not in message
    assert approle["VAULT_ROLE_ID"] not in message

    with pytest.raises(ProviderError, match="variable VAULT_SECRET_ID is not set"):
        bao.provider({"auth": {"method": "approle"}}, {"VAULT_ROLE_ID": "x"}).current(
            "auth/db", where("auth/db")
        )


def test_jwt_login_as_a_github_actions_job(
    bao: BaoServer, signing_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    token = github_oidc_token(signing_key)
    jwt_file = tmp_path / "oidc-token"
    jwt_file.write_text(token + "\n", encoding="utf-8")
    from_variable = bao.provider(
        {"auth": {"method": "jwt", "role": "ci", "jwt_env": "OIDC_TOKEN"}}, {"OIDC_TOKEN": token}
    )
    from_file = bao.provider({"auth": {"method": "jwt", "role": "ci", "jwt_file": str(jwt_file)}})

    assert reads(from_variable) == b"readable"
    assert reads(from_file) == b"readable"


def test_a_jwt_of_another_repository_is_refused(
    bao: BaoServer, signing_key: rsa.RSAPrivateKey
) -> None:
    token = github_oidc_token(signing_key, repository="mallory/fork")
    provider = bao.provider(
        {"auth": {"method": "jwt", "role": "ci", "jwt_env": "OIDC_TOKEN"}}, {"OIDC_TOKEN": token}
    )

    with pytest.raises(ProviderError) as raised:
        provider.current("auth/db", where("auth/db"))

    message = str(raised.value)
    assert message.startswith("vault 'vault': JWT login as role 'ci' at auth/jwt: ")
    assert token not in message
    assert token.split(".")[2] not in message


def test_jwt_from_the_github_actions_oidc_endpoint(
    bao: BaoServer, signing_key: rsa.RSAPrivateKey, httpserver_ipv4: HTTPServer
) -> None:
    # What the runner serves at $ACTIONS_ID_TOKEN_REQUEST_URL to a job with id-token: write.
    httpserver_ipv4.expect_request(
        "/idtoken",
        query_string={"api-version": "2.0", "audience": AUDIENCE},
        headers={"Authorization": "bearer runner-request-token"},
    ).respond_with_json({"value": github_oidc_token(signing_key)})
    environ = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": httpserver_ipv4.url_for("/idtoken?api-version=2.0"),
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-request-token",
    }
    provider = bao.provider(
        {"auth": {"method": "jwt", "role": "ci", "audience": AUDIENCE}}, environ
    )

    assert reads(provider) == b"readable"
    httpserver_ipv4.check_assertions()
    with pytest.raises(ProviderError, match=r"id-token: write"):
        bao.provider({"auth": {"method": "jwt", "role": "ci"}}, {}).current("a", where("a"))


@pytest.fixture(scope="module")
def bao_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    """A second server, `-dev-tls`: HTTPS with a CA of its own."""
    yield from running_bao(tmp_path_factory.mktemp("bao-tls"), tls=True)


def test_tls_with_the_servers_ca(bao_tls: BaoServer) -> None:
    assert bao_tls.ca_file is not None
    trusting = bao_tls.provider({"tls": {"ca_file": bao_tls.ca_file}})
    not_trusting = bao_tls.provider({"tls": {}})
    missing_ca = bao_tls.provider({"tls": {"ca_file": str(Path(bao_tls.ca_file).parent / "no")}})

    assert trusting.current("tls/db", where("tls/db")) is None
    with pytest.raises(ProviderError, match=r"certificate is not trusted \(set tls\.ca_file"):
        not_trusting.current("tls/db", where("tls/db"))
    with pytest.raises(ProviderError, match=r"tls\.ca_file '.*/no' is not a readable file"):
        missing_ca.current("tls/db", where("tls/db"))


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_skip_verify_works_only_when_asked_for_and_warns(
    bao_tls: BaoServer, caplog: pytest.LogCaptureFixture
) -> None:
    provider = bao_tls.provider({"tls": {"skip_verify": True, "insecure": True}})

    with caplog.at_level(logging.WARNING):
        assert provider.current("tls/db", where("tls/db")) is None

    assert "TLS certificate verification is off" in caplog.text
    assert bao_tls.root_token not in caplog.text
