"""Writing GitHub Actions secrets: a value sealed (libsodium sealed box, PyNaCl: the `github`
extra) under the public key of its repository, environment or organisation, then PUT.

GitHub's secrets API (REST docs, "GitHub Actions secrets"): `GET {base}/public-key` gives
`{key_id, key}` (base64 Curve25519); `PUT {base}/{name}` takes `{encrypted_value, key_id}`
(org secrets also `visibility` and, for `selected`, `selected_repository_ids`) and answers 201
(created) or 204 (updated); `GET {base}/{name}` gives `{name, created_at, updated_at}`, never
the value.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from leakstop.errors import ProviderError
from leakstop.rotator.providers.base import Value
from leakstop.rotator.providers.github_api import GitHubApi
from leakstop.rotator.providers.github_options import SecretPlace

#: GitHub refuses a secret larger than 48 KB.
MAX_SIZE = 48 * 1024


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    key: bytes


class ActionsSecrets:
    """Reads public keys and secret metadata, writes sealed values; one GitHub."""

    def __init__(self, api: GitHubApi) -> None:
        self._api = api

    def public_key(self, place: SecretPlace) -> PublicKey:
        found = self._api.call("GET", f"{place.base}/public-key").json()
        if not isinstance(found, dict):
            raise self._odd(place, "public key")
        try:
            return PublicKey(str(found["key_id"]), base64.b64decode(found["key"], validate=True))
        except (KeyError, TypeError, ValueError) as exc:
            raise self._odd(place, "public key") from exc

    def metadata(self, place: SecretPlace) -> dict[str, Any] | None:
        """`{name, created_at, updated_at}` of the secret, or None when it does not exist."""
        response = self._api.call("GET", f"{place.base}/{place.secret}", ok=(200, 404))
        if response.status == 404:
            return None
        found = response.json()
        if not isinstance(found, dict):
            raise self._odd(place, "secret")
        return found

    def write(self, place: SecretPlace, value: Value) -> None:
        """Seal `value` under the place's current public key and PUT it (created or updated)."""
        key = self.public_key(place)
        body: dict[str, Any] = {
            "encrypted_value": seal(key.key, _plain(value)),
            "key_id": key.key_id,
        }
        if place.org is not None:
            body["visibility"] = place.visibility
            if place.visibility == "selected":
                body["selected_repository_ids"] = list(place.selected_repository_ids)
        self._api.call("PUT", f"{place.base}/{place.secret}", body, ok=(201, 204))

    def _odd(self, place: SecretPlace, what: str) -> ProviderError:
        return ProviderError(
            f"github {self._api.provider!r}: GitHub's answer for the {what} of {place} is not "
            "what its API documents"
        )


def seal(public_key: bytes, plain: bytes) -> str:
    """`plain` in a libsodium sealed box for `public_key`, base64 (what GitHub takes)."""
    try:
        from nacl.exceptions import CryptoError
        from nacl.public import PublicKey as NaclKey
        from nacl.public import SealedBox
    except ImportError as exc:
        raise ProviderError(
            "writing GitHub Actions secrets needs PyNaCl: pip install 'leakstop[github]'"
        ) from exc
    try:
        sealed = SealedBox(NaclKey(public_key)).encrypt(plain)
    except (CryptoError, ValueError, TypeError) as exc:
        raise ProviderError("GitHub's public key is not a Curve25519 key") from exc
    return base64.b64encode(sealed).decode("ascii")


def _plain(value: Value) -> bytes:
    plain = value if isinstance(value, bytes) else json.dumps(value, sort_keys=True).encode()
    if len(plain) > MAX_SIZE:
        raise ProviderError(f"a GitHub Actions secret holds at most {MAX_SIZE} bytes")
    return plain
