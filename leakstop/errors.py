"""Errors a user can cause or fix. `cli.py` turns each into one line on stderr and exit code 2.

Messages never contain a secret: they name files, lines, rule ids and what to do.
"""

from __future__ import annotations


class LeakstopError(Exception):
    """Base class for every error that is the user's to fix (not a bug in leakstop)."""


class ConfigError(LeakstopError):
    """A configuration file is invalid; carries the file and, when known, the line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.detail = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


class RuleError(LeakstopError):
    """A rule definition is invalid; the message names the file and the rule id."""

    def __init__(self, message: str, path: str | None = None, rule_id: str | None = None) -> None:
        self.path = path
        self.rule_id = rule_id
        parts = [p for p in (path, f"rule {rule_id!r}" if rule_id else None) if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class SourceError(LeakstopError):
    """Input cannot be read: a missing path, a bad git range, not a repository."""


class ReportError(LeakstopError):
    """A report cannot be written (bad path, unknown format)."""


class ProviderError(LeakstopError):
    """An issuer (Vault, AWS, GitHub, ...) refused or failed a rotation step."""


class ProviderUnreachableError(ProviderError):
    """The request never reached the provider (no connection, TLS refused): nothing was
    changed there, so a step that failed this way left nothing to undo."""


class ProviderConflictError(ProviderError):
    """Check-and-set failed: someone else changed the secret since it was read. A rotation
    that meets one stops cleanly; it never overwrites."""


class AuditIntegrityError(LeakstopError):
    """The audit log was edited, truncated or reordered."""


class UsageError(LeakstopError):
    """The command line itself is wrong: an unknown option, options that do not go together."""


class AuditStorageError(LeakstopError):
    """The audit folder cannot be read or written (permissions, a full disk, a missing mount)."""


class StoreError(LeakstopError):
    """The local store refused or failed an operation: a missing org or secret, a bad name, a
    file it cannot read or write."""


class StoreAccessError(StoreError):
    """No master key, or not the one the org was created with (recorded as `access_denied`)."""


class StoreConflictError(StoreError):
    """A check-and-set lost: the secret changed since the caller last saw it."""


class StoreDamagedError(StoreError):
    """A store file is corrupt, truncated or was edited: nothing is written over it."""
