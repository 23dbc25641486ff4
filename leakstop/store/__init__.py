"""The local secret store: versions, labels and check-and-set over Fernet-encrypted files,
every operation recorded in the audit log.

    from leakstop.store import LocalStore
    store = LocalStore.open(home, "default", master_key, audit_log, context)
    store.write("billing/api-key", b"…", expected_version=None)
    store.read("billing/api-key")

The store imports the audit trail, never the scanner or the rotator (which uses it as its
journal). `leakstop store …` is a thin layer over this package.
"""

from leakstop.store.info import SecretInfo, VersionInfo
from leakstop.store.local import LocalStore

__all__ = ["LocalStore", "SecretInfo", "VersionInfo"]
