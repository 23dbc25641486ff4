"""Which managed secrets an emergency revocation names: one by name, the one whose current value
a finding's fingerprint identifies, or every secret of a type.

A **type** (`revoke-all --type T`) matches a managed secret whose issuer's provider type is T
(`postgres`, `vault`, ...) or whose `tags:` say `type: T` (a label of your own, e.g.
`database-password`, for secrets whatever their issuer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from leakstop.config import Config
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import LeakstopError, UsageError
from leakstop.finding import fingerprint, legacy_fingerprint
from leakstop.rotator.confirm import MIN_LENGTH, value_pieces
from leakstop.rotator.providers.registry import Providers
from leakstop.rules.model import Rule


def by_name(secrets: Sequence[ManagedSecret], name: str, org: str | None) -> ManagedSecret:
    """The managed secret `name` (in `org`); UsageError when there is none, or several."""
    matches = [s for s in secrets if s.name == name and (org is None or s.org == org)]
    if not matches:
        known = ", ".join(sorted({s.name for s in secrets})) or "none (add `secrets:` to it)"
        raise UsageError(f"{name} is not a managed secret in the config (managed: {known})")
    if len(matches) > 1:
        raise UsageError(f"{name} is managed in several orgs: choose one with --org")
    return matches[0]


def by_type(config: Config, kind: str) -> list[ManagedSecret]:
    """Every managed secret of type `kind` (see the module docstring), in config order;
    UsageError naming the known types when none is."""
    found = [s for s in config.secrets if kind in types_of(config, s)]
    if not found:
        known = sorted({t for s in config.secrets for t in types_of(config, s)})
        raise UsageError(
            f"no managed secret has type {kind} (an issuer's provider type, or tags: "
            f"{{type: ...}}); types in the config: {', '.join(known) or 'none'}"
        )
    return found


def types_of(config: Config, secret: ManagedSecret) -> set[str]:
    found = set()
    if secret.issuer is not None:
        found.add(config.provider(secret.issuer.provider).type)
    if tag := secret.tags.get("type"):
        found.add(tag)
    return found


def by_fingerprint(
    secrets: Sequence[ManagedSecret],
    providers: Providers,
    wanted: str,
    rules: Iterable[Rule],
    keys: Sequence[bytes],
) -> ManagedSecret:
    """The managed secret whose current value (or one field of it) a finding with fingerprint
    `wanted` holds: each value is fingerprinted as every rule would, under each of `keys`
    (the scan's fingerprint key candidates). Each value read is an audit record; nothing about
    the values is kept. UsageError when no managed secret's current value matches."""
    wanted = wanted.strip().lower()
    rules = list(rules)
    for secret in secrets:
        try:
            store = providers.store(secret.store.provider, secret.org)
            if store.current(secret.name, secret.store.options) is None:
                continue
            value = store.read(secret.name, secret.store.options)
        except LeakstopError:
            continue  # unreadable: it cannot be the one; `providers check` tells why
        for piece in value_pieces(value):
            text = piece.decode("utf-8", "surrogateescape")
            if len(text) >= MIN_LENGTH and _fingerprinted(text, wanted, rules, keys):
                return secret
    raise UsageError(
        f"no managed secret's current value has fingerprint {wanted} (already rotated, or "
        "found with another fingerprint.salt?)"
    )


def _fingerprinted(text: str, wanted: str, rules: list[Rule], keys: Sequence[bytes]) -> bool:
    for key in keys:
        for rule in rules:
            if legacy_fingerprint(rule.id, text, key) == wanted:
                return True
            # Only password-like rules stretch (~7 ms each): a handful per value.
            if rule.password_like and fingerprint(rule.id, text, key, True) == wanted:
                return True
    return False
