"""`head.json`: where the log ends, kept beside the day files so that cutting records off the
end of the newest file (which leaves a chain that still links) is detectable.

It holds the last record's `seq`, `mac` and day file and, with a key, an HMAC over them: someone
who removes records and rewrites it without the key is caught. Without a key it only catches
removals that forget it. Written after every append (a temporary file, `fsync`, `os.replace`), so
a reader sees the old anchor or the new one, never a mix; after a crash it may lag the log by
the record that was being written, which is not a removal.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from leakstop.audit.chain import sign_bytes
from leakstop.audit.record import canonical
from leakstop.errors import AuditIntegrityError

ANCHOR_NAME = "head.json"
VERSION = 1
#: Prefixed to what the anchor's HMAC covers, so it can never pass for a record's seal.
_DOMAIN = b"leakstop-audit-head\n"


@dataclass(frozen=True, slots=True)
class Anchor:
    """The log's last record: `seq` 0 and `mac` "" for a log with no records yet."""

    seq: int
    mac: str
    #: The day file the record is in (its plain name, also once archived); "" for none.
    file: str
    #: `hmac-sha256:<hex>` over the three fields above, or None when written without a key.
    hmac: str | None = None

    def is_signed_by(self, key: bytes) -> bool:
        return self.hmac is not None and hmac.compare_digest(self.hmac, _signature(self, key))


def read_anchor(folder: Path) -> Anchor | None:
    """The anchor, or None when there is none. Raises AuditIntegrityError when it is not one."""
    path = folder / ANCHOR_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise AuditIntegrityError(f"{path}: not a head anchor ({exc})") from None
    if (
        not isinstance(document, dict)
        or document.get("version") != VERSION
        or not isinstance(seq := document.get("seq"), int)
        or isinstance(seq, bool)
        or seq < 0
        or not isinstance(mac := document.get("mac"), str)
        or not isinstance(file := document.get("file"), str)
        or not isinstance(signature := document.get("hmac"), (str, type(None)))
    ):
        raise AuditIntegrityError(f"{path}: not a head anchor (fields missing or of a wrong type)")
    return Anchor(seq, mac, file, signature)


def write_anchor(folder: Path, seq: int, mac: str, file: str, key: bytes | None) -> Anchor:
    """Replace the anchor atomically. The caller holds the log's lock (one temporary name)."""
    anchor = Anchor(seq, mac, file)
    if key is not None:
        anchor = Anchor(seq, mac, file, _signature(anchor, key))
    document = {"version": VERSION, "seq": seq, "mac": mac, "file": file, "hmac": anchor.hmac}
    temporary = folder / f".{ANCHOR_NAME}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o600)
    try:
        data = canonical(document) + b"\n"
        while data:
            data = data[os.write(descriptor, data) :]
        # Without this, a crash can leave the renamed file empty (delayed allocation), and an
        # empty anchor would read as a removal.
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, folder / ANCHOR_NAME)
    return anchor


def _signature(anchor: Anchor, key: bytes) -> str:
    covered = {"version": VERSION, "seq": anchor.seq, "mac": anchor.mac, "file": anchor.file}
    return sign_bytes(_DOMAIN + canonical(covered), key)
