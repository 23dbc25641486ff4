"""The two kinds of system the rotation machine works with, as protocols.

A **store** holds the value consumers read, in versions, with the labels `current`, `pending`
and `previous` (the AWS Secrets Manager model) and check-and-set, so the store itself is the
rotation's journal: a `pending` version means a rotation is in flight, and a run killed
anywhere is resumed or rolled back by the next one, on any machine, from the store alone.

An **issuer** is where the credential itself lives (a database role, a Vault AppRole, an IAM
user): it applies or mints a new credential, proves it works, and revokes the old one.

The machine's order, which keeps one working credential current at every moment:

    value = issuer.mint(...) if issuer.mints else generate(...)
    version = store.put_pending(ref, value, expected_current)     # the journal entry
    issuer.apply(ref, value)          # (not for minting issuers: minting applied it)
    issuer.test(ref, value)           # a real login
    store.promote(ref, version, expected_current)                 # pending → current
    ... after the grace period: issuer.revoke(ref, old_value)

Values are bytes or a dict (a structured secret); they never reach a log, an error message or
an audit record. Providers raise ProviderError (leakstop.errors) with one-line messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from leakstop.config.options import Options, Origin

if TYPE_CHECKING:
    from leakstop.config.secrets import ManagedSecret
    from leakstop.rotator.handlers import Handler

Value = bytes | dict[str, Any]

CURRENT, PENDING, PREVIOUS = "current", "pending", "previous"


@dataclass(frozen=True)
class StoredVersion:
    """One version of a secret in a store (never its value)."""

    #: The store's own id for it (a number for the local store and Vault KV v2).
    version: str
    labels: tuple[str, ...] = ()
    created: datetime | None = None


class Store(Protocol):
    """Where consumers read a managed secret. `where` is the secret's `store:` options (Vault:
    mount, path, key); `name` its managed name."""

    #: The provider's configured name, for messages and audit records.
    name: str

    def current(self, name: str, where: Options) -> StoredVersion | None:
        """The version labelled current; None when the secret does not exist yet."""
        ...

    def pending(self, name: str, where: Options) -> StoredVersion | None:
        """The version labelled pending: a rotation in flight."""
        ...

    def read(self, name: str, where: Options, version: str | None = None) -> Value:
        """The value of `version`, else of the current version."""
        ...

    def put_pending(
        self, name: str, where: Options, value: Value, expected_current: str | None
    ) -> StoredVersion:
        """Write `value` as a new version labelled pending, only if the current version is
        still `expected_current` (None: the secret must not exist); raises
        ProviderConflictError otherwise."""
        ...

    def promote(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> None:
        """Make `version` current (the old current becomes previous, pending is cleared),
        only if current is still `expected_current`."""
        ...

    def discard_pending(self, name: str, where: Options, version: str) -> None:
        """Drop the pending version (a rotation rolled back); the current one is untouched."""
        ...


@runtime_checkable
class VersionDisabler(Protocol):
    """A store that can take one version out of service (optional: the stores that can
    implement it). An emergency revocation disables the revoked credential's version so that
    no consumer reads it again; the version's number stays in the history."""

    def disable(self, name: str, where: Options, version: str) -> None:
        """Make `version` unreadable (the local store erases it; Vault KV v2 soft-deletes it).
        Labels pointing at it are dropped, so a secret whose current version is disabled has
        no readable current value until the next rotation. Safe to repeat."""
        ...


def disabler(store: Store) -> VersionDisabler | None:
    """`store` as a VersionDisabler when it implements `disable`; None otherwise."""
    return store if isinstance(store, VersionDisabler) else None


class Issuer(Protocol):
    """Where the credential itself is made valid or invalid. `how` is the secret's `issuer:`
    options (PostgreSQL: role)."""

    name: str
    #: True: the issuer makes the value itself (`mint`), e.g. a Vault AppRole secret-id.
    #: False: leakstop generates the value and `apply` sets it (a database password).
    mints: bool

    def mint(self, name: str, how: Options) -> Value:
        """A new, working credential (only for minting issuers)."""
        ...

    def apply(self, name: str, how: Options, value: Value, previous: Value | None) -> None:
        """Make `value` a working credential. Must be safe to repeat (a resumed rotation
        applies again)."""
        ...

    def test(self, name: str, how: Options, value: Value) -> None:
        """Prove `value` works with a real login; raise ProviderError when it does not."""
        ...

    def revoke(self, name: str, how: Options, value: Value) -> None:
        """Make `value` stop working (after the grace period). Safe to repeat."""
        ...


@runtime_checkable
class ShapesValues(Protocol):
    """An applying issuer whose values have a shape of its own (PostgreSQL's two-role scheme
    stores `{username, password}`, the username naming the role not in use). Optional: the
    machine asks for it with isinstance and otherwise uses the secret's handler."""

    def value_maker(self, secret: ManagedSecret) -> Handler | None:
        """The handler new values come from when the secret names none; None: the default."""
        ...


@runtime_checkable
class RetiresVersions(Protocol):
    """A store that takes an old version out of service once its grace period is over (Azure
    Key Vault and Google Secret Manager disable it), for secrets with no issuer as much as for
    those with one. Optional, asked for with isinstance."""

    def retire(self, name: str, where: Options, version: str) -> None:
        """Disable `version`, which is not current; safe to repeat."""
        ...


@runtime_checkable
class KnowsPendingBase(Protocol):
    """A store whose `promote` can stop half-way with the pending version already current
    (Vault KV v2 writes the path, then clears its journal; a crash can fall in between). It
    can still say which version the pending one replaces, so a resumed run revokes the old
    value, never the new one. Optional, asked for with isinstance."""

    def pending_base(self, name: str, where: Options) -> str | None:
        """The version that was current when the pending one was written; None when there
        is no pending version, or it replaced none (or one already revoked)."""
        ...


@runtime_checkable
class KnowsCredentialIds(Protocol):
    """An issuer that can list the public ids of the credentials it holds for a secret (an IAM
    user's access key ids), so a leaked id confirms a leak even when its secret half is not
    in the finding. Optional, asked for with isinstance."""

    def key_ids(self, name: str, how: Options) -> frozenset[str]: ...


@runtime_checkable
class SweepsOrphans(Protocol):
    """A minting issuer that can find what it minted for a secret. A run killed between
    minting and writing the journal leaves a working credential that no one holds; the next
    rotation destroys it. Optional, asked for with isinstance."""

    def sweep(self, name: str, how: Options, current: Value | None, older_than: timedelta) -> int:
        """Revoke credentials minted for `name`, made after `current` and longer than
        `older_than` ago, other than `current`; how many."""
        ...


@dataclass(frozen=True)
class ProviderContext:
    """What a provider module gets to build itself: its config options and the environment
    (credentials come only from there, or from OIDC in CI)."""

    name: str
    options: Options
    environ: Mapping[str, str]
    #: Where the provider was configured (`ProviderSettings.origin`), so a module rejecting
    #: its options names the file and line.
    origin: Origin = field(default_factory=Origin, compare=False)
