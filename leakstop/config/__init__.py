"""`.leakstop.yaml`: found, read with line numbers, validated into a frozen `Config`.

Lookup order: `--config`, `$LEAKSTOP_CONFIG`, `.leakstop.yaml` (or `.yml`) at the scan root,
then the built-in defaults. Every error names the file and line to fix.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from leakstop.allowlist import Allowlist, parse_allowlist
from leakstop.config.audit import AuditSettings, parse_audit
from leakstop.errors import ConfigError
from leakstop.rules.loader import load_builtin_rules, load_rule_files, parse_rule
from leakstop.rules.model import Rule
from leakstop.yamlfile import ErrorFactory, Fields, load_yaml

if TYPE_CHECKING:
    from leakstop.config.notifications import NotifierSettings
    from leakstop.config.providers import ProviderSettings
    from leakstop.config.respond import RespondPolicy
    from leakstop.config.revocation import RevocationSettings
    from leakstop.config.secrets import ManagedSecret

log = logging.getLogger(__name__)

CONFIG_NAMES = (".leakstop.yaml", ".leakstop.yml")
CONFIG_VERSION = 1
#: Larger files are skipped (and counted) unless configured otherwise: generated data, dumps.
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
CONFIG_KEYS = (
    "version",
    "extends",
    "rules",
    "rule_files",
    "disabled_rules",
    "allowlist",
    "allowlists",
    "max_file_size",
    "fingerprint",
    "audit",
    "providers",
    "secrets",
    "respond",
    "notifications",
    "revocation",
)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Config:
    """The effective settings of one scan."""

    rules: tuple[Rule, ...]
    allowlists: tuple[Allowlist, ...] = ()
    max_file_size: int | None = DEFAULT_MAX_FILE_SIZE
    fingerprint_salt: str | None = None
    #: The file this came from; None for built-in defaults.
    path: str | None = None
    audit: AuditSettings = field(default_factory=AuditSettings)
    #: Named connections as configured, in file order (`local` only if listed).
    providers: tuple[ProviderSettings, ...] = ()
    #: The inventory of managed secrets, in file order; names are unique.
    secrets: tuple[ManagedSecret, ...] = ()
    #: What `respond` does with confirmed leaks; None: rotate them, report the rest.
    respond: RespondPolicy | None = None
    #: Where to tell people what happened (`notifications:`), in file order.
    notifications: tuple[NotifierSettings, ...] = ()
    #: When an emergency revocation waits for approval; None: the defaults.
    revocation: RevocationSettings | None = None

    def provider(self, name: str) -> ProviderSettings:
        """The provider called `name`, or the embedded store for `local` even when it is not
        listed. Every `store`/`issuer` in `secrets` names one. Raises KeyError for others."""
        from leakstop.config.providers import find_provider

        provider = find_provider(self.providers, name)
        if provider is None:
            raise KeyError(name)
        return provider


def find_config(
    explicit: Path | None, root: Path, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """The config file to use, following the documented lookup order."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError("config file not found", str(explicit))
        return explicit
    from_env = environ.get("LEAKSTOP_CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError("config file not found (from LEAKSTOP_CONFIG)", from_env)
        return path
    for name in CONFIG_NAMES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None, *, with_rules: bool = True) -> Config:
    """Read and validate `path`, or return the defaults when it is None.

    `with_rules=False` leaves the rules out (`Config.rules` is empty): commands of the
    response half (store, audit, rotations) read providers, secrets and audit settings, and
    parsing every built-in rule would cost them ~0.3 s of start-up for nothing."""
    if path is None:
        return Config(rules=tuple(load_builtin_rules()) if with_rules else ())
    shown = display_path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", shown) from None
    return parse_config(text, shown, base_dir=path.parent, with_rules=with_rules)


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it is below it, for messages."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    return str(path) if outside else relative


def parse_config(
    text: str | bytes, path: str, base_dir: Path, *, with_rules: bool = True
) -> Config:
    data = load_yaml(text, path)
    if data is None:
        data = {}

    def error(message: str, line: int | None) -> ConfigError:
        return ConfigError(message, path, line)

    fields = Fields(data, path, error, "the config")
    fields.check_keys(CONFIG_KEYS)
    if not fields.has("version"):
        log.debug("%s has no version key; assuming version %d", path, CONFIG_VERSION)
    fields.integer("version", CONFIG_VERSION, low=CONFIG_VERSION, high=CONFIG_VERSION)

    extends = fields.string("extends", "default")
    if extends not in ("default", "none"):
        fields.fail("extends must be 'default' or 'none'", fields.line_of("extends"))
    enabled = _rules(fields, path, base_dir, extends) if with_rules else ()

    allowlists = []
    if (single := fields.sub("allowlist", "the allowlist")) is not None:
        allowlists.append(parse_allowlist(single))
    for item, _line in fields.items("allowlists"):
        allowlists.append(parse_allowlist(Fields(item, path, error, "an allowlist")))

    salt = None
    if (fingerprint := fields.sub("fingerprint", "fingerprint")) is not None:
        fingerprint.check_keys(("salt",))
        salt = fingerprint.optional_string("salt")

    audit = AuditSettings()
    if (audit_fields := fields.sub("audit", "audit")) is not None:
        audit = parse_audit(audit_fields, base_dir)

    providers: tuple[ProviderSettings, ...] = ()
    secrets: tuple[ManagedSecret, ...] = ()
    if fields.has("providers") or fields.has("secrets"):
        # Imported only when used: their dataclasses and patterns take ~20 ms to set up here,
        # which a scan-only config should not pay.
        from leakstop.config.providers import parse_providers
        from leakstop.config.secrets import parse_secrets

        if (provider_fields := fields.sub("providers", "'providers'")) is not None:
            providers = parse_providers(provider_fields)
        secrets = parse_secrets(fields, providers)

    respond = None
    if (respond_fields := fields.sub("respond", "'respond'")) is not None:
        from leakstop.config.respond import parse_respond

        respond = parse_respond(respond_fields)

    notifications: tuple[NotifierSettings, ...] = ()
    if fields.has("notifications"):
        from leakstop.config.notifications import parse_notifications

        notifications = parse_notifications(fields)

    revocation = None
    if (revocation_fields := fields.sub("revocation", "'revocation'")) is not None:
        from leakstop.config.revocation import parse_revocation

        revocation = parse_revocation(revocation_fields)

    return Config(
        rules=enabled,
        allowlists=tuple(allowlists),
        max_file_size=_size(fields, "max_file_size"),
        fingerprint_salt=salt,
        path=path,
        audit=audit,
        providers=providers,
        secrets=secrets,
        respond=respond,
        notifications=notifications,
        revocation=revocation,
    )


def parse_size(text: str) -> int | None:
    """`10MB`, `512KiB`, `1048576` → bytes; `0` or `none` → no limit; None if unparsable."""
    if text.strip().lower() in ("0", "none", "unlimited"):
        return None
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(text)
    number, unit = match.groups()
    unit = (unit or "").lower()
    base = 1024 if "i" in unit else 1000
    scale = base ** "bkmg".index(unit[0]) if unit and unit[0] in "kmg" else 1
    return int(float(number) * scale)


def _size(fields: Fields, key: str) -> int | None:
    value = fields.raw(key)
    if value is None:
        return DEFAULT_MAX_FILE_SIZE
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str):
        try:
            return parse_size(value)
        except ValueError:
            pass
    fields.fail(f"{key!r} must be a size such as 10MB, 512KiB or 1048576", fields.line_of(key))


def _custom_rule_error(path: str, item_line: int | None) -> Callable[[str | None], ErrorFactory]:
    def for_rule(rule_id: str | None) -> ErrorFactory:
        def make(message: str, line: int | None) -> ConfigError:
            prefix = f"rule {rule_id!r}: " if rule_id else ""
            return ConfigError(prefix + message, path, line or item_line)

        return make

    return for_rule


def _rules(fields: Fields, path: str, base_dir: Path, extends: str) -> tuple[Rule, ...]:
    """The enabled rules: built-in (unless `extends: none`), rule files, inline rules, minus
    `disabled_rules`."""
    rules: dict[str, Rule] = {}
    if extends == "default":
        rules.update((rule.id, rule) for rule in load_builtin_rules())
    for rule_file in fields.string_list("rule_files"):
        target = base_dir / rule_file
        if not target.is_file():
            fields.fail(f"rule file not found: {rule_file}", fields.line_of("rule_files"))
        for rule in load_rule_files([target]):
            rules[rule.id] = rule
    for item, line in fields.items("rules"):
        rule = parse_rule(item, path, error_for=_custom_rule_error(path, line))
        if rule.id in rules and rule.source == path:
            fields.fail(f"rule {rule.id!r} is defined twice", line)
        rules[rule.id] = rule

    disabled = fields.string_list("disabled_rules")
    for rule_id in disabled:
        if rule_id not in rules:
            fields.fail(
                f"disabled_rules names unknown rule {rule_id!r}", fields.line_of("disabled_rules")
            )
    enabled = tuple(rule for rule_id, rule in rules.items() if rule_id not in disabled)
    if not enabled:
        fields.fail("no rules are enabled", fields.line)

    return enabled
