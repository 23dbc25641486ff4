"""The vault provider's options, checked into frozen dataclasses.

```yaml
providers:
  vault:
    type: vault
    url: https://vault.example.com:8200      # else $VAULT_ADDR
    namespace: team-a                        # Vault Enterprise / OpenBao namespaces
    timeout: 30s                             # per request; a number is seconds
    auth: {method: approle, mount: approle, role_id_env: VAULT_ROLE_ID,
           secret_id_env: VAULT_SECRET_ID}
    tls: {ca_file: /etc/ssl/vault-ca.pem, client_cert_file: ..., client_key_file: ...}
secrets:
  - store: {provider: vault, mount: secret, path: billing/db, key: password}
    issuer: {provider: vault, approle: deployer}          # or {token_role: ci, ttl: 24h}
```

Credentials come only from the environment: the config holds the *names* of the variables
(`token_env`, `role_id_env`, `secret_id_env`, `jwt_env`) or a file path (`jwt_file`, e.g. a
projected Kubernetes token). The client key's option is `client_key_file`, not `client_key`:
the config parser refuses an option named like a credential (`*_key`) with a literal value.

Errors are ConfigError at the place the provider or secret was configured (`Origin`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from leakstop.config.options import ENV_NAME, FrozenMap, Options, OptionValue, Origin
from leakstop.durations import parse_duration
from leakstop.errors import ConfigError
from leakstop.rotator.providers.http import is_loopback
from leakstop.rotator.providers.option_checks import seconds_option

TOKEN, APPROLE, JWT = "token", "approle", "jwt"
AUTH_METHODS = (TOKEN, APPROLE, JWT)
DEFAULT_TIMEOUT = 30.0
DEFAULT_KV_MOUNT = "secret"
#: A mount, role or path part: what Vault accepts in a URL segment without escaping.
_SEGMENT = re.compile(r"^[A-Za-z0-9._@+=-]+$")
#: Appended to a secret's path for the sibling that holds its pending value (vault_store).
PENDING_SUFFIX = ".leakstop-pending"

_PROVIDER_KEYS = ("url", "namespace", "auth", "tls", "timeout")
_AUTH_KEYS = {
    TOKEN: ("method", "token_env"),
    APPROLE: ("method", "mount", "role_id_env", "secret_id_env"),
    JWT: ("method", "mount", "role", "jwt_env", "jwt_file", "audience"),
}
_TLS_KEYS = ("ca_file", "client_cert_file", "client_key_file", "skip_verify", "insecure")
_STORE_KEYS = ("mount", "path", "key")
_APPROLE_KEYS = ("approle", "mount", "cidr_list")
_TOKEN_ROLE_KEYS = ("token_role", "ttl")


@dataclass(frozen=True)
class AuthSettings:
    """How leakstop logs in to Vault. Only environment variable names and file paths here."""

    method: str = TOKEN
    #: The auth method's mount (`approle`, `jwt`); unused for tokens.
    mount: str = ""
    #: Token auth: the variable holding the token.
    token_env: str = "VAULT_TOKEN"
    #: AppRole auth: the variables holding the role-id and the secret-id.
    role_id_env: str = "VAULT_ROLE_ID"
    secret_id_env: str = "VAULT_SECRET_ID"
    #: JWT auth: the Vault role to log in as, and where the JWT comes from: a variable, a
    #: file, else GitHub Actions' OIDC token endpoint asked for `audience` (None: GitHub's
    #: default, `https://github.com/OWNER`; the Vault role's `bound_audiences` must hold it).
    role: str = ""
    jwt_env: str | None = None
    jwt_file: str | None = None
    audience: str | None = None


@dataclass(frozen=True)
class TlsSettings:
    """How the server's certificate is checked and which client certificate is shown."""

    #: PEM file of the CA(s) to trust instead of the system's.
    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    #: No certificate check at all; only with `insecure: true` beside it (and a warning).
    skip_verify: bool = False


@dataclass(frozen=True)
class VaultSettings:
    """One `type: vault` provider, checked."""

    url: str
    namespace: str | None = None
    auth: AuthSettings = AuthSettings()
    tls: TlsSettings = TlsSettings()
    #: Seconds per request.
    timeout: float = DEFAULT_TIMEOUT
    #: `insecure: true` in `tls:` (skip_verify, or plain http to another host) was given.
    insecure: bool = False


@dataclass(frozen=True)
class KvPlace:
    """A managed secret's `store:` in Vault: a KV v2 mount, the secret's path, the field."""

    mount: str
    path: str
    #: The field inside the KV secret that holds the value; None: the value is all fields.
    key: str | None = None

    @property
    def pending_path(self) -> str:
        """Where a pending value waits until it is promoted (see vault_store)."""
        return f"{self.path}{PENDING_SUFFIX}"

    def __str__(self) -> str:
        return f"{self.mount}/{self.path}" + (f"#{self.key}" if self.key else "")


@dataclass(frozen=True)
class AppRoleSpec:
    """`issuer: {approle: deployer}`: leakstop mints the role's secret-ids."""

    role: str
    mount: str = "approle"
    #: CIDR blocks a new secret-id may log in from (Vault's `cidr_list`).
    cidr_list: tuple[str, ...] = ()


@dataclass(frozen=True)
class TokenSpec:
    """`issuer: {token_role: ci}`: leakstop mints tokens from a token role (which must make
    orphan tokens, so a new token outlives leakstop's own login)."""

    role: str
    #: Passed to Vault as is (`24h`); None: the role's default.
    ttl: str | None = None


def parse_settings(
    provider: str, options: Options, environ: Mapping[str, str], origin: Origin
) -> VaultSettings:
    """The provider's options, checked. Raises ConfigError (at `origin`)."""
    check = _Checker(f"provider {provider!r}", origin)
    check.keys(options, _PROVIDER_KEYS, "")
    url = check.string(options, "url") or environ.get("VAULT_ADDR", "")
    if not url:
        raise check.error("'url' is missing and VAULT_ADDR is not set")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise check.error(f"'url' must be an http:// or https:// URL, got {url!r}")
    namespace = check.string(options, "namespace")
    if namespace is not None and not namespace.strip("/"):
        raise check.error("'namespace' must not be empty")
    timeout = _timeout(check, options.get("timeout"))
    auth = _auth(check, check.mapping(options, "auth"))
    tls_options = check.mapping(options, "tls")
    tls = _tls(check, tls_options)
    insecure = check.boolean(tls_options, "insecure", "tls.")
    if tls.skip_verify and not insecure:
        raise check.error(
            "tls.skip_verify turns off the check of Vault's certificate, so anyone on the "
            "network path can read leakstop's token; set tls.ca_file instead, or add "
            "tls.insecure: true if you really mean it"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not insecure:
        raise check.error(
            f"'url' {url!r} sends the token in clear text to another machine; use https, or "
            "add tls.insecure: true if you really mean it"
        )
    return VaultSettings(
        url=url.rstrip("/"),
        namespace=namespace.strip("/") if namespace else None,
        auth=auth,
        tls=tls,
        timeout=timeout,
        insecure=insecure,
    )


def parse_place(secret: str, where: Options, origin: Origin | None = None) -> KvPlace:
    """A secret's `store:` options (mount, path, key), checked. Raises ConfigError."""
    check = _Checker(f"secret {secret!r}: store", origin or Origin())
    check.keys(where, _STORE_KEYS, "")
    mount = check.string(where, "mount") or DEFAULT_KV_MOUNT
    path = check.string(where, "path")
    if not path:
        raise check.error("'path' is missing (the secret's path inside the KV mount)")
    check.segments("mount", mount)
    check.segments("path", path)
    if path.endswith(PENDING_SUFFIX):
        raise check.error(f"'path' must not end in {PENDING_SUFFIX} (leakstop's own sibling)")
    key = check.string(where, "key")
    if key is not None and not key:
        raise check.error("'key' must not be empty")
    return KvPlace(mount.strip("/"), path, key)


def parse_issuer(
    secret: str, how: Options, origin: Origin | None = None
) -> AppRoleSpec | TokenSpec:
    """A secret's `issuer:` options: `approle` (secret-ids) or `token_role` (tokens)."""
    check = _Checker(f"secret {secret!r}: issuer", origin or Origin())
    if ("approle" in how) == ("token_role" in how):
        raise check.error("give one of 'approle' (mints secret-ids) or 'token_role' (tokens)")
    if "approle" in how:
        check.keys(how, _APPROLE_KEYS, "")
        role = check.string(how, "approle") or ""
        mount = check.string(how, "mount") or "approle"
        check.segments("approle", role)
        check.segments("mount", mount)
        cidrs = how.get("cidr_list", ())
        if not isinstance(cidrs, tuple) or not all(isinstance(c, str) for c in cidrs):
            raise check.error("'cidr_list' must be a list of CIDR blocks")
        for cidr in cidrs:
            try:
                ipaddress.ip_network(str(cidr), strict=False)
            except ValueError:
                raise check.error(f"'cidr_list' has {cidr!r}, not a CIDR block") from None
        return AppRoleSpec(role, mount.strip("/"), tuple(str(c) for c in cidrs))
    check.keys(how, _TOKEN_ROLE_KEYS, "")
    role = check.string(how, "token_role") or ""
    check.segments("token_role", role)
    ttl = check.string(how, "ttl")
    if ttl is not None:
        try:
            parse_duration(ttl)
        except ValueError as exc:
            raise check.error(f"'ttl': {exc}") from None
    return TokenSpec(role, ttl)


def _auth(check: _Checker, options: Options) -> AuthSettings:
    method = check.string(options, "method", "auth.") or TOKEN
    if method not in AUTH_METHODS:
        raise check.error(f"auth.method must be one of {', '.join(AUTH_METHODS)}, got {method!r}")
    check.keys(options, _AUTH_KEYS[method], "auth.")
    names = {
        key: check.env_name(options, key)
        for key in ("token_env", "role_id_env", "secret_id_env", "jwt_env")
    }
    mount = check.string(options, "mount", "auth.") or method
    check.segments("auth.mount", mount)
    defaults = AuthSettings()
    settings = AuthSettings(
        method=method,
        mount="" if method == TOKEN else mount.strip("/"),
        token_env=names["token_env"] or defaults.token_env,
        role_id_env=names["role_id_env"] or defaults.role_id_env,
        secret_id_env=names["secret_id_env"] or defaults.secret_id_env,
        role=check.string(options, "role", "auth.") or "",
        jwt_env=names["jwt_env"],
        jwt_file=check.string(options, "jwt_file", "auth."),
        audience=check.string(options, "audience", "auth."),
    )
    if method == JWT:
        if not settings.role:
            raise check.error("auth.role is missing (the Vault role a JWT logs in as)")
        check.segments("auth.role", settings.role)
        if settings.jwt_env and settings.jwt_file:
            raise check.error("give one of auth.jwt_env and auth.jwt_file, not both")
        if settings.audience is not None and not settings.audience.strip():
            # An empty audience would silently fall back to GitHub's default (the owner's URL).
            raise check.error(
                "auth.audience must not be empty (leave it out for GitHub's default audience)"
            )
    return settings


def _tls(check: _Checker, options: Options) -> TlsSettings:
    check.keys(options, _TLS_KEYS, "tls.")
    settings = TlsSettings(
        ca_file=check.string(options, "ca_file", "tls."),
        client_cert_file=check.string(options, "client_cert_file", "tls."),
        client_key_file=check.string(options, "client_key_file", "tls."),
        skip_verify=check.boolean(options, "skip_verify", "tls."),
    )
    if (settings.client_cert_file is None) != (settings.client_key_file is None):
        raise check.error("tls.client_cert_file and tls.client_key_file go together")
    return settings


def _timeout(check: _Checker, value: OptionValue) -> float:
    return seconds_option(value, "timeout", DEFAULT_TIMEOUT, 600, check.error)


class _Checker:
    """Typed reads of one options mapping, failing as ConfigError with a common prefix."""

    def __init__(self, what: str, origin: Origin) -> None:
        self.what = what
        self.origin = origin

    def error(self, message: str) -> ConfigError:
        return self.origin.error(f"{self.what}: {message}")

    def keys(self, options: Options, allowed: Collection[str], prefix: str) -> None:
        for key in options:
            if key not in allowed:
                known = ", ".join(prefix + name for name in allowed)
                raise self.error(f"unknown option {prefix}{key} (known: {known})")

    def string(self, options: Options, key: str, prefix: str = "") -> str | None:
        value = options.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{prefix}{key} must be a string")
        return value

    def boolean(self, options: Options, key: str, prefix: str) -> bool:
        value = options.get(key, False)
        if not isinstance(value, bool):
            raise self.error(f"{prefix}{key} must be true or false")
        return value

    def mapping(self, options: Options, key: str) -> Options:
        value = options.get(key)
        if value is None:
            return FrozenMap()
        if not isinstance(value, FrozenMap):
            raise self.error(f"'{key}' must be a mapping")
        return value

    def env_name(self, options: Options, key: str) -> str | None:
        # The config parser already refuses `*_env` values that are not variable names; the
        # check is repeated for options built in code. The value is never echoed.
        value = self.string(options, key, "auth.")
        if value is not None and not ENV_NAME.match(value):
            raise self.error(f"auth.{key} must name an environment variable")
        return value

    def segments(self, key: str, value: str) -> None:
        parts = value.strip("/").split("/")
        if not all(_SEGMENT.match(part) and part not in (".", "..") for part in parts):
            raise self.error(
                f"{key} {value!r} must be '/'-separated parts of letters, digits and ._@+=-"
            )
