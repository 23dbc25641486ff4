"""A Key Vault that answers the secrets REST API as documented (only what leakstop calls):
set (PUT /secrets/{name}), get (GET /secrets/{name}/{version}, latest without one), update
(PATCH /secrets/{name}/{version}), list versions, list secrets, get deleted secret. State is
real: versions with values, tags, enabled flags and creation times; soft-deleted names.

Authentication as Key Vault does it: a request without a valid bearer token gets 401 with the
`WWW-Authenticate` challenge that names the tenant and resource; the SDK then asks its
credential for a token and sends the request again.
https://learn.microsoft.com/rest/api/keyvault/secrets
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.rotator.providers.https_server import HttpsServer, Request, Response

TENANT = "0b6f8d3e-4a1c-4f9e-9d2a-7c5e1f3b8a60"
CHALLENGE = (
    f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
    'resource="https://vault.azure.net"'
)


@dataclass
class Version:
    id: str
    value: str
    created: int
    enabled: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


class FakeKeyVault:
    """The vault's state and its HTTP routes; `token` is the bearer token it accepts."""

    def __init__(self, folder: Path, token: str = "kv-test-token-4f1e") -> None:
        self.token = token
        self.secrets: dict[str, list[Version]] = {}
        self.deleted: set[str] = set()
        #: Permissions leakstop's identity lacks (Key Vault's names: get, list, set).
        self.denied: set[str] = set()
        # Key Vault's `created` has whole seconds; a counter keeps the order strict in tests
        # that write twice within a second, as versions a second apart would be.
        self._clock = itertools.count(int(time.time()))
        self.server = HttpsServer(self.route, folder)
        self.url = self.server.url
        self.ca_file = self.server.ca_file

    def stop(self) -> None:
        self.server.stop()

    # Set-up helpers for tests (what someone else did in the portal)

    def put(self, name: str, value: str, tags: dict[str, str] | None = None) -> str:
        version = Version(uuid.uuid4().hex, value, next(self._clock), tags=dict(tags or {}))
        self.secrets.setdefault(name, []).append(version)
        return version.id

    def latest(self, name: str) -> Version:
        return self.secrets[name][-1]

    def version(self, name: str, version_id: str) -> Version:
        return next(v for v in self.secrets[name] if v.id == version_id)

    # The API

    def route(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.token}":
            return Response(401, None, {"WWW-Authenticate": CHALLENGE})
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] == ["deletedsecrets"] and len(parts) == 2:
            return self._deleted(parts[1])
        if parts[:1] != ["secrets"]:
            return _error(400, "BadParameter", "The request URI is not valid.")
        if len(parts) == 1 and request.method == "GET":
            return self._list_secrets()
        name = parts[1]
        if len(parts) == 2 and request.method == "PUT":
            return self._set(name, request.json())
        if len(parts) == 3 and parts[2] == "versions" and request.method == "GET":
            return self._list_versions(name)
        version = parts[2] if len(parts) == 3 else ""
        if request.method == "GET":
            return self._get(name, version)
        if request.method == "PATCH":
            return self._update(name, version, request.json())
        return _error(405, "MethodNotAllowed", "The method is not allowed.")

    def _set(self, name: str, body: dict[str, Any]) -> Response:
        if "set" in self.denied:
            return _forbidden("set")
        if name in self.deleted:
            return _error(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name "
                "cannot be reused; in this state, the secret can only be recovered or purged.",
            )
        attributes = body.get("attributes") or {}
        version = Version(
            uuid.uuid4().hex,
            str(body["value"]),
            next(self._clock),
            bool(attributes.get("enabled", True)),
            dict(body.get("tags") or {}),
            body.get("contentType"),
        )
        self.secrets.setdefault(name, []).append(version)
        return Response(200, self._bundle(name, version, with_value=True))

    def _get(self, name: str, version_id: str) -> Response:
        if "get" in self.denied:
            return _forbidden("get")
        found = self._find(name, version_id)
        if isinstance(found, Response):
            return found
        if not found.enabled:
            return Response(
                403,
                {
                    "error": {
                        "code": "Forbidden",
                        "message": "Operation get is not allowed on a disabled secret.",
                        "innererror": {"code": "SecretDisabled"},
                    }
                },
            )
        return Response(200, self._bundle(name, found, with_value=True))

    def _update(self, name: str, version_id: str, body: dict[str, Any]) -> Response:
        if "set" in self.denied:
            return _forbidden("set")
        found = self._find(name, version_id)
        if isinstance(found, Response):
            return found
        attributes = body.get("attributes") or {}
        if "enabled" in attributes:
            found.enabled = bool(attributes["enabled"])
        if "tags" in body:
            found.tags = dict(body["tags"] or {})  # replaced as a whole, as Key Vault does
        if "contentType" in body:
            found.content_type = body["contentType"]
        return Response(200, self._bundle(name, found, with_value=False))

    def _list_versions(self, name: str) -> Response:
        if "list" in self.denied:
            return _forbidden("list")
        if name not in self.secrets:
            return _not_found(name)
        items = [self._bundle(name, v, with_value=False) for v in self.secrets[name]]
        return Response(200, {"value": items, "nextLink": None})

    def _list_secrets(self) -> Response:
        if "list" in self.denied:
            return _forbidden("list")
        items = []
        for name, versions in self.secrets.items():
            item = self._bundle(name, versions[-1], with_value=False)
            item["id"] = f"{self.url}/secrets/{name}"
            items.append(item)
        return Response(200, {"value": items, "nextLink": None})

    def _deleted(self, name: str) -> Response:
        if name not in self.deleted:
            return _error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        return Response(
            200,
            {
                "id": f"{self.url}/secrets/{name}",
                "recoveryId": f"{self.url}/deletedsecrets/{name}",
                "attributes": {"enabled": True, "recoveryLevel": "Recoverable+Purgeable"},
            },
        )

    def _find(self, name: str, version_id: str) -> Version | Response:
        if name not in self.secrets:
            return _not_found(name)
        if not version_id:
            return self.secrets[name][-1]
        for version in self.secrets[name]:
            if version.id == version_id:
                return version
        return _error(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {name}/{version_id} was not found in this key vault.",
        )

    def _bundle(self, name: str, version: Version, with_value: bool) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "id": f"{self.url}/secrets/{name}/{version.id}",
            "attributes": {
                "enabled": version.enabled,
                "created": version.created,
                "updated": version.created,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
            "tags": version.tags,
        }
        if version.content_type is not None:
            bundle["contentType"] = version.content_type
        if with_value:
            bundle["value"] = version.value
        return bundle


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


def _not_found(name: str) -> Response:
    return _error(
        404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault."
    )


def _forbidden(permission: str) -> Response:
    return _error(
        403,
        "Forbidden",
        f"The user, group or application 'appid=leakstop-test' does not have secrets "
        f"{permission} permission on key vault 'billing-kv'.",
    )
