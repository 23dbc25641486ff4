"""A local GitHub for the github provider's tests: the REST endpoints leakstop uses, answered
as GitHub documents them, on pytest-httpserver (127.0.0.1).

* `GET {base}/public-key` → `{key_id, key}`: a real Curve25519 key per place, whose private
  half decrypts every sealed value PUT there (proving the sealed box is right);
* `PUT {base}/{name}` `{encrypted_value, key_id[, visibility]}` → 201 created / 204 updated;
  a stale `key_id` or a value that does not open is 422;
* `GET {base}/{name}` → `{name, created_at, updated_at}` (never the value), 404 if absent;
* `GET /rate_limit` → 200 without a token or with the valid one, 401 with another;
* `POST /credentials/revoke` `{credentials: [...]}` → 202; 422 for more than 1,000 or an empty
  list; 403 when authenticated (github.com); 429 with Retry-After past `revoke_limit` requests.

Every request body is kept in `bodies` so tests can grep for values that must not be there.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "ghp_" + "T3stT0kenForTheLocalGitHubServ" + "er0000"

_SECRETS = re.compile(
    r"^(?P<base>/repos/[^/]+/[^/]+/actions/secrets|/repos/[^/]+/[^/]+/environments/[^/]+/secrets"
    r"|/orgs/[^/]+/actions/secrets)/(?P<name>[^/]+)$"
)


@dataclass
class StoredSecret:
    plain: bytes = field(repr=False)
    created_at: str
    updated_at: str
    extra: dict[str, Any] = field(default_factory=dict)


class FakeGitHub:
    def __init__(self, server: HTTPServer, *, revoke_limit: int = 60) -> None:
        self.server = server
        self.keys: dict[str, tuple[str, PrivateKey]] = {}
        self.secrets: dict[tuple[str, str], StoredSecret] = {}
        self.revoked: list[list[str]] = []
        self.revoke_requests = 0
        self.revoke_limit = revoke_limit
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        #: Places (API bases) whose public key this token may not read.
        self.forbidden: set[str] = set()
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def value(self, base: str, name: str) -> bytes:
        return self.secrets[(base, name)].plain

    def rotate_key(self, base: str) -> None:
        """GitHub may change a place's key: the old key_id no longer writes."""
        self.keys.pop(base, None)

    def handle(self, request: Request) -> Response:
        self.bodies.append(request.get_data())
        self.headers.append(dict(request.headers.items()))
        path = request.path
        if path == "/credentials/revoke" and request.method == "POST":
            return self._revoke(request)
        if path == "/rate_limit" and request.method == "GET":
            if "Authorization" not in request.headers:
                return _json(200, {"resources": {"core": {"limit": 60, "remaining": 59}}})
            if not self._authorised(request):
                return _json(401, {"message": "Bad credentials"})
            return _json(200, {"resources": {"core": {"limit": 5000, "remaining": 4999}}})
        if not self._authorised(request):
            return _json(401, {"message": "Bad credentials"})
        if path.endswith("/public-key") and request.method == "GET":
            base = path[: -len("/public-key")]
            if base in self.forbidden:
                return _json(403, {"message": "Resource not accessible by personal access token"})
            key_id, key = self._key(base)
            return _json(
                200, {"key_id": key_id, "key": base64.b64encode(bytes(key.public_key)).decode()}
            )
        match = _SECRETS.match(path)
        if match is None:
            return _json(404, {"message": "Not Found"})
        base, name = match["base"], match["name"]
        if request.method == "GET":
            found = self.secrets.get((base, name))
            if found is None:
                return _json(404, {"message": "Not Found"})
            return _json(
                200, {"name": name, "created_at": found.created_at, "updated_at": found.updated_at}
            )
        if request.method == "PUT":
            return self._put(base, name, request.get_json())
        return _json(405, {"message": "Method not allowed"})

    def _put(self, base: str, name: str, body: dict[str, Any]) -> Response:
        key_id, key = self._key(base)
        if body.get("key_id") != key_id:
            return _json(422, {"message": "Bad key_id"})
        if base.startswith("/orgs/") and body.get("visibility") not in (
            "all",
            "private",
            "selected",
        ):
            return _json(422, {"message": "visibility is required"})
        try:
            plain = SealedBox(key).decrypt(base64.b64decode(body["encrypted_value"]))
        except (CryptoError, KeyError, TypeError, ValueError):
            return _json(422, {"message": "encrypted_value does not open"})
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        old = self.secrets.get((base, name))
        extra = {k: v for k, v in body.items() if k not in ("encrypted_value", "key_id")}
        self.secrets[(base, name)] = StoredSecret(plain, old.created_at if old else now, now, extra)
        return Response(status=204 if old else 201)

    def _revoke(self, request: Request) -> Response:
        if "Authorization" in request.headers:
            return _json(403, {"message": "Authenticated requests are not allowed"})
        self.revoke_requests += 1
        if self.revoke_requests > self.revoke_limit:
            return Response(
                json.dumps({"message": "API rate limit exceeded"}),
                status=429,
                headers={"Retry-After": "1800", "Content-Type": "application/json"},
            )
        body = request.get_json(silent=True) or {}
        credentials = body.get("credentials")
        if not isinstance(credentials, list) or not 0 < len(credentials) <= 1000:
            return _json(422, {"message": "Validation Failed"})
        self.revoked.append(list(credentials))
        return Response(status=202)

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def _key(self, base: str) -> tuple[str, PrivateKey]:
        if base not in self.keys:
            self.keys[base] = (str(len(self.keys) + 1000), PrivateKey.generate())
        return self.keys[base]


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
