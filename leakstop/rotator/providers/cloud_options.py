"""Options the cloud secret stores share (Azure Key Vault, Google Secret Manager): how
leakstop authenticates, which CA it trusts, how long it waits. Each store module checks its
own place options; this module only reads the common ones into a frozen dataclass.

```yaml
auth: {method: default}                     # the platform's default chain (OIDC in CI)
auth: {method: token, token_env: VAR}       # a bearer access token from the environment
auth: {method: github-oidc, ...}            # the GitHub Actions job's OIDC token, federated
tls: {ca_file: /etc/ssl/private-ca.pem}     # a private endpoint's CA
timeout: 30s
```

Errors are ConfigError at the place the provider was configured (`Origin`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from leakstop.config.options import ENV_NAME, FrozenMap, Options, Origin
from leakstop.errors import ConfigError, ProviderError
from leakstop.rotator.providers.option_checks import seconds_option

DEFAULT, TOKEN, GITHUB_OIDC = "default", "token", "github-oidc"
AUTH_METHODS = (DEFAULT, TOKEN, GITHUB_OIDC)
DEFAULT_TIMEOUT = 30.0
_AUTH_KEYS = {DEFAULT: ("method",), TOKEN: ("method", "token_env")}
_TLS_KEYS = ("ca_file",)


@dataclass(frozen=True)
class CloudAuth:
    """How leakstop proves who it is to the cloud: the SDK's default chain, or a bearer token
    read from the environment variable `token_env` (never from the file)."""

    method: str = DEFAULT
    token_env: str | None = None
    #: `method: github-oidc`: the store's federation options (tenant and client ids, a
    #: workload identity provider...), all plain identifiers, none of them a secret.
    oidc: Mapping[str, str] = field(default_factory=dict)

    def token(self, provider: str, environ: Mapping[str, str]) -> str:
        """The access token of `method: token`; ProviderError (no value) when unset."""
        assert self.token_env is not None
        value = environ.get(self.token_env, "")
        if not value.strip():
            raise ProviderError(
                f"provider {provider!r}: auth.token_env names {self.token_env}, which is not set"
            )
        return value.strip()


@dataclass(frozen=True)
class CloudCommon:
    auth: CloudAuth
    #: The CA bundle to trust instead of the system's (a private endpoint, a test server).
    ca_file: str | None
    timeout: float


class OptionChecker:
    """Typed reads of one options mapping, failing as ConfigError with a common prefix."""

    def __init__(self, what: str, origin: Origin) -> None:
        self.what = what
        self.origin = origin

    def error(self, message: str) -> ConfigError:
        return self.origin.error(f"{self.what}: {message}")

    def keys(self, options: Options, allowed: Collection[str], prefix: str = "") -> None:
        for key in options:
            if key not in allowed:
                known = ", ".join(prefix + name for name in allowed)
                raise self.error(f"unknown option {prefix}{key} (known: {known})")

    def string(
        self, options: Options, key: str, prefix: str = "", required: bool = False
    ) -> str | None:
        value = options.get(key)
        if value is None and required:
            raise self.error(f"missing required option {prefix}{key}")
        if value is not None and not isinstance(value, str):
            raise self.error(f"{prefix}{key} must be a string")
        return value

    def mapping(self, options: Options, key: str) -> Options:
        value = options.get(key)
        if value is None:
            return FrozenMap()
        if not isinstance(value, FrozenMap):
            raise self.error(f"'{key}' must be a mapping")
        return value


def parse_common(
    check: OptionChecker,
    options: Options,
    oidc_keys: Collection[str] = (),
    oidc_required: Collection[str] = (),
) -> CloudCommon:
    """`auth`, `tls` and `timeout` of a cloud store's provider options. `oidc_keys` are the
    store's options for `auth.method: github-oidc` (`oidc_required` among them)."""
    auth_options = check.mapping(options, "auth")
    method = check.string(auth_options, "method", "auth.") or DEFAULT
    if method not in AUTH_METHODS:
        raise check.error(f"auth.method must be one of {', '.join(AUTH_METHODS)}, got {method!r}")
    allowed = ("method", *oidc_keys) if method == GITHUB_OIDC else _AUTH_KEYS[method]
    check.keys(auth_options, allowed, "auth.")
    oidc: dict[str, str] = {}
    if method == GITHUB_OIDC:
        for key in oidc_keys:
            value = check.string(auth_options, key, "auth.")
            if value is not None:
                oidc[key] = value
        missing = [f"auth.{key}" for key in oidc_required if not oidc.get(key)]
        if missing:
            raise check.error(f"auth.method github-oidc needs {', '.join(missing)}")
    token_env = check.string(auth_options, "token_env", "auth.")
    if method == TOKEN and token_env is None:
        raise check.error("auth.method token needs auth.token_env (the variable holding it)")
    if token_env is not None and not ENV_NAME.match(token_env):
        raise check.error("auth.token_env must name an environment variable")
    tls = check.mapping(options, "tls")
    check.keys(tls, _TLS_KEYS, "tls.")
    ca_file = check.string(tls, "ca_file", "tls.")
    if ca_file is not None:
        ca_file = _relative_to_config(ca_file, check.origin)
    return CloudCommon(
        CloudAuth(method, token_env, oidc),
        ca_file,
        seconds_option(options.get("timeout"), "timeout", DEFAULT_TIMEOUT, 600, check.error),
    )


def _relative_to_config(path: str, origin: Origin) -> str:
    # A relative CA path is read beside the config file, as the config's other paths are.
    if Path(path).is_absolute() or origin.path is None:
        return path
    return str(Path(origin.path).parent / path)
