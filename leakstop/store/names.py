"""Which names the store accepts (secrets, orgs, backups), and how a secret's name becomes a
file name.

A secret name is path-like (`billing/api-key`): segments of letters, digits and `_+=.@-`,
joined by `/`, none starting with `.`. Its file name keeps lowercase letters, digits and `-`,
and writes every other character as `_` and two uppercase hex digits of its code
(`Billing/db.pw` → `_42illing_2Fdb_2Epw`). Because `_` always starts an escape and escapes are
always uppercase, two names never share a file name even on a case-insensitive file system
(macOS, Windows), and no file name is `.`, `..`, hidden or reserved-looking.
"""

from __future__ import annotations

import re

from leakstop.errors import StoreError

#: Longest accepted name. Every character may take three in the file name, and most file
#: systems stop at 255 bytes (".json" and a temporary file's prefix and suffix take ~30).
MAX_NAME = 72
_SEGMENT = r"[A-Za-z0-9_+=@-][A-Za-z0-9_+=.@-]*"
_NAME = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT})*$")
_KEEP = re.compile(r"[a-z0-9-]")
_ESCAPE = re.compile(r"_([0-9A-F]{2})")
#: Lowercase only, so that two orgs never share a folder on a case-insensitive file system.
_ORG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_BACKUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Suffix of a secret's file in `secrets/` (and of its lock file in `locks/`).
SUFFIX = ".json"


def check_name(name: str) -> str:
    """`name` when it is a valid secret name; raises StoreError naming the rule it breaks."""
    if not name or len(name) > MAX_NAME or not _NAME.match(name):
        raise StoreError(
            f"{name[: MAX_NAME + 1]!r} is not a secret name: use 1 to {MAX_NAME} letters, digits "
            "and _+=.@- in segments joined by '/', none starting with '.' (e.g. billing/api-key)"
        )
    return name


def check_org(org: str) -> str:
    if not _ORG.match(org):
        raise StoreError(
            f"{org[:64]!r} is not an org name: use 1 to 63 lowercase letters, digits, _ and -"
        )
    return org


def check_backup_name(name: str) -> str:
    if not _BACKUP.match(name):
        raise StoreError(
            f"{name[:65]!r} is not a backup name: use 1 to 64 letters, digits, _ . and -, "
            "starting with a letter or digit"
        )
    return name


def file_stem(name: str) -> str:
    """The file name (without suffix) that holds the secret `name` (already checked)."""
    return "".join(c if _KEEP.match(c) else f"_{ord(c):02X}" for c in name)


def name_of(stem: str) -> str | None:
    """The secret name a file stem encodes, or None for a file the store did not name."""
    name = _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), stem)
    if file_stem(name) != stem or not _NAME.match(name) or len(name) > MAX_NAME:
        return None
    return name
