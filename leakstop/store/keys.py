"""From a master passphrase (or key) to the keys that encrypt and seal an org's files.

    params = KdfParams.new()                       # random salt, 600,000 iterations
    key = derive(master_key, params)               # ~0.16 s here at 600,000 iterations
    key.check_token()                              # stored in org.json: a wrong key shows up front

PBKDF2-HMAC-SHA256 turns the master key and the org's salt into 32 bytes; HKDF-Expand turns
those into a Fernet key (values) and an HMAC key (file seals), so neither is used for two jobs.
Derived keys live in memory for the life of the process only: nothing derived is written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from leakstop.errors import StoreDamagedError

KDF_NAME = "pbkdf2-hmac-sha256"
#: OWASP's 2023 figure for PBKDF2-HMAC-SHA256. Costs ~0.16 s a derivation here (OpenSSL via
#: `cryptography`; hashlib's own loop takes ~0.36 s), once per process and org.
DEFAULT_ITERATIONS = 600_000
SALT_BYTES = 32
#: The plaintext of each org's key check: decrypting it proves the key before anything is read
#: or written.
CHECK_MARKER = b"leakstop-store key check v1"


@dataclass(frozen=True)
class KdfParams:
    """How one generation of an org's key is derived; stored in org.json."""

    #: Starts at 1; each master-key rotation adds one. Each secret file names the generation
    #: its tokens and seal are under.
    generation: int
    salt: bytes = field(repr=False)
    iterations: int = DEFAULT_ITERATIONS

    @classmethod
    def new(cls, generation: int = 1, iterations: int | None = None) -> KdfParams:
        count = DEFAULT_ITERATIONS if iterations is None else iterations
        if count < 1:
            raise ValueError("iterations must be at least 1")
        return cls(generation, os.urandom(SALT_BYTES), count)

    def to_json(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "kdf": KDF_NAME,
            "iterations": self.iterations,
            "salt": base64.b64encode(self.salt).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> KdfParams:
        try:
            if data["kdf"] != KDF_NAME:
                raise StoreDamagedError(f"{where}: unknown key derivation {data['kdf']!r}")
            generation, iterations = data["generation"], data["iterations"]
            if not isinstance(generation, int) or not isinstance(iterations, int):
                raise TypeError("generation and iterations are numbers")
            if generation < 1 or iterations < 1:
                raise ValueError("generation and iterations are positive")
            salt = base64.b64decode(data["salt"], validate=True)
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreDamagedError(f"{where}: bad key parameters ({exc})") from None
        return cls(generation, salt, iterations)


@dataclass(frozen=True)
class Key:
    """One generation's keys: `fernet` for values, `mac_key` for file seals. No repr."""

    generation: int
    raw: bytes = field(repr=False)
    fernet: Fernet = field(repr=False, compare=False)
    mac_key: bytes = field(repr=False)

    @classmethod
    def from_raw(cls, generation: int, raw: bytes) -> Key:
        fernet_key = _expand(raw, b"leakstop-store/fernet/v1")
        return cls(
            generation,
            raw,
            Fernet(base64.urlsafe_b64encode(fernet_key)),
            _expand(raw, b"leakstop-store/file-seal/v1"),
        )

    def check_token(self) -> str:
        return self.fernet.encrypt(CHECK_MARKER).decode("ascii")

    def opens(self, check_token: str) -> bool:
        """Whether this key is the one `check_token` was made with."""
        try:
            return hmac.compare_digest(self.fernet.decrypt(check_token), CHECK_MARKER)
        except InvalidToken:
            return False

    def seal(self, data: bytes) -> str:
        return "hmac-sha256:" + hmac.new(self.mac_key, data, hashlib.sha256).hexdigest()

    def is_sealed(self, data: bytes, seal: str) -> bool:
        return hmac.compare_digest(self.seal(data), seal)

    def wrap(self, other: Key) -> str:
        """`other`'s key material encrypted under this key (org.json, during a rotation)."""
        return self.fernet.encrypt(other.raw).decode("ascii")

    def unwrap(self, generation: int, token: str) -> Key:
        """The key `wrap` hid in `token`. Raises InvalidToken when it was not this key's."""
        return Key.from_raw(generation, self.fernet.decrypt(token))


def derive(master_key: bytes, params: KdfParams) -> Key:
    """PBKDF2-HMAC-SHA256 of `master_key` with the org's salt and iteration count."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=params.salt, iterations=params.iterations
    )
    return Key.from_raw(params.generation, kdf.derive(master_key))


def _expand(raw: bytes, info: bytes) -> bytes:
    return HKDFExpand(algorithm=hashes.SHA256(), length=32, info=info).derive(raw)
