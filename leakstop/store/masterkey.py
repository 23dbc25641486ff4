"""Where the master key comes from: `LEAKSTOP_MASTER_KEY`, else the OS keyring (when the
optional `keyring` package is installed and holds an entry for the org). Never from argv,
which other users on the machine can read.

The keyring entry: service `leakstop`, user name `store/<org>` (`keyring set leakstop
store/default`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from leakstop.errors import StoreAccessError

MASTER_KEY_VARIABLE = "LEAKSTOP_MASTER_KEY"
NEW_MASTER_KEY_VARIABLE = "LEAKSTOP_NEW_MASTER_KEY"
KEYRING_SERVICE = "leakstop"


def keyring_user(org: str) -> str:
    return f"store/{org}"


def master_key(org: str, environ: Mapping[str, str] = os.environ) -> bytes:
    """The org's master key as UTF-8 bytes. Raises StoreAccessError when there is none."""
    value = environ.get(MASTER_KEY_VARIABLE) or _from_keyring(org)
    if not value:
        raise StoreAccessError(
            f"no master key: set {MASTER_KEY_VARIABLE}, or store one in the OS keyring "
            f"(pip install keyring; keyring set {KEYRING_SERVICE} {keyring_user(org)})"
        )
    return value.encode("utf-8")


def new_master_key(environ: Mapping[str, str] = os.environ) -> bytes | None:
    """`LEAKSTOP_NEW_MASTER_KEY` for `rotate-key`; None when unset (finish a rotation)."""
    value = environ.get(NEW_MASTER_KEY_VARIABLE)
    return value.encode("utf-8") if value else None


def _from_keyring(org: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, keyring_user(org))
    except NoKeyringError:  # no OS keyring here (a container, CI): as if not installed
        return None
    except KeyringError as exc:
        raise StoreAccessError(
            f"the OS keyring did not answer ({type(exc).__name__}): set {MASTER_KEY_VARIABLE}"
        ) from None
