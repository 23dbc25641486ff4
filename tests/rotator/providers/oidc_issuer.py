"""A local stand-in for GitHub Actions' OIDC provider, for tests that log in with a job's token.

Two roles in one HTTP server on 127.0.0.1, as GitHub documents them ("OpenID Connect
reference"; the toolkit's `core.getIDToken`):

* the issuer, `token.actions.githubusercontent.com`: `/.well-known/openid-configuration` and
  the JWKS it names, so a verifier (OpenBao's jwt auth) finds the signing key by itself;
* the runner's token endpoint: a job with `permissions: id-token: write` gets
  `ACTIONS_ID_TOKEN_REQUEST_URL` (already carrying `?api-version=2.0`) and
  `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; `GET $URL&audience=AUD` with
  `Authorization: bearer $TOKEN` answers `{"value": "<jwt>"}`. Without `audience` the token's
  `aud` is the repository owner's URL, GitHub's default.

Tokens are RS256 JWTs signed with `cryptography`, with GitHub's claims for one job (`Job`).
Every token minted is kept in `minted`, so a test can search output for them.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Where the runner's token endpoint answers (the real one lives under pipelines.actions...).
TOKEN_PATH = "/_apis/distributedtask/idtoken"
JWKS_PATH = "/.well-known/jwks"
DISCOVERY_PATH = "/.well-known/openid-configuration"
#: How long GitHub's job tokens are valid (its `exp` is minutes after `iat`).
TOKEN_LIFETIME = 300


@dataclass(frozen=True)
class Job:
    """The workflow job a token is minted for: the claims GitHub derives from it."""

    repository: str = "acme/billing"
    ref: str = "refs/heads/main"
    #: The job's `environment:`; GitHub's `sub` names it instead of the ref when set.
    environment: str | None = None
    workflow: str = "leakstop-respond.yml"
    event_name: str = "push"
    actor: str = "octocat-dev"

    @property
    def owner(self) -> str:
        return self.repository.split("/")[0]

    @property
    def subject(self) -> str:
        if self.environment:
            return f"repo:{self.repository}:environment:{self.environment}"
        return f"repo:{self.repository}:ref:{self.ref}"

    def claims(self, issuer: str, audience: str, issued_at: int, lifetime: int) -> dict[str, Any]:
        workflow_ref = f"{self.repository}/.github/workflows/{self.workflow}@{self.ref}"
        sha = secrets.token_hex(20)
        claims: dict[str, Any] = {
            "jti": secrets.token_hex(16),
            "iss": issuer,
            "aud": audience,
            "sub": self.subject,
            "repository": self.repository,
            "repository_owner": self.owner,
            "repository_visibility": "private",
            "ref": self.ref,
            "ref_type": "branch" if self.ref.startswith("refs/heads/") else "tag",
            "ref_protected": "true",
            "sha": sha,
            "actor": self.actor,
            "event_name": self.event_name,
            "workflow": self.workflow,
            "workflow_ref": workflow_ref,
            "workflow_sha": sha,
            "job_workflow_ref": workflow_ref,
            "job_workflow_sha": sha,
            "run_id": "7000001",
            "run_number": "12",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
            "iat": issued_at,
            "nbf": issued_at - 5,
            "exp": issued_at + lifetime,
        }
        if self.environment:
            claims["environment"] = self.environment
        return claims


@dataclass
class OidcIssuer:
    """A running issuer + token endpoint; `stop()` ends it. `job` is what the endpoint mints
    for; `lifetime` and `issued_at` (seconds, epoch) shape its next tokens."""

    key: rsa.RSAPrivateKey
    kid: str
    job: Job = Job()
    lifetime: int = TOKEN_LIFETIME
    issued_at: int | None = None
    #: The runner's bearer for the token endpoint (ACTIONS_ID_TOKEN_REQUEST_TOKEN).
    request_token: str = field(default_factory=lambda: f"runner-{secrets.token_urlsafe(24)}")
    minted: list[str] = field(default_factory=list)
    #: The `audience` of each token request, None when it had none.
    audiences: list[str | None] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    @property
    def request_url(self) -> str:
        return f"{self.url}{TOKEN_PATH}?api-version=2.0"

    def runner_environ(self) -> dict[str, str]:
        """The variables a runner sets in a job with `permissions: id-token: write`."""
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.request_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    def mint(self, audience: str | None = None, job: Job | None = None, **claims: Any) -> str:
        """A signed token for `job` (default: the current one); `claims` override any claim."""
        job = job or self.job
        issued_at = self.issued_at if self.issued_at is not None else int(time.time())
        body = job.claims(
            self.url, audience or f"https://github.com/{job.owner}", issued_at, self.lifetime
        )
        body.update(claims)
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid}
        signing_input = f"{_b64_json(header)}.{_b64_json(body)}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input}.{_b64(signature)}"
        self.minted.append(token)
        return token

    def for_job(self, **changes: Any) -> None:
        """Mint the next tokens for a job changed by `changes` (repository=, environment=...)."""
        self.job = replace(self.job, **changes)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.jwks_url,
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": [*sorted(Job().claims(self.url, "", 0, 0)), "environment"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.kid,
                    "n": _b64(_unsigned(numbers.n)),
                    "e": _b64(_unsigned(numbers.e)),
                }
            ]
        }

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def running_issuer() -> Iterator[OidcIssuer]:
    """For a fixture: a started issuer on a free 127.0.0.1 port, stopped afterwards."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = OidcIssuer(key=key, kid=secrets.token_hex(8))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(issuer))
    issuer._server = server
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-issuer", daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        issuer.stop()
        thread.join(10)


def _handler_for(issuer: OidcIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == DISCOVERY_PATH:
                self._json(200, issuer.discovery())
            elif parts.path == JWKS_PATH:
                self._json(200, issuer.jwks())
            elif parts.path == TOKEN_PATH:
                self._token(parse_qs(parts.query))
            else:
                self._json(404, {"message": "Not Found"})

        def _token(self, query: dict[str, list[str]]) -> None:
            # The auth scheme is case-insensitive (RFC 7235): the toolkit sends `bearer`,
            # google-github-actions/auth's credential file `Bearer`.
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token != issuer.request_token:
                self._json(401, {"message": "Unauthorized"})
                return
            if query.get("api-version") != ["2.0"]:
                self._json(400, {"message": "api-version 2.0 is required"})
                return
            audience = query.get("audience", [None])[0]
            issuer.audiences.append(audience)
            self._json(200, {"value": issuer.mint(audience)})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests' output stays free of request lines

    return Handler


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _unsigned(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8, "big")
