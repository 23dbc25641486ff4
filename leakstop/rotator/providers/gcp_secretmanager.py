"""Google Secret Manager (`type: gcp-secretmanager`) as a Store, through
google-cloud-secret-manager (the `gcp` extra, imported on first use) over its REST transport.

```yaml
providers:
  gsm: {type: gcp-secretmanager, project: my-project}
secrets:
  - name: billing/db-password
    store: {provider: gsm, secret: billing-db}        # old_versions: disable (or destroy)
```

Auth is Application Default Credentials (`auth: {method: default}`): in GitHub Actions after
`google-github-actions/auth` with Workload Identity Federation, on GCE/GKE/Cloud Run from the
metadata server, `GOOGLE_APPLICATION_CREDENTIALS`, or `gcloud auth application-default login`.
`auth: {method: token, token_env: VAR}` sends an access token from the environment instead
(`gcloud auth print-access-token`). leakstop's identity needs `roles/secretmanager.admin` on
the secrets it manages (it adds versions, accesses them, moves aliases, disables versions);
`api_endpoint:` points at a regional or private endpoint (`host[:port]` or an https URL).

How the labels map onto Secret Manager
--------------------------------------
Versions are numbered 1, 2, ...; the labels are the secret's **version aliases** `current`,
`pending` and `previous`, which Secret Manager resolves in AccessSecretVersion: consumers read
`projects/P/secrets/S/versions/current`. Aliases are a field of the Secret, written with its
**etag**, so every label move is a real check-and-set: a concurrent writer makes the step fail
with ProviderConflictError, never overwrites. (AddSecretVersion itself takes no etag: a version
added by a loser of the race is disabled again.)

* **put_pending** checks `current` against `expected_current`, adds a version and points
  `pending` at it (etag). Readers of `versions/latest` see it from here on, as in Google's own
  rotation samples; readers of `versions/current` do not.
* **promote** moves `current` to the pending version and `previous` to the old current, drops
  `pending` (one etag-checked write), then disables (or with `old_versions: destroy`,
  destroys) the version that was previous before: only current and previous stay readable.
* **discard_pending** drops `pending` and disables the version; when it was the latest, the
  current value is added again as the new latest (a disabled latest version makes
  `versions/latest` reads fail) and `current` points at it.
* A secret that leakstop has never promoted has no `current` alias: its newest enabled
  version is current. A secret that does not exist yet is created (automatic replication).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leakstop.config.options import Options, Origin
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ConfigError, LeakstopError, ProviderConflictError, ProviderError
from leakstop.rotator.providers.base import (
    CURRENT,
    PENDING,
    PREVIOUS,
    ProviderContext,
    StoredVersion,
    Value,
)
from leakstop.rotator.providers.cloud_options import (
    DEFAULT,
    GITHUB_OIDC,
    CloudCommon,
    OptionChecker,
    parse_common,
)
from leakstop.rotator.providers.gcp_errors import gcp_errors, import_gcp, is_etag_mismatch
from leakstop.rotator.providers.gcp_oidc import (
    GCP_OIDC_KEYS,
    check_oidc_options,
    identity_pool_file_credentials,
    job_token_credentials,
)

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
DISABLE, DESTROY = "disable", "destroy"
_PROVIDER_KEYS = ("project", "api_endpoint", "auth", "tls", "timeout")
_STORE_KEYS = ("secret", "old_versions")
#: Project ids (6-30 characters) or numbers.
_PROJECT = re.compile(r"^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})$")
_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_ENABLED = "ENABLED"


@dataclass(frozen=True)
class SecretManagerSettings:
    project: str
    api_endpoint: str | None
    common: CloudCommon


@dataclass(frozen=True)
class _Place:
    secret: str
    old_versions: str


@dataclass(frozen=True)
class _Secret:
    etag: str
    aliases: Mapping[str, int]


@dataclass(frozen=True)
class _Version:
    number: int
    state: str
    created: datetime | None


def parse_settings(name: str, options: Options, origin: Origin) -> SecretManagerSettings:
    """The provider's options; ConfigError at the provider's file:line."""
    check = OptionChecker(f"provider {name!r} (gcp-secretmanager)", origin)
    check.keys(options, _PROVIDER_KEYS)
    project = check.string(options, "project", required=True) or ""
    if not _PROJECT.match(project):
        raise check.error(f"project {project!r} is not a Google Cloud project id or number")
    endpoint = check.string(options, "api_endpoint")
    if endpoint is not None and (endpoint.startswith("http://") or not endpoint.strip()):
        raise check.error("api_endpoint must be host[:port] or an https:// URL")
    common = parse_common(check, options, GCP_OIDC_KEYS, ("workload_identity_provider",))
    if common.auth.method == GITHUB_OIDC:
        check_oidc_options(check, common.auth.oidc)
    return SecretManagerSettings(project, endpoint, common)


def parse_place(secret: str, where: Options, origin: Origin | None = None) -> _Place:
    """The secret id (and what happens to old versions) in a `store:` reference."""
    check = OptionChecker(f"secret {secret!r}: store", origin or Origin())
    check.keys(where, _STORE_KEYS)
    secret_id = check.string(where, "secret", required=True) or ""
    if not _SECRET_ID.match(secret_id):
        raise check.error(
            f"secret {secret_id!r} must be 1-255 letters, digits, '-' and '_' (Secret Manager)"
        )
    old = check.string(where, "old_versions") or DISABLE
    if old not in (DISABLE, DESTROY):
        raise check.error(f"old_versions must be {DISABLE} or {DESTROY}, got {old!r}")
    return _Place(secret_id, old)


class SecretManagerStore:
    """One project's Secret Manager. Connects on first use. Every method raises
    ProviderError (one line, no value) and ProviderConflictError when an etag check loses."""

    def __init__(
        self,
        name: str,
        settings: SecretManagerSettings,
        environ: Mapping[str, str],
        credentials: Any = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._environ = environ
        self._credentials = credentials
        self._client: Any = None

    @classmethod
    def from_settings(cls, context: ProviderContext) -> SecretManagerStore:
        settings = parse_settings(context.name, context.options, context.origin)
        return cls(context.name, settings, context.environ)

    def __repr__(self) -> str:
        return f"SecretManagerStore({self.name!r}, {self.settings.project!r})"

    # Store

    def current(self, name: str, where: Options) -> StoredVersion | None:
        place = parse_place(name, where)
        secret = self._secret(place)
        number = self._current(place, secret) if secret is not None else None
        return self._stored(place, number, CURRENT) if number is not None else None

    def pending(self, name: str, where: Options) -> StoredVersion | None:
        place = parse_place(name, where)
        secret = self._secret(place)
        number = secret.aliases.get(PENDING) if secret is not None else None
        if number is None:
            return None
        found = self._version(place, number)
        if found is None or found.state != _ENABLED:
            return None  # a discard that stopped before dropping the alias
        return StoredVersion(str(number), (PENDING,), found.created)

    def read(self, name: str, where: Options, version: str | None = None) -> Value:
        place = parse_place(name, where)
        if version is None:
            secret = self._secret(place)
            number = self._current(place, secret) if secret is not None else None
            if number is None:
                raise ProviderError(self._doing(f"read {place.secret}: it has no current version"))
        else:
            number = _number(version)
        data = self._access(place, number)
        return data

    def versions(self, name: str, where: Options) -> list[StoredVersion]:
        """Every version, oldest first, with the labels its aliases give it."""
        place = parse_place(name, where)
        secret = self._secret(place)
        if secret is None:
            return []
        current = self._current(place, secret)
        labels = {v: k for k, v in secret.aliases.items() if k in (PENDING, PREVIOUS)}
        if current is not None:
            labels[current] = CURRENT
        return [
            StoredVersion(
                str(v.number),
                (labels[v.number],) if v.number in labels and v.state == _ENABLED else (),
                v.created,
            )
            for v in sorted(self._list(place), key=lambda v: v.number)
        ]

    def put_pending(
        self, name: str, where: Options, value: Value, expected_current: str | None
    ) -> StoredVersion:
        place = parse_place(name, where)
        secret = self._secret(place)
        if secret is None:
            if expected_current is not None:
                raise self._changed(place, None, expected_current)
            secret = self._create(place, name)
        current = self._current(place, secret)
        self._expect(place, current, expected_current)
        in_flight = self.pending(name, where)
        if in_flight is not None:
            raise ProviderConflictError(
                self._doing(
                    f"{place.secret}: a rotation is already in flight (pending version "
                    f"{in_flight.version}); resume or discard it"
                )
            )
        newest = max((v.number for v in self._list(place)), default=0)
        try:
            added = self._add(place, _payload(value))
        except ProviderConflictError:
            raise
        except ProviderError:
            # The answer may be lost after the version was added (a dropped connection, a
            # timeout, a 5xx): look, and withdraw what this call added.
            with contextlib.suppress(ProviderError):  # Secret Manager is down: exc says so
                unanswered = [
                    v.number for v in self._list(place) if v.number > newest and v.state == _ENABLED
                ]
                self._withdraw(place, name, unanswered)
            raise
        try:
            self._move(place, secret, {PENDING: added.number})
        except ProviderConflictError:
            self._disable(place, added.number)
            raise
        except ProviderError:
            with contextlib.suppress(ProviderError):
                after = self._secret(place)
                if after is not None and after.aliases.get(PENDING) == added.number:
                    return StoredVersion(str(added.number), (PENDING,), added.created)
                self._withdraw(place, name, [added.number])
            raise
        return StoredVersion(str(added.number), (PENDING,), added.created)

    def _withdraw(self, place: _Place, name: str, numbers: list[int]) -> None:
        """Disable versions a failed put_pending added, whose value nobody ever held. Left
        enabled, the newest would be read as `latest` and, on a secret leakstop never
        promoted (no `current` alias), as current: a value the issuer never saw. When one
        was the latest, the current value is added again as the new latest."""
        for number in numbers:
            self._disable(place, number)
        if numbers and max(numbers) == max((v.number for v in self._list(place)), default=0):
            self._copy_forward(place, name)

    def promote(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> None:
        place = parse_place(name, where)
        number = _number(version)
        secret = self._secret(place)
        if secret is None:
            raise ProviderError(self._doing(f"promote {place.secret}: the secret does not exist"))
        aliases = secret.aliases
        if aliases.get(CURRENT) == number and PENDING not in aliases:
            return  # promoted by an earlier call
        if aliases.get(PENDING) != number:
            raise ProviderError(self._doing(f"promote {place.secret}: no pending version {number}"))
        current = self._current(place, secret)
        self._expect(place, current, expected_current)
        retired = aliases.get(PREVIOUS)
        self._move(place, secret, {CURRENT: number, PREVIOUS: current, PENDING: None})
        if retired is not None and retired not in (number, current):
            # Out of use since an earlier rotation: only current and previous stay readable.
            self._retire(place, retired)

    def discard_pending(self, name: str, where: Options, version: str) -> None:
        place = parse_place(name, where)
        number = _number(version)
        secret = self._secret(place)
        if secret is None:
            return
        aliases = secret.aliases
        if aliases.get(CURRENT) == number or aliases.get(PREVIOUS) == number:
            raise ProviderConflictError(
                self._doing(f"discard {place.secret}: version {number} is not pending")
            )
        if aliases.get(PENDING) == number:
            self._move(place, secret, {PENDING: None})
        found = self._version(place, number)
        if found is None or found.state != _ENABLED:
            return
        self._disable(place, number)
        newest = max((v.number for v in self._list(place)), default=0)
        if newest == number:
            self._copy_forward(place, name)

    def retire(self, name: str, where: Options, version: str) -> None:
        """Disable (or destroy) an old version after its grace period; current is refused."""
        place = parse_place(name, where)
        number = _number(version)
        secret = self._secret(place)
        if secret is not None and self._current(place, secret) == number:
            raise ProviderError(self._doing(f"retire {place.secret}: version {number} is current"))
        self._retire(place, number)

    def check(self, secrets: Iterable[ManagedSecret]) -> list[str]:
        """Problems for `providers check`, one line each: bad store options, an endpoint that
        cannot be reached or refuses leakstop's identity, secrets it cannot read."""
        problems: list[str] = []
        mine = [s for s in secrets if s.store.provider == self.name]
        for secret in mine:
            try:
                parse_place(secret.name, secret.store.options, secret.origin)
                # A secret that does not exist yet is fine: the first rotation creates it.
                if self.current(secret.name, secret.store.options) is not None:
                    self.read(secret.name, secret.store.options)
            except ConfigError as exc:
                problems.append(str(exc))
            except ProviderError as exc:
                problems.append(f"{secret.name}: {exc}")
        if not mine:
            parent = f"projects/{self.settings.project}"
            try:
                self._call(
                    "list secrets",
                    lambda c: next(iter(c.list_secrets(request={"parent": parent})), None),
                )
            except LeakstopError as exc:
                problems.append(str(exc))
        return problems

    # Secret Manager calls

    def _client_now(self) -> Any:
        if self._client is None:
            secretmanager, _ = import_gcp()
            options: dict[str, Any] = {}
            if self.settings.api_endpoint is not None:
                options["api_endpoint"] = self.settings.api_endpoint
            with gcp_errors(self._doing("connect")):
                client = secretmanager.SecretManagerServiceClient(
                    credentials=self._credentials_now(),
                    transport="rest",
                    client_options=options,
                )
            if self.settings.common.ca_file is not None:
                _trust(client.transport._session, self.settings.common.ca_file)
            self._client = client
        return self._client

    def _credentials_now(self) -> Any:
        if self._credentials is None:
            auth = self.settings.common.auth
            if auth.method == DEFAULT:
                import google.auth

                with gcp_errors(self._doing("find Google credentials")):
                    self._credentials = identity_pool_file_credentials(self._environ, SCOPES)
                    if self._credentials is None:
                        self._credentials, _ = google.auth.default(scopes=list(SCOPES))
            elif auth.method == GITHUB_OIDC:
                self._credentials = job_token_credentials(
                    auth.oidc,
                    self._environ,
                    self.settings.common.timeout,
                    self._doing("github-oidc login"),
                    SCOPES,
                )
            else:
                from google.oauth2.credentials import Credentials

                token = auth.token(self.name, self._environ)
                self._credentials = Credentials(token=token)  # type: ignore[no-untyped-call]
        return self._credentials

    def _call(self, doing: str, call: Any) -> Any:
        with gcp_errors(self._doing(doing)):
            return call(self._client_now())

    def _path(self, place: _Place) -> str:
        return f"projects/{self.settings.project}/secrets/{place.secret}"

    def _secret(self, place: _Place) -> _Secret | None:
        _, exceptions = import_gcp()

        def get(client: Any) -> _Secret | None:
            try:
                found = client.get_secret(
                    request={"name": self._path(place)}, timeout=self._timeout
                )
            except exceptions.NotFound:
                return None
            return _Secret(found.etag, dict(found.version_aliases))

        got: _Secret | None = self._call(f"read {place.secret}", get)
        return got

    def _create(self, place: _Place, name: str) -> _Secret:
        _, exceptions = import_gcp()

        def create(client: Any) -> _Secret:
            try:
                made = client.create_secret(
                    request={
                        "parent": f"projects/{self.settings.project}",
                        "secret_id": place.secret,
                        "secret": {
                            "replication": {"automatic": {}},
                            "annotations": {"leakstop-secret": name},
                        },
                    },
                    timeout=self._timeout,
                )
            except exceptions.AlreadyExists as exc:
                raise ProviderConflictError(
                    self._doing(f"create {place.secret}: created by another writer meanwhile")
                ) from exc
            return _Secret(made.etag, dict(made.version_aliases))

        created: _Secret = self._call(f"create {place.secret}", create)
        return created

    def _current(self, place: _Place, secret: _Secret) -> int | None:
        if CURRENT in secret.aliases:
            return secret.aliases[CURRENT]
        if PREVIOUS in secret.aliases:
            return None  # leakstop promoted before; someone removed the alias since
        pending = secret.aliases.get(PENDING)
        enabled = [
            v.number for v in self._list(place) if v.state == _ENABLED and v.number != pending
        ]
        return max(enabled) if enabled else None

    def _list(self, place: _Place) -> list[_Version]:
        def listed(client: Any) -> list[_Version]:
            return [
                _Version(_number_of(v.name), _state(v), _created(v))
                for v in client.list_secret_versions(
                    request={"parent": self._path(place)}, timeout=self._timeout
                )
            ]

        found: list[_Version] = self._call(f"list the versions of {place.secret}", listed)
        return found

    def _version(self, place: _Place, number: int) -> _Version | None:
        _, exceptions = import_gcp()

        def get(client: Any) -> _Version | None:
            try:
                v = client.get_secret_version(
                    request={"name": f"{self._path(place)}/versions/{number}"},
                    timeout=self._timeout,
                )
            except exceptions.NotFound:
                return None
            return _Version(number, _state(v), _created(v))

        found: _Version | None = self._call(f"read {place.secret} version {number}", get)
        return found

    def _access(self, place: _Place, number: int) -> bytes:
        def access(client: Any) -> bytes:
            response = client.access_secret_version(
                request={"name": f"{self._path(place)}/versions/{number}"}, timeout=self._timeout
            )
            return bytes(response.payload.data)

        data: bytes = self._call(f"read {place.secret} version {number}", access)
        return data

    def _add(self, place: _Place, data: bytes) -> _Version:
        def add(client: Any) -> _Version:
            v = client.add_secret_version(
                request={"parent": self._path(place), "payload": {"data": data}},
                timeout=self._timeout,
            )
            return _Version(_number_of(v.name), _state(v), _created(v))

        added: _Version = self._call(f"write {place.secret}", add)
        return added

    def _move(self, place: _Place, secret: _Secret, changes: Mapping[str, int | None]) -> None:
        """Set (or with None drop) aliases, only if the secret's etag is still `secret.etag`."""
        _, exceptions = import_gcp()
        aliases = {k: v for k, v in {**secret.aliases, **changes}.items() if v is not None}

        def update(client: Any) -> None:
            try:
                client.update_secret(
                    request={
                        "secret": {
                            "name": self._path(place),
                            "version_aliases": aliases,
                            "etag": secret.etag,
                        },
                        "update_mask": {"paths": ["version_aliases"]},
                    },
                    timeout=self._timeout,
                )
            except exceptions.FailedPrecondition as exc:
                if is_etag_mismatch(exc, exceptions):
                    raise ProviderConflictError(
                        self._doing(
                            f"{place.secret}: changed by another writer (its etag moved); "
                            "the labels were not changed"
                        )
                    ) from exc
                raise

        self._call(f"move the labels of {place.secret}", update)

    def _disable(self, place: _Place, number: int) -> None:
        self._call(
            f"disable {place.secret} version {number}",
            lambda c: c.disable_secret_version(
                request={"name": f"{self._path(place)}/versions/{number}"}, timeout=self._timeout
            ),
        )

    def _retire(self, place: _Place, number: int) -> None:
        found = self._version(place, number)
        if found is None or found.state == "DESTROYED":
            return
        if place.old_versions == DESTROY:
            self._call(
                f"destroy {place.secret} version {number}",
                lambda c: c.destroy_secret_version(
                    request={"name": f"{self._path(place)}/versions/{number}"},
                    timeout=self._timeout,
                ),
            )
        elif found.state == _ENABLED:
            self._disable(place, number)

    def _copy_forward(self, place: _Place, name: str) -> None:
        secret = self._secret(place)
        current = self._current(place, secret) if secret is not None else None
        if secret is None or current is None:
            return
        added = self._add(place, self._access(place, current))
        # The copied version becomes previous (when that label is free), so that the next
        # promotion retires it: left enabled and unlabelled, it would keep a revoked value
        # readable.
        retire_later = {PREVIOUS: current} if PREVIOUS not in secret.aliases else {}
        self._move(place, secret, {CURRENT: added.number, **retire_later})

    def _stored(self, place: _Place, number: int, label: str) -> StoredVersion:
        found = self._version(place, number)
        return StoredVersion(str(number), (label,), found.created if found else None)

    @property
    def _timeout(self) -> float:
        return self.settings.common.timeout

    def _expect(self, place: _Place, current: int | None, expected: str | None) -> None:
        if (str(current) if current is not None else None) != expected:
            raise self._changed(place, current, expected)

    def _changed(
        self, place: _Place, current: int | None, expected: str | None
    ) -> ProviderConflictError:
        return ProviderConflictError(
            self._doing(
                f"{place.secret}: changed by another writer (current version is "
                f"{current or 'none'}, expected {expected or 'none'}); nothing was written"
            )
        )

    def _doing(self, action: str) -> str:
        return f"gcp-secretmanager {self.name!r}: {action}"


def _trust(session: Any, ca_file: str) -> None:
    """Make the REST transport's requests session verify TLS with `ca_file` (the client has
    no CA option). Setting `session.verify` is not enough: requests lets REQUESTS_CA_BUNDLE
    override a session's `verify` unless each request passes its own."""
    send = session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("verify", ca_file)
        return send(method, url, *args, **kwargs)

    session.request = request


def _payload(value: Value) -> bytes:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True).encode("utf-8")
    return value


def _number(version: str) -> int:
    if not version.isdigit() or int(version) < 1:
        raise ProviderError(f"{version!r} is not a Secret Manager version number")
    return int(version)


def _number_of(resource: str) -> int:
    return int(resource.rsplit("/", 1)[-1])


def _state(version: Any) -> str:
    return str(getattr(version.state, "name", version.state))


def _created(version: Any) -> datetime | None:
    created = getattr(version, "create_time", None)
    return created if isinstance(created, datetime) else None
