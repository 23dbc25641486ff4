from __future__ import annotations

import base64
import json

import pytest

from leakstop.rules.validators import (
    VALIDATORS,
    base62_crc32,
    is_github_token,
    is_jwt,
    is_npm_token,
    is_pypi_token,
)


def test_base62_crc32_pads_to_six() -> None:
    assert len(base62_crc32("")) == 6
    assert base62_crc32("") == "000000"


@pytest.mark.parametrize(
    ("token", "valid"),
    [
        ("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", True),
        ("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", True),
        ("ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXh", False),
        ("ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xX", False),
        ("ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8024x-H", False),
    ],
)
def test_github_token_checksum(token: str, valid: bool) -> None:
    assert is_github_token(token) is valid


def test_npm_token_checksum() -> None:
    assert is_npm_token("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")
    assert not is_npm_token("npm_8HxjSI6bWHtP3fS2qHx6kwXoIIXGvO0gswHK")


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_jwt_structure() -> None:
    token = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64({'sub': '1'})}.c2lnbmF0dXJl"
    assert is_jwt(token)
    assert not is_jwt(f"{_b64({'typ': 'JWT'})}.{_b64({'sub': '1'})}.sig")  # no alg
    assert not is_jwt(f"{_b64({'alg': 'none'})}.bm90IGpzb24.sig")  # payload not JSON
    assert not is_jwt("eyJhbGciOi.only-two")


def test_pypi_token_structure() -> None:
    macaroon = b"\x02\x01\x08pypi.org\x02\x06\x00" + bytes(range(40))
    token = "pypi-" + base64.urlsafe_b64encode(macaroon).decode().rstrip("=")
    assert is_pypi_token(token)
    other = b"\x02\x01\x0bexample.com" + bytes(40)
    assert not is_pypi_token("pypi-" + base64.urlsafe_b64encode(other).decode())
    assert not is_pypi_token("pypi-not-base64!!")


def test_registry_names_every_validator() -> None:
    assert set(VALIDATORS) >= {"github-token", "npm-token", "jwt", "pypi-token"}


def test_gitlab_routable_checksum() -> None:
    from leakstop.rules.validators import is_gitlab_routable_token

    token = "glpat-LyBdflNdpbPuK3x0ahdLYGM6MQpvOjFsYXIKdTo0MmJleRI.01.1b0u9zzib"
    assert is_gitlab_routable_token(token)
    assert not is_gitlab_routable_token(token[:-1] + "a")
    assert is_gitlab_routable_token("glpat-xxxxxxxxxxxxxxxxxxxx")  # no checksum to check


def test_atlassian_packagist_and_grafana_checksums() -> None:
    from leakstop.rules.validators import (
        is_atlassian_token,
        is_grafana_service_account_token,
        is_packagist_token,
    )

    assert is_atlassian_token("ATBBt60llT4bM3RADBrTgfiMi1AD3054FB72")
    assert not is_atlassian_token("ATBBt60llT4bM3RADBrTgfiMi1AD3054FB73")
    packagist = "packagist_out_3060cd3d8823b7da8e8c65e2acebf3aea089833741b0a9b3fe0767e501064b6c5550"
    assert is_packagist_token(packagist)
    assert not is_packagist_token(packagist[:-1] + "1")
    assert is_grafana_service_account_token("glsa_dskGJLH7fEGCOQI2HDEnUBu2QxBopz3a_915a8314")
    assert not is_grafana_service_account_token("glsa_dskGJLH7fEGCOQI2HDEnUBu2QxBopz3a_915a8315")


def test_private_key_structure() -> None:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from leakstop.rules.validators import is_private_key

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    for form, encryption in [
        (s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()),
        (s.PrivateFormat.PKCS8, s.NoEncryption()),
        (s.PrivateFormat.PKCS8, s.BestAvailableEncryption(b"pw")),
        (s.PrivateFormat.OpenSSH, s.NoEncryption()),
    ]:
        pem = key.private_bytes(s.Encoding.PEM, form, encryption).decode()
        assert is_private_key(pem)
        assert is_private_key(pem.replace("\n", "\\n"))  # JSON-escaped
    elliptic = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()
    )
    assert is_private_key(elliptic.decode())
    assert not is_private_key("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----")
    assert not is_private_key(
        "-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----"
    )


def test_basic_auth() -> None:
    from leakstop.rules.validators import is_basic_auth

    assert is_basic_auth("dXNlcjpwYXNz")  # user:pass
    assert not is_basic_auth("dXNlcg==")  # no password
    assert not is_basic_auth("not base64!")


def test_base64_text() -> None:
    from leakstop.rules.validators import is_base64_text

    assert is_base64_text(base64.b64encode(b"Tz8$kQ3nWv6@").decode())
    assert not is_base64_text("Tq8vW3xLz6Rk2pN9")  # the alphabet, but decodes to binary
    assert not is_base64_text(base64.b64encode(b" padded ").decode())
    assert not is_base64_text("VHo4JGtRM25XdjZ")  # not a whole number of 4-character groups
