"""Reading and writing one secret's file: the seal checked on every read, values encrypted and
decrypted, every token moved to another key generation in one go.

A file is checked before anything in it is believed: its bytes parse, its seal verifies under
the key generation it names, and it holds the name it is filed under. Anything else is damage,
reported as StoreDamagedError and never written over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet

from leakstop.audit.record import canonical
from leakstop.errors import StoreDamagedError, StoreError
from leakstop.store.access import Keys
from leakstop.store.document import Kind, SecretDocument, Version, parse, to_bytes
from leakstop.store.files import write_atomic
from leakstop.store.keys import Key

#: Largest value stored: a secret, a key pair or a certificate chain, not a file store.
MAX_VALUE = 1024 * 1024

Value = bytes | dict[str, Any]


def load(path: Path, name: str, keys: Keys) -> SecretDocument | None:
    """The checked document in `path`; None when there is no such file. Raises
    StoreDamagedError, StoreError when it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    return check(raw, str(path), name, keys)


def check(raw: bytes, where: str, name: str | None, keys: Keys) -> SecretDocument:
    """The document in `raw` when its seal verifies (and it holds `name`, when given)."""
    document, seal = parse(raw, where)
    key = keys.get(document.generation, where)
    if not key.is_sealed(document.unsealed_bytes(), seal):
        raise StoreDamagedError(
            f"{where} was changed outside leakstop (its seal does not verify); restore it from "
            "a backup"
        )
    if name is not None and document.name != name:
        raise StoreDamagedError(f"{where} holds another secret than its name says")
    return document


def save(path: Path, document: SecretDocument, key: Key, *, sync_folder: bool = True) -> None:
    """Seal `document` with `key` (its generation must be the document's) and write it
    atomically."""
    if key.generation != document.generation:
        raise ValueError("the document's generation is not the key's")
    write_atomic(
        path, to_bytes(document, key.seal(document.unsealed_bytes())), sync_folder=sync_folder
    )


def encrypt(value: bytes | Mapping[str, Any], key: Key) -> tuple[Kind, str]:
    """The kind and Fernet token of `value` (bytes, or a JSON object). Raises StoreError for a
    value too large or not JSON."""
    if isinstance(value, bytes):
        kind, plain = Kind.BYTES, value
    else:
        try:
            kind, plain = Kind.JSON, canonical(value)
        except (TypeError, ValueError):
            raise StoreError("a structured value must be a JSON object") from None
    if len(plain) > MAX_VALUE:
        raise StoreError(f"a value may take at most {MAX_VALUE // 1024} KiB")
    return kind, key.fernet.encrypt(plain).decode("ascii")


def decrypt(version: Version, key: Key, where: str) -> Value:
    """The value of an active `version` (the caller checked its state)."""
    if version.token is None:
        raise StoreDamagedError(f"{where}: version {version.number} has no value")
    try:
        plain = key.fernet.decrypt(version.token)
    except InvalidToken:
        raise StoreDamagedError(
            f"{where}: version {version.number} does not decrypt; restore it from a backup"
        ) from None
    if version.kind is Kind.BYTES:
        return plain
    try:
        value = json.loads(plain)
    except ValueError:
        raise StoreDamagedError(f"{where}: version {version.number} is not JSON") from None
    if not isinstance(value, dict):
        raise StoreDamagedError(f"{where}: version {version.number} is not a JSON object")
    return value


def reencrypt(document: SecretDocument, source: Key, target: Key, where: str) -> SecretDocument:
    """`document` (under `source`) with every token under `target` (the same revision: the
    caller counts the change). MultiFernet decrypts with the old key, encrypts with the new."""
    if source.raw == target.raw and document.generation == target.generation:
        return document
    both = MultiFernet([target.fernet, source.fernet])
    versions = []
    for version in document.versions:
        if version.token is None:
            versions.append(version)
            continue
        try:
            token = both.rotate(version.token).decode("ascii")
        except InvalidToken:
            raise StoreDamagedError(
                f"{where}: version {version.number} does not decrypt; restore it from a backup"
            ) from None
        versions.append(replace(version, token=token))
    return replace(document, generation=target.generation, versions=tuple(versions))


def move_to(document: SecretDocument, keys: Keys, target: Key, where: str) -> SecretDocument:
    """`document` under `target`, from whichever of the org's generations it is under."""
    if document.generation == target.generation:
        return document
    return reencrypt(document, keys.get(document.generation, where), target, where)
