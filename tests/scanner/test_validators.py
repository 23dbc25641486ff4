from __future__ import annotations

import base64
import json

import pytest

from leakstop.scanner.validators import (
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
