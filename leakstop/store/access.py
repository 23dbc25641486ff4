"""Which keys a master key opens in an org, given what org.json says now.

The master key opens the org's key; while a master-key rotation runs it may instead be the new
master key, and either one then unwraps the other generation's key, so every file reads. Keys
are kept per salt for the life of this object: a process that has opened a generation keeps it
(a reader that started before a rotation ended does not fail when it ends), and derives each
salt at most once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken

from leakstop.errors import StoreDamagedError
from leakstop.store.keys import Key, derive
from leakstop.store.orgfile import KeyRecord, OrgState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Keys:
    """The keys of one org as of one read of org.json."""

    by_generation: Mapping[int, Key] = field(repr=False)
    #: What new tokens and seals use: the rotation's key while one runs.
    write: Key = field(repr=False)

    def get(self, generation: int, where: str) -> Key:
        key = self.by_generation.get(generation)
        if key is None:
            raise StoreDamagedError(
                f"{where} is sealed under key generation {generation}, which org.json does not "
                "list; restore it from a backup"
            )
        return key


class KeyCache:
    """Derives and remembers the keys one master key opens. No repr of the key."""

    def __init__(self, master_key: bytes) -> None:
        if not master_key:
            raise ValueError("an empty master key")
        self._master_key = master_key
        self._by_salt: dict[bytes, Key] = {}

    def __repr__(self) -> str:
        return "KeyCache(<hidden>)"

    def unlock(self, state: OrgState) -> Keys | None:
        """The org's keys, or None when this master key opens neither generation."""
        main = self._open(state.key)
        rotation = state.rotation
        if rotation is None:
            return None if main is None else Keys({main.generation: main}, main)
        new: Key | None
        new_params, old_params = rotation.key.params, state.key.params
        try:
            if main is not None:
                # Unwrapping costs a Fernet decryption; deriving would cost ~0.16 s.
                new = self._known(rotation.key) or self._remember(
                    rotation.key, main.unwrap(new_params.generation, rotation.wrapped_new)
                )
            else:
                new = self._open(rotation.key)
                if new is not None:
                    main = self._remember(
                        state.key, new.unwrap(old_params.generation, rotation.wrapped_old)
                    )
        except InvalidToken:
            raise StoreDamagedError(
                "org.json: the rotation's wrapped key does not open; restore org.json from a backup"
            ) from None
        if main is None or new is None:
            return None
        return Keys({main.generation: main, new.generation: new}, new)

    def open_record(self, record: KeyRecord) -> Key | None:
        """The key `record` describes when this master key derives it (a backup's org.json)."""
        return self._known(record) or self._open(record)

    def _known(self, record: KeyRecord) -> Key | None:
        key = self._by_salt.get(record.params.salt)
        if key is None or key.generation != record.params.generation:
            return None
        return key if key.opens(record.check) else None

    def _open(self, record: KeyRecord) -> Key | None:
        key = self._by_salt.get(record.params.salt)
        if key is None or key.generation != record.params.generation:
            started = time.perf_counter()
            key = derive(self._master_key, record.params)
            log.debug(
                "derived generation %d's key (%d PBKDF2 iterations) in %.3f s",
                record.params.generation,
                record.params.iterations,
                time.perf_counter() - started,
            )
            self._by_salt[record.params.salt] = key
        return key if key.opens(record.check) else None

    def _remember(self, record: KeyRecord, key: Key) -> Key:
        if not key.opens(record.check):
            raise StoreDamagedError("org.json: the rotation's wrapped key fails its check")
        self._by_salt[record.params.salt] = key
        return key
