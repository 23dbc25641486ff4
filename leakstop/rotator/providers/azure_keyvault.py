"""Azure Key Vault secrets (`type: azure-keyvault`) as a Store, through azure-keyvault-secrets
and azure-identity (the `azure` extra, imported on first use).

```yaml
providers:
  kv: {type: azure-keyvault, vault_url: https://billing-prod.vault.azure.net}
secrets:
  - name: billing/db-password
    store: {provider: kv, name: billing-db-password}
```

Auth is `DefaultAzureCredential` (`auth: {method: default}`): in GitHub Actions after
`azure/login` with OIDC, with a managed identity, `AZURE_CLIENT_ID`/`AZURE_TENANT_ID`/... or
`az login`. `auth: {method: token, token_env: VAR}` sends an access token from the
environment instead (`az account get-access-token --resource https://vault.azure.net`).
leakstop's identity needs the secrets get, list and set permissions (the role *Key Vault
Secrets Officer*); reading deleted secrets (to say a name is soft-deleted) is optional.

How the labels map onto Key Vault
---------------------------------
Every write of a secret is a new *version*; a version's tags are its own. leakstop tags each
version it manages `leakstop-label: current | pending | previous | discarded`:

* **put_pending** checks that the version tagged current is still `expected_current`, then
  writes the new value as a new version tagged `pending`. Key Vault has no way to write a
  version that is not the latest, so readers that name no version (App Service Key Vault
  references, `az keyvault secret show`) see the pending value from here on, as in
  Microsoft's own rotation samples; readers pinned to a version do not.
* **promote** tags the pending version `current` (naming the version it replaces in
  `leakstop-replaces`, so a promotion that stopped half-way still has one current), the old
  current `previous`, and disables the version that was previous before: only the current and
  the previous credential stay readable (Key Vault cannot delete one version).
* **discard_pending** disables the pending version and tags it `discarded`. A disabled latest
  version makes version-less reads fail, so when it was the latest the current value is
  written again as a new latest version, tagged current.
* A secret that leakstop has never written has no tags: its latest enabled version is current.

Key Vault has no conditional write (no ETag on secrets): each step re-reads the labels right
before it writes, and put_pending re-reads them after writing and backs out when another
pending version appeared or the current one moved. That narrows the window between two
writers; it does not close it.

A soft-deleted secret (deleted, still recoverable) cannot be read or written under its name;
leakstop says so instead of "not found".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from leakstop.config.options import Options, Origin
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ConfigError, LeakstopError, ProviderConflictError, ProviderError
from leakstop.rotator.providers.azure_errors import azure_errors, error_code, import_azure
from leakstop.rotator.providers.azure_retry import retry_policy
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
from leakstop.rotator.providers.github_oidc import github_oidc_token
from leakstop.rotator.providers.http import is_loopback

LABEL_TAG, SECRET_TAG, REPLACES_TAG = "leakstop-label", "leakstop-secret", "leakstop-replaces"
DISCARDED = "discarded"
JSON_CONTENT = "application/json"
_PROVIDER_KEYS = ("vault_url", "auth", "tls", "timeout")
#: `auth.method: github-oidc`: the app registration (or managed identity) whose federated
#: credential trusts the job's token; `audience` is what Entra ID expects in it.
AZURE_OIDC_KEYS = ("tenant_id", "client_id", "audience", "authority_host")
AZURE_OIDC_AUDIENCE = "api://AzureADTokenExchange"
_STORE_KEYS = ("name",)
#: Key Vault secret names: 1-127 letters, digits and dashes.
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


@dataclass(frozen=True)
class KeyVaultSettings:
    vault_url: str
    common: CloudCommon


@dataclass(frozen=True)
class _Version:
    """One version's properties as leakstop reads them (never its value)."""

    id: str
    enabled: bool
    created: datetime | None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str | None:
        return self.tags.get(LABEL_TAG)


def parse_settings(name: str, options: Options, origin: Origin) -> KeyVaultSettings:
    """The provider's options; ConfigError at the provider's file:line."""
    check = OptionChecker(f"provider {name!r} (azure-keyvault)", origin)
    check.keys(options, _PROVIDER_KEYS)
    url = check.string(options, "vault_url", required=True) or ""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
        raise check.error(
            f"vault_url must be the vault's https URL, such as https://NAME.vault.azure.net, "
            f"got {url!r}"
        )
    common = parse_common(check, options, AZURE_OIDC_KEYS, ("tenant_id", "client_id"))
    authority = common.auth.oidc.get("authority_host")
    if authority is not None and urlsplit(authority).scheme != "https":
        raise check.error(f"auth.authority_host must be an https URL, got {authority!r}")
    return KeyVaultSettings(url.rstrip("/"), common)


def parse_name(secret: str, where: Options, origin: Origin | None = None) -> str:
    """The Key Vault secret name in a `store:` reference."""
    check = OptionChecker(f"secret {secret!r}: store", origin or Origin())
    check.keys(where, _STORE_KEYS)
    name = check.string(where, "name", required=True) or ""
    if not 1 <= len(name) <= 127 or not set(name) <= _NAME_CHARS:
        raise check.error(f"name {name!r} must be 1-127 letters, digits and '-' (Key Vault)")
    return name


class KeyVaultStore:
    """One configured Key Vault. Connects on first use. Every method raises ProviderError
    (one line, no value) and ProviderConflictError when the labels changed under it."""

    def __init__(
        self,
        name: str,
        settings: KeyVaultSettings,
        environ: Mapping[str, str],
        credential: Any = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._environ = environ
        self._credential = credential
        self._client: Any = None

    @classmethod
    def from_settings(cls, context: ProviderContext) -> KeyVaultStore:
        settings = parse_settings(context.name, context.options, context.origin)
        return cls(context.name, settings, context.environ)

    def __repr__(self) -> str:
        return f"KeyVaultStore({self.name!r}, {self.settings.vault_url!r})"

    # Store

    def current(self, name: str, where: Options) -> StoredVersion | None:
        secret = parse_name(name, where)
        found = self._current(secret, self._versions(secret))
        return _stored(found, CURRENT) if found is not None else None

    def pending(self, name: str, where: Options) -> StoredVersion | None:
        secret = parse_name(name, where)
        found = _pending(self._versions(secret))
        return _stored(found, PENDING) if found is not None else None

    def read(self, name: str, where: Options, version: str | None = None) -> Value:
        secret = parse_name(name, where)
        if version is None:
            found = self._current(secret, self._versions(secret))
            if found is None:
                raise ProviderError(self._doing(f"read {secret}: it has no current version"))
            version = found.id
        got = self._call(
            f"read {secret} version {version}",
            lambda c: c.get_secret(secret, version),
            secret,
        )
        if got.properties.content_type == JSON_CONTENT:
            try:
                parsed = json.loads(got.value)
            except ValueError:
                raise ProviderError(
                    self._doing(f"read {secret}: version {version} is not the JSON it says")
                ) from None
            if isinstance(parsed, dict):
                return parsed
        return str(got.value).encode("utf-8")

    def versions(self, name: str, where: Options) -> list[StoredVersion]:
        """Every version, oldest first, labelled as leakstop tagged them."""
        secret = parse_name(name, where)
        known = self._versions(secret)
        current = self._current(secret, known)
        out = []
        for found in sorted(known, key=_age):
            label = CURRENT if current is not None and found.id == current.id else found.label
            labels = (label,) if label in (CURRENT, PENDING, PREVIOUS) and found.enabled else ()
            out.append(StoredVersion(found.id, labels, found.created))
        return out

    def put_pending(
        self, name: str, where: Options, value: Value, expected_current: str | None
    ) -> StoredVersion:
        secret = parse_name(name, where)
        known = self._versions(secret)
        current = self._current(secret, known)
        self._expect(secret, current, expected_current)
        in_flight = _pending(known)
        if in_flight is not None:
            raise ProviderConflictError(
                self._doing(
                    f"{secret}: a rotation is already in flight (pending version "
                    f"{in_flight.id}); resume or discard it"
                )
            )
        text, content_type = _text(value, self._doing(f"write {secret}"))
        written = self._call(
            f"write {secret}",
            lambda c: c.set_secret(
                secret,
                text,
                content_type=content_type,
                tags={LABEL_TAG: PENDING, SECRET_TAG: name},
            ),
            secret,
        )
        ours = written.properties.version
        others = [v for v in self._versions(secret) if v.id != ours]
        rival = _pending(others)
        # A run that finished a whole rotation since our look left no pending version, only
        # a moved current one: without this check we would apply a value never promoted.
        now = self._current(secret, others)
        now_id = now.id if now is not None else None
        moved = now_id != expected_current
        if rival is not None or moved:
            mine = _Version(ours, True, None, {LABEL_TAG: PENDING, SECRET_TAG: name})
            self._set(secret, mine, {LABEL_TAG: DISCARDED}, enabled=False)
            why = (
                f"another writer started a rotation at the same time (pending version {rival.id})"
                if rival is not None
                else f"{name} was rotated or written by another run meanwhile (current version "
                f"is {now_id or 'none'}, expected {expected_current or 'none'})"
            )
            raise ProviderConflictError(self._doing(f"{secret}: {why}; this one was discarded"))
        return StoredVersion(ours, (PENDING,), written.properties.created_on)

    def promote(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> None:
        secret = parse_name(name, where)
        known = self._versions(secret)
        current = self._current(secret, known)
        if current is not None and current.id == version and _pending(known) is None:
            return  # promoted by an earlier call
        target = next((v for v in known if v.id == version), None)
        if target is None or target.label != PENDING or not target.enabled:
            raise ProviderError(self._doing(f"promote {secret}: no pending version {version}"))
        self._expect(secret, current, expected_current)
        replaces = {REPLACES_TAG: current.id} if current is not None else {}
        self._set(secret, target, {LABEL_TAG: CURRENT, **replaces})
        if current is not None:
            self._set(secret, current, {LABEL_TAG: PREVIOUS})
        keep = {version, current.id if current is not None else None}
        for old in known:
            if old.enabled and old.label in (PREVIOUS, CURRENT) and old.id not in keep:
                # Out of use since an earlier rotation: only current and previous stay readable.
                self._set(secret, old, {LABEL_TAG: None}, enabled=False)

    def discard_pending(self, name: str, where: Options, version: str) -> None:
        secret = parse_name(name, where)
        known = self._versions(secret)
        target = next((v for v in known if v.id == version), None)
        if target is None or target.label == DISCARDED:
            return
        if target.label != PENDING:
            raise ProviderConflictError(
                self._doing(f"discard {secret}: version {version} is not pending")
            )
        self._set(secret, target, {LABEL_TAG: DISCARDED}, enabled=False)
        newest = max(known, key=_age)
        current = self._current(secret, known)
        if newest.id == version and current is not None:
            self._copy_forward(secret, name, current)

    def retire(self, name: str, where: Options, version: str) -> None:
        """Disable an old version (after its grace period); the current one is refused."""
        secret = parse_name(name, where)
        known = self._versions(secret)
        current = self._current(secret, known)
        target = next((v for v in known if v.id == version), None)
        if target is None:
            raise ProviderError(self._doing(f"retire {secret}: no version {version}"))
        if current is not None and current.id == version:
            raise ProviderError(self._doing(f"retire {secret}: version {version} is current"))
        self._set(secret, target, {LABEL_TAG: None}, enabled=False)

    def check(self, secrets: Iterable[ManagedSecret]) -> list[str]:
        """Problems for `providers check`, one line each: bad store options, a vault that
        cannot be reached or refuses leakstop's identity, secrets it cannot list or read."""
        problems: list[str] = []
        mine = [s for s in secrets if s.store.provider == self.name]
        for secret in mine:
            try:
                parse_name(secret.name, secret.store.options, secret.origin)
                # A secret that does not exist yet is fine: the first rotation creates it.
                if self.current(secret.name, secret.store.options) is not None:
                    self.read(secret.name, secret.store.options)
            except ConfigError as exc:
                problems.append(str(exc))
            except ProviderError as exc:
                problems.append(f"{secret.name}: {exc}")
        if not mine:
            try:
                self._call(
                    "list secrets", lambda c: next(iter(c.list_properties_of_secrets()), None)
                )
            except LeakstopError as exc:
                problems.append(str(exc))
        return problems

    # Key Vault calls

    def _client_now(self) -> Any:
        if self._client is None:
            secrets, _ = import_azure()
            settings, common = self.settings, self.settings.common
            options: dict[str, Any] = {
                # The challenge names the resource the token is for; the check that it
                # matches the vault's host stops a look-alike URL from collecting a token.
                # Only a server on this machine (tests) is exempt.
                "verify_challenge_resource": not is_loopback(urlsplit(settings.vault_url).hostname),
                "connection_timeout": common.timeout,
                "read_timeout": common.timeout,
                "retry_policy": retry_policy(),
            }
            if common.ca_file is not None:
                options["connection_verify"] = common.ca_file
            self._client = secrets.SecretClient(
                settings.vault_url, self._credential_now(), **options
            )
        return self._client

    def _credential_now(self) -> Any:
        if self._credential is None:
            auth = self.settings.common.auth
            if auth.method == DEFAULT:
                try:
                    from azure.identity import DefaultAzureCredential
                except ImportError as exc:
                    raise ProviderError(
                        "the azure-keyvault provider needs azure-identity: "
                        "pip install 'leakstop[azure]'"
                    ) from exc
                self._credential = DefaultAzureCredential()
            elif auth.method == GITHUB_OIDC:
                self._credential = self._github_oidc_credential()
            else:
                self._credential = StaticToken(auth.token(self.name, self._environ))
        return self._credential

    def _github_oidc_credential(self) -> Any:
        """Entra ID's client-assertion flow with the job's OIDC token as the assertion (what
        `azure/login` does with `client-id` and `tenant-id`, without the Azure CLI). The token
        is asked for each time Entra ID needs one: it lives minutes."""
        try:
            from azure.identity import ClientAssertionCredential
        except ImportError as exc:
            raise ProviderError(
                "the azure-keyvault provider needs azure-identity: pip install 'leakstop[azure]'"
            ) from exc
        common = self.settings.common
        oidc = common.auth.oidc
        audience = oidc.get("audience") or AZURE_OIDC_AUDIENCE

        def assertion() -> str:
            return github_oidc_token(
                self._environ, audience, common.timeout, self._doing("github-oidc login")
            )

        options: dict[str, Any] = {}
        authority = oidc.get("authority_host")
        if authority is not None:
            options["authority"] = authority
            # A sovereign cloud or a private authority is not in Microsoft's instance list.
            options["disable_instance_discovery"] = True
            if common.ca_file is not None:
                options["connection_verify"] = common.ca_file
        return ClientAssertionCredential(oidc["tenant_id"], oidc["client_id"], assertion, **options)

    def _call(self, doing: str, call: Any, secret: str | None = None) -> Any:
        """`call(client)` with errors as one-line ProviderErrors; a secret that is missing
        because it was soft-deleted says so."""
        _, exceptions = import_azure()
        message = self._doing(doing)
        try:
            with azure_errors(message):
                return call(self._client_now())
        except ProviderError as exc:
            cause = exc.__cause__
            if (
                secret is not None
                and isinstance(cause, exceptions.HttpResponseError)
                and cause.status_code in (404, 409)
                and self._is_deleted(secret)
            ):
                raise ProviderError(
                    f"{message}: the secret is deleted but recoverable (soft-delete); "
                    "recover it (az keyvault secret recover) or purge it first"
                ) from cause
            raise

    def _is_deleted(self, secret: str) -> bool:
        _, exceptions = import_azure()
        try:
            self._client_now().get_deleted_secret(secret)
        except exceptions.AzureError:
            return False  # not deleted, or no permission to look: say what the call said
        return True

    def _versions(self, secret: str) -> list[_Version]:
        _, exceptions = import_azure()

        def listed(client: Any) -> list[_Version]:
            try:
                return [
                    _Version(p.version, bool(p.enabled), p.created_on, dict(p.tags or {}))
                    for p in client.list_properties_of_secret_versions(secret)
                ]
            except exceptions.ResourceNotFoundError as exc:
                if error_code(exc) == "SecretNotFound" and not self._is_deleted(secret):
                    return []
                raise

        found: list[_Version] = self._call(f"list the versions of {secret}", listed, secret)
        return found

    def _current(self, secret: str, known: list[_Version]) -> _Version | None:
        tagged = [v for v in known if v.enabled and v.label == CURRENT]
        if tagged:
            # Two are tagged current only while a promotion is half done: the newer one
            # names the one it replaces.
            replaced = {v.tags.get(REPLACES_TAG) for v in tagged}
            newest = [v for v in tagged if v.id not in replaced] or tagged
            return max(newest, key=_age)
        if any(v.label in (CURRENT, PREVIOUS) for v in known):
            return None  # leakstop promoted before, and the current one was disabled since
        # Never promoted by leakstop: the latest version someone else wrote.
        untagged = [v for v in known if v.enabled and v.label is None]
        return max(untagged, key=_age) if untagged else None

    def _set(
        self, secret: str, version: _Version, tags: Mapping[str, str | None], enabled: bool = True
    ) -> None:
        """Merge `tags` into the version's own (None removes one) and set its enabled flag:
        Key Vault replaces a version's tags as a whole."""
        merged = {k: v for k, v in {**version.tags, **tags}.items() if v is not None}
        self._call(
            f"tag {secret} version {version.id}",
            lambda c: c.update_secret_properties(secret, version.id, enabled=enabled, tags=merged),
            secret,
        )

    def _copy_forward(self, secret: str, name: str, current: _Version) -> None:
        def copy(client: Any) -> None:
            got = client.get_secret(secret, current.id)
            client.set_secret(
                secret,
                got.value,
                content_type=got.properties.content_type,
                tags={LABEL_TAG: CURRENT, SECRET_TAG: name, REPLACES_TAG: current.id},
            )
            tags = {k: v for k, v in dict(current.tags).items() if k != LABEL_TAG}
            client.update_secret_properties(secret, current.id, tags=tags)

        self._call(f"restore {secret} as its latest version", copy, secret)

    def _expect(self, secret: str, current: _Version | None, expected: str | None) -> None:
        have = current.id if current is not None else None
        if have != expected:
            raise ProviderConflictError(
                self._doing(
                    f"{secret}: changed by another writer (current version is {have or 'none'}, "
                    f"expected {expected or 'none'}); nothing was written"
                )
            )

    def _doing(self, action: str) -> str:
        return f"azure-keyvault {self.name!r}: {action}"


class StaticToken:
    """An access token from the environment as an azure-core credential. Its expiry is not
    known; an hour is assumed, and a refused token is reported by Key Vault as a 401."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(…)"

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        expires = datetime.now(timezone.utc) + timedelta(hours=1)
        return AccessToken(self._token, int(expires.timestamp()))


def _pending(known: Iterable[_Version]) -> _Version | None:
    pending = [v for v in known if v.enabled and v.label == PENDING]
    return max(pending, key=_age) if pending else None


def _age(version: _Version) -> datetime:
    return version.created or datetime.min.replace(tzinfo=timezone.utc)


def _stored(version: _Version, label: str) -> StoredVersion:
    return StoredVersion(version.id, (label,), version.created)


def _text(value: Value, doing: str) -> tuple[str, str | None]:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True), JSON_CONTENT
    try:
        return value.decode("utf-8"), None
    except UnicodeDecodeError:
        raise ProviderError(
            f"{doing}: the value is not UTF-8 text (Key Vault holds text)"
        ) from None
