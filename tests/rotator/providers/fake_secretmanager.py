"""A Google Secret Manager that answers the v1 REST API as documented (only what leakstop
calls): secrets create/get/patch/list, versions add/get/list/access/disable/destroy, version
aliases (resolved by get and access), and etags (a stale etag on patch is FAILED_PRECONDITION,
HTTP 400). State is real: versions with payloads, states and creation times.

As the real service does, names in responses carry the project *number*, whatever the request
named. https://cloud.google.com/secret-manager/docs/reference/rest
"""

from __future__ import annotations

import base64
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.rotator.providers.https_server import HttpsServer, Request, Response

PROJECT_NUMBER = "914027553816"


@dataclass
class Version:
    number: int
    data: bytes
    created: datetime
    state: str = "ENABLED"


@dataclass
class Secret:
    id: str
    created: datetime
    etag: str = ""
    aliases: dict[str, int] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    versions: list[Version] = field(default_factory=list)

    def touch(self) -> None:
        self.etag = f'"{secrets.token_hex(7)}"'


class FakeSecretManager:
    """One project's secrets and the HTTP routes; `token` is the bearer token it accepts."""

    def __init__(self, folder: Path, project: str, token: str = "ya29.gsm-test-9c1d") -> None:
        self.project = project
        self.token = token
        self.secrets: dict[str, Secret] = {}
        #: Permissions leakstop's identity lacks (the IAM verbs: get, access, add, update, list).
        self.denied: set[str] = set()
        # Distinct, increasing creation times, as versions written a moment apart have.
        self._ticks = itertools.count()
        self.server = HttpsServer(self.route, folder)
        self.url = self.server.url
        self.ca_file = self.server.ca_file

    def stop(self) -> None:
        self.server.stop()

    # Set-up helpers for tests

    def put(self, secret_id: str, data: bytes) -> int:
        secret = self.secrets.get(secret_id) or self._create(secret_id, {})
        version = Version(len(secret.versions) + 1, data, self._now())
        secret.versions.append(version)
        return version.number

    def payload(self, secret_id: str, number: int) -> bytes:
        return self.secrets[secret_id].versions[number - 1].data

    def state(self, secret_id: str, number: int) -> str:
        return self.secrets[secret_id].versions[number - 1].state

    # The API

    def route(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        path, _, verb = request.path.partition(":")
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["v1", "projects"] or len(parts) < 4 or parts[3] != "secrets":
            return _error(404, "NOT_FOUND", "The requested URL was not found.")
        if parts[2] not in (self.project, PROJECT_NUMBER):
            return _error(403, "PERMISSION_DENIED", f"Permission denied on project {parts[2]}.")
        rest = parts[4:]
        method = request.method
        if not rest:
            if method == "POST":
                return self._create_secret(request)
            return self._list_secrets() if not self._denied("list") else _denied("list")
        secret = self.secrets.get(rest[0])
        if secret is None:
            return _error(404, "NOT_FOUND", f"Secret [{self._name(rest[0])}] not found.")
        if len(rest) == 1:
            if verb == "addVersion" and method == "POST":
                return self._add(secret, request.json())
            if method == "GET":
                return self._guard("get") or Response(200, self._secret_json(secret))
            if method == "PATCH":
                return self._patch(secret, request)
        if len(rest) == 2 and rest[1] == "versions" and method == "GET":
            return self._guard("list") or self._list_versions(secret)
        if len(rest) == 3 and rest[1] == "versions":
            version = self._resolve(secret, rest[2])
            if version is None:
                return _error(
                    404,
                    "NOT_FOUND",
                    f"Secret Version [{self._name(secret.id)}/versions/{rest[2]}] not found.",
                )
            if verb == "access":
                return self._guard("access") or self._access(secret, version)
            if verb in ("disable", "destroy", "enable"):
                return self._guard("update") or self._set_state(secret, version, verb)
            return self._guard("get") or Response(200, self._version_json(secret, version))
        return _error(400, "INVALID_ARGUMENT", "Unsupported request.")

    def _create_secret(self, request: Request) -> Response:
        if self._denied("create"):
            return _denied("create")
        secret_id = request.query.get("secretId", [""])[0]
        if secret_id in self.secrets:
            return _error(
                409, "ALREADY_EXISTS", f"Secret [{self._name(secret_id)}] already exists."
            )
        body = request.json()
        secret = self._create(secret_id, dict(body.get("annotations") or {}))
        return Response(200, self._secret_json(secret))

    def _create(self, secret_id: str, annotations: dict[str, str]) -> Secret:
        secret = Secret(secret_id, self._now(), annotations=annotations)
        secret.touch()
        self.secrets[secret_id] = secret
        return secret

    def _add(self, secret: Secret, body: dict[str, Any]) -> Response:
        if self._denied("add"):
            return _denied("add")
        data = base64.b64decode((body.get("payload") or {}).get("data", ""))
        version = Version(len(secret.versions) + 1, data, self._now())
        secret.versions.append(version)
        return Response(200, self._version_json(secret, version))

    def _patch(self, secret: Secret, request: Request) -> Response:
        if self._denied("update"):
            return _denied("update")
        body = request.json()
        mask = ",".join(request.query.get("updateMask", [""])).split(",")
        etag = body.get("etag")
        if etag and etag != secret.etag:
            return _error(
                400, "FAILED_PRECONDITION", "The etag provided in the request does not match."
            )
        if "versionAliases" in mask or "version_aliases" in mask:
            aliases = {k: int(v) for k, v in (body.get("versionAliases") or {}).items()}
            for alias, number in aliases.items():
                if alias in ("latest", "NEW") or not 1 <= number <= len(secret.versions):
                    return _error(400, "INVALID_ARGUMENT", f"Invalid alias {alias}.")
            secret.aliases = aliases
        secret.touch()
        return Response(200, self._secret_json(secret))

    def _access(self, secret: Secret, version: Version) -> Response:
        if version.state != "ENABLED":
            return _error(
                400,
                "FAILED_PRECONDITION",
                f"Secret Version [{self._name(secret.id)}/versions/{version.number}] is in "
                f"{version.state} state.",
            )
        return Response(
            200,
            {
                "name": f"{self._name(secret.id)}/versions/{version.number}",
                "payload": {"data": base64.b64encode(version.data).decode()},
            },
        )

    def _set_state(self, secret: Secret, version: Version, verb: str) -> Response:
        if version.state == "DESTROYED":
            return _error(400, "FAILED_PRECONDITION", "The version is destroyed.")
        version.state = {"disable": "DISABLED", "destroy": "DESTROYED", "enable": "ENABLED"}[verb]
        if verb == "destroy":
            version.data = b""
        return Response(200, self._version_json(secret, version))

    def _list_versions(self, secret: Secret) -> Response:
        listed = [self._version_json(secret, v) for v in reversed(secret.versions)]
        return Response(200, {"versions": listed, "totalSize": len(listed)})

    def _list_secrets(self) -> Response:
        listed = [self._secret_json(s) for s in self.secrets.values()]
        return Response(200, {"secrets": listed, "totalSize": len(listed)})

    def _resolve(self, secret: Secret, ref: str) -> Version | None:
        if ref == "latest":
            return secret.versions[-1] if secret.versions else None
        if ref.isdigit():
            number = int(ref)
        elif ref in secret.aliases:
            number = secret.aliases[ref]
        else:
            return None
        return secret.versions[number - 1] if 1 <= number <= len(secret.versions) else None

    def _secret_json(self, secret: Secret) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self._name(secret.id),
            "replication": {"automatic": {}},
            "createTime": _timestamp(secret.created),
            "etag": secret.etag,
        }
        if secret.aliases:
            out["versionAliases"] = {k: str(v) for k, v in secret.aliases.items()}
        if secret.annotations:
            out["annotations"] = secret.annotations
        return out

    def _version_json(self, secret: Secret, version: Version) -> dict[str, Any]:
        return {
            "name": f"{self._name(secret.id)}/versions/{version.number}",
            "createTime": _timestamp(version.created),
            "state": version.state,
            "etag": f'"{version.number:x}{version.state[:2].lower()}"',
        }

    def _name(self, secret_id: str) -> str:
        return f"projects/{PROJECT_NUMBER}/secrets/{secret_id}"

    def _now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(milliseconds=next(self._ticks))

    def _denied(self, permission: str) -> bool:
        return permission in self.denied

    def _guard(self, permission: str) -> Response | None:
        return _denied(permission) if self._denied(permission) else None


def _denied(permission: str) -> Response:
    return _error(
        403,
        "PERMISSION_DENIED",
        f"Permission 'secretmanager.versions.{permission}' denied for resource (or it may not "
        "exist).",
    )


def _error(code: int, status: str, message: str) -> Response:
    return Response(code, {"error": {"code": code, "message": message, "status": status}})


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
