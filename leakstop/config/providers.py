"""`providers:` in `.leakstop.yaml`: named connections to the systems that hold or issue secrets.

```yaml
providers:
  vault: {type: vault, url: http://127.0.0.1:8200, auth: {method: token}}
  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}
```

Every option besides `type` belongs to that type's module in `rotator/providers/`, which
checks it when the provider is used; here the options are only kept, immutable, and refused if
they hold a credential. `local` (the embedded store) is always available, listed or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from leakstop.config.options import FrozenMap, Options, Origin, parse_options
from leakstop.yamlfile import ErrorFactory, Fields


@dataclass(frozen=True)
class ProviderKind:
    """What a provider type can be used as in a managed secret."""

    #: Holds versions of a secret that consumers read (`store:`).
    store: bool
    #: Creates, tests and revokes the credential itself (`issuer:`).
    issuer: bool


#: Every provider type, in one place; one module each in `rotator/providers/` (DESIGN.md,
#: "The response half", says which are stores and which are issuers).
PROVIDER_TYPES: dict[str, ProviderKind] = {
    "local": ProviderKind(store=True, issuer=False),
    "vault": ProviderKind(store=True, issuer=True),
    "postgres": ProviderKind(store=False, issuer=True),
    "aws": ProviderKind(store=True, issuer=True),
    "azure-keyvault": ProviderKind(store=True, issuer=False),
    "gcp-secretmanager": ProviderKind(store=True, issuer=False),
    "github": ProviderKind(store=True, issuer=True),
    "webhook": ProviderKind(store=False, issuer=True),
    "command": ProviderKind(store=False, issuer=True),
}
#: The embedded store's name and type; always configured.
LOCAL = "local"
#: Provider names: lower-case letters, digits, `-` and `_`, starting with a letter.
PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class ProviderSettings:
    """One entry of `providers:`. Its credentials come from the environment, never the file."""

    name: str
    #: A key of PROVIDER_TYPES.
    type: str
    #: The type's own settings (`url`, `region`, `auth`, `*_env` names); checked by its module.
    options: Options = field(default_factory=FrozenMap)
    #: Where it was configured, for errors about its options.
    origin: Origin = field(default_factory=Origin, compare=False, repr=False)

    @property
    def kind(self) -> ProviderKind:
        return PROVIDER_TYPES[self.type]


#: The embedded store, present whether or not `providers:` lists it.
LOCAL_PROVIDER = ProviderSettings(LOCAL, LOCAL)


def parse_providers(fields: Fields) -> tuple[ProviderSettings, ...]:
    """The configured providers, in file order (`local` only if listed: see find_provider).

    Raises ConfigError (file:line) for a bad name, an unknown type, `local` redefined as
    another type, or an option holding a credential.
    """
    parsed = []
    for name, value in fields.mapping.items():
        line = fields.line_of(name)
        if not isinstance(name, str) or not PROVIDER_NAME.match(name):
            fields.fail(
                f"provider name {name!r} must be lower-case letters, digits, '-' and '_', "
                "starting with a letter (at most 64)",
                line,
            )
        if not isinstance(value, dict):
            fields.fail(f"provider {name!r} must be a mapping such as {{type: vault, ...}}", line)
        settings = Fields(value, fields.path, _named(fields, name))
        parsed.append(_provider(name, settings, Origin(fields.path, line)))
    return tuple(parsed)


def find_provider(providers: Iterable[ProviderSettings], name: str) -> ProviderSettings | None:
    """The provider called `name`; `local` is the embedded store even when not configured."""
    for provider in providers:
        if provider.name == name:
            return provider
    return LOCAL_PROVIDER if name == LOCAL else None


def _provider(name: str, fields: Fields, origin: Origin) -> ProviderSettings:
    kind = fields.string("type", required=True)
    if kind not in PROVIDER_TYPES:
        fields.fail(
            f"unknown provider type {kind!r} (choose from {', '.join(PROVIDER_TYPES)})",
            fields.line_of("type"),
        )
    if name == LOCAL and kind != LOCAL:
        fields.fail(
            "the name 'local' is the embedded store; give this provider another name",
            fields.line_of("type"),
        )
    return ProviderSettings(name, kind, parse_options(fields, reserved=("type",)), origin)


def _named(fields: Fields, name: str) -> ErrorFactory:
    def make(message: str, line: int | None) -> Exception:
        return fields.error(f"provider {name!r}: {message}", line)

    return make
