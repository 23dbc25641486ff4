"""Credential files that tools store encrypted with a key they publish: opened before the
binary check, so their rules see the credentials (and a weak password there is reported).

DBeaver keeps saved connection passwords in `credentials-config.json`, AES-128-CBC with a key
built into every DBeaver (the file's first 16 bytes are the IV). Anyone who has the file has
the passwords; that is why it is a leak.
"""

from __future__ import annotations

import posixpath

#: DBeaver's built-in key for credentials-config.json (public in its source).
_DBEAVER_KEY = bytes.fromhex("babb4a9f774ab853c96c2d653dfe544a")
_DBEAVER_FILE = "credentials-config.json"
_BLOCK = 16


def is_sealed_file(path: str) -> bool:
    """Whether `path` is named like a known encrypted credential file (a cheap look at the
    name: the caller reads the whole file only then)."""
    return posixpath.basename(path) == _DBEAVER_FILE


def open_sealed(path: str, data: bytes) -> bytes | None:
    """The plain text of a known encrypted credential file at `path`, or None (another file,
    not encrypted, or not decryptable: the file is then handled as usual)."""
    if not is_sealed_file(path):
        return None
    if len(data) < 2 * _BLOCK or len(data) % _BLOCK:
        return None
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(_DBEAVER_KEY), modes.CBC(data[:_BLOCK])).decryptor()
    padded = decryptor.update(data[_BLOCK:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None  # another key, or not DBeaver's file
    return plain if plain.lstrip().startswith(b"{") else None
