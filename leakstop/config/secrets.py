"""`secrets:` in `.leakstop.yaml`: the inventory of managed secrets.

```yaml
secrets:
  - name: billing/api-key
    store: {provider: local}
    generate: {length: 40, charset: alnum}
    policy: {interval: 90d, notify_before: 7d, expires: 2027-06-30, grace: 24h}
    owners: [team-billing]
    tags: {env: prod, type: api_key}
  - name: billing/db-password
    store: {provider: vault, mount: secret, path: billing/db, key: password}
    issuer: {provider: billing-db, role: billing_app}
    handler: my_package.rotation:new_value
```

Nothing here touches a provider or imports a handler: loading the config stays fast and
side-effect free, and each provider module checks its own options when it is used.
"""

from __future__ import annotations

import enum
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from leakstop.config.options import FrozenMap, Options, Origin, parse_options
from leakstop.config.providers import LOCAL, LOCAL_PROVIDER, PROVIDER_TYPES, ProviderSettings
from leakstop.config.rotation import RotationPolicy, parse_policy
from leakstop.yamlfile import ErrorFactory, Fields

SECRET_KEYS = ("name", "org", "store", "issuer", "generate", "handler", "policy", "owners", "tags")
GENERATE_KEYS = ("length", "charset", "prefix")
#: `/`-separated parts of lower-case letters, digits, `.`, `_` and `-`, each starting with a
#: letter or digit: `billing/api-key`. No part can be `.` or `..`, so a name is safe to use as
#: a path below a store's folder.
SECRET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)*$")
MAX_NAME = 255
#: Orgs separate secrets that are encrypted with different keys in the local store.
ORG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_ORG = "default"
#: `package.module:function` (an attribute path after the colon, as in entry points).
HANDLER = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
    r":[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$"
)
MIN_LENGTH, MAX_LENGTH = 8, 4096
DEFAULT_LENGTH = 32
#: Printable ASCII without spaces, so a prefix survives shells, URLs and env files.
_PREFIX = re.compile(r"^[!-~]{0,64}$")


class Charset(str, enum.Enum):
    """The characters a generated value is drawn from."""

    ALNUM = "alnum"
    ALPHA = "alpha"
    HEX = "hex"
    BASE64 = "base64"
    URLSAFE = "urlsafe"
    ASCII_PRINTABLE = "ascii-printable"
    DIGITS = "digits"

    @property
    def alphabet(self) -> str:
        return _ALPHABETS[self]


_ALPHABETS = {
    Charset.ALNUM: string.ascii_letters + string.digits,
    Charset.ALPHA: string.ascii_letters,
    Charset.HEX: "0123456789abcdef",
    Charset.BASE64: string.ascii_letters + string.digits + "+/",
    Charset.URLSAFE: string.ascii_letters + string.digits + "-_",
    # No space: a value that starts or ends with one is lost by too many env-file parsers.
    Charset.ASCII_PRINTABLE: string.ascii_letters + string.digits + string.punctuation,
    Charset.DIGITS: string.digits,
}


@dataclass(frozen=True)
class GenerateSpec:
    """How a new value is made when leakstop mints it: `prefix` + `length` random characters."""

    #: Random characters, not counting the prefix (MIN_LENGTH to MAX_LENGTH).
    length: int = DEFAULT_LENGTH
    charset: Charset = Charset.ALNUM
    #: Fixed text in front (`acme_`), so people and scanners can tell what the value is.
    prefix: str = ""


@dataclass(frozen=True)
class StoreRef:
    """Where consumers read the secret: a provider that can store it, and the place in it."""

    #: A configured provider's name (`local` always exists).
    provider: str
    #: The place within it (Vault: `mount`, `path`, `key`); checked by the provider's module.
    options: Options = field(default_factory=FrozenMap)


@dataclass(frozen=True)
class IssuerRef:
    """The system that mints, tests and revokes the credential itself (a database role)."""

    #: A configured provider's name.
    provider: str
    #: What to mint there (`role`, `user`); checked by the provider's module.
    options: Options = field(default_factory=FrozenMap)


@dataclass(frozen=True)
class ManagedSecret:
    """One entry of `secrets:`: a credential leakstop keeps, rotates and can confirm."""

    #: Unique across the file; `/` groups (see SECRET_NAME).
    name: str
    store: StoreRef
    #: None: leakstop makes the value itself (`generate`, or `handler`).
    issuer: IssuerRef | None = None
    generate: GenerateSpec = field(default_factory=GenerateSpec)
    policy: RotationPolicy = field(default_factory=RotationPolicy)
    owners: tuple[str, ...] = ()
    tags: FrozenMap[str, str] = field(default_factory=FrozenMap)
    #: `module:function` that returns the new value instead of `generate`; imported only when
    #: a rotation runs, never when the config loads.
    handler: str | None = None
    org: str = DEFAULT_ORG
    #: Where it was configured, for errors found later (a store that rejects its options).
    origin: Origin = field(default_factory=Origin, compare=False, repr=False)


def parse_secrets(
    fields: Fields, providers: Sequence[ProviderSettings]
) -> tuple[ManagedSecret, ...]:
    """The `secrets:` list of the config `fields`, checked against `providers` (and `local`).

    Raises ConfigError (file:line) for a bad or repeated name, a reference to a provider that
    is not configured or cannot play that part, and any bad field.
    """
    by_name = {LOCAL: LOCAL_PROVIDER} | {provider.name: provider for provider in providers}
    first_line: dict[str, int | None] = {}
    secrets = []
    for item, line in fields.items("secrets"):
        if not isinstance(item, dict):
            fields.fail("each entry of 'secrets' must be a mapping with a name and a store", line)
        entry = Fields(item, fields.path, fields.error, "a secret")
        if not entry.has("name"):
            entry.check_keys(SECRET_KEYS)  # a misspelt `name:` says so, not just "missing"
        name = entry.string("name", required=True)
        name_line = entry.line_of("name")
        if len(name) > MAX_NAME or not SECRET_NAME.match(name):
            entry.fail(
                f"secret name {name!r} must be lower-case letters, digits, '.', '_' and '-' in "
                "parts separated by '/', each starting with a letter or digit",
                name_line,
            )
        if name in first_line:
            entry.fail(
                f"secret {name!r} is defined twice (first on line {first_line[name]})", name_line
            )
        first_line[name] = name_line
        named = Fields(item, fields.path, _named(fields.error, name), "")
        secrets.append(_secret(name, named, by_name, Origin(fields.path, line)))
    return tuple(secrets)


def _secret(
    name: str, fields: Fields, providers: dict[str, ProviderSettings], origin: Origin
) -> ManagedSecret:
    fields.check_keys(SECRET_KEYS)
    store = fields.sub("store", "'store'")
    if store is None:
        fields.fail("missing required key 'store' (where consumers read it)", fields.line)
    provider, options = _reference(store, "store", providers)
    issuer = None
    if (issuer_fields := fields.sub("issuer", "'issuer'")) is not None:
        issuer = IssuerRef(*_reference(issuer_fields, "issuer", providers))

    handler = fields.optional_string("handler")
    if handler is not None:
        if not HANDLER.match(handler):
            fields.fail(
                f"'handler' must be 'package.module:function', got {handler!r}",
                fields.line_of("handler"),
            )
        if fields.has("generate"):
            fields.fail(
                "'generate' and 'handler' both make the new value: keep one",
                fields.line_of("handler"),
            )
    generate = fields.sub("generate", "'generate'")
    policy = fields.sub("policy", "'policy'")
    org = fields.string("org", DEFAULT_ORG)
    if not ORG_NAME.match(org):
        fields.fail(
            f"'org' must be lower-case letters, digits, '_' and '-' (at most 64), got {org!r}",
            fields.line_of("org"),
        )
    return ManagedSecret(
        name=name,
        store=StoreRef(provider, options),
        issuer=issuer,
        generate=_generate(generate) if generate is not None else GenerateSpec(),
        policy=parse_policy(policy) if policy is not None else RotationPolicy(),
        owners=tuple(fields.string_list("owners")),
        tags=_tags(fields),
        handler=handler,
        org=org,
        origin=origin,
    )


def _reference(
    fields: Fields, part: str, providers: dict[str, ProviderSettings]
) -> tuple[str, Options]:
    name = fields.string("provider", required=True)
    line = fields.line_of("provider")
    provider = providers.get(name)
    if provider is None:
        fail = f"{part}.provider {name!r} is not configured under 'providers:'"
        fields.fail(f"{fail} (configured: {', '.join(providers)})", line)
    able = [kind for kind, roles in PROVIDER_TYPES.items() if getattr(roles, part)]
    if provider.type not in able:
        fields.fail(
            f"{part}.provider {name!r} is of type {provider.type}, which cannot be "
            f"{'an' if part == 'issuer' else 'a'} {part} (types that can: {', '.join(able)})",
            line,
        )
    # In a store reference `key` names the field inside the secret (Vault KV), and `secret` and
    # `secret_id` the secret itself (a GitHub Actions or Google Secret Manager secret; AWS
    # Secrets Manager's secret id): places, not credentials.
    may_hold = ("key", "secret", "secret_id") if part == "store" else ()
    return name, parse_options(fields, reserved=("provider",), may_hold=may_hold)


def _generate(fields: Fields) -> GenerateSpec:
    fields.check_keys(GENERATE_KEYS)
    charset = fields.string("charset", Charset.ALNUM.value)
    if charset not in {c.value for c in Charset}:
        fields.fail(
            f"'charset' must be one of {', '.join(c.value for c in Charset)}, got {charset!r}",
            fields.line_of("charset"),
        )
    prefix = fields.string("prefix")
    if not _PREFIX.match(prefix):
        fields.fail(
            "'prefix' must be at most 64 printable ASCII characters without spaces",
            fields.line_of("prefix"),
        )
    return GenerateSpec(
        length=fields.integer("length", DEFAULT_LENGTH, low=MIN_LENGTH, high=MAX_LENGTH),
        charset=Charset(charset),
        prefix=prefix,
    )


def _tags(fields: Fields) -> FrozenMap[str, str]:
    tags = fields.sub("tags", "'tags'")
    if tags is None:
        return FrozenMap()
    for key, value in tags.mapping.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            tags.fail(
                f"tag {key!r} must be a name with a string value (quote numbers, booleans "
                "and dates)",
                tags.line_of(key),
            )
    return FrozenMap(tags.mapping)


def _named(error: ErrorFactory, name: str) -> ErrorFactory:
    def make(message: str, line: int | None) -> Exception:
        return error(f"secret {name!r}: {message}", line)

    return make


def rotation_intervals(secrets: Sequence[ManagedSecret]) -> dict[str, timedelta]:
    """Name → rotation interval of the secrets that rotate on a schedule (for reports)."""
    return {s.name: s.policy.interval for s in secrets if isinstance(s.policy.interval, timedelta)}
