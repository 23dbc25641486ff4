"""A protocol fake for the machine's tests: an issuer whose working credentials are a JSON file
(so they survive the test killing a process), with a single role like PostgreSQL's or minting
like a Vault AppRole."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from leakstop.config.options import Options
from leakstop.errors import ProviderError
from leakstop.rotator.providers.base import Value


class FileIssuer:
    def __init__(self, path: Path, *, mints: bool = False, refuse: bool = False) -> None:
        self.path = path
        self.name = "file-issuer"
        self.mints = mints
        #: Make every test() fail (an issuer that does not accept the new value).
        self.refuse = refuse

    def working(self) -> set[str]:
        return set(json.loads(self.path.read_text())) if self.path.exists() else set()

    def _save(self, values: set[str]) -> None:
        self.path.write_text(json.dumps(sorted(values)))

    def mint(self, name: str, how: Options) -> Value:
        value = secrets.token_hex(16)
        self._save(self.working() | {value})
        return value.encode()

    def apply(self, name: str, how: Options, value: Value, previous: Value | None) -> None:
        assert isinstance(value, bytes)
        self._save({value.decode()})  # one role, one password: the old one stops working

    def test(self, name: str, how: Options, value: Value) -> None:
        assert isinstance(value, bytes)
        if self.refuse or value.decode() not in self.working():
            raise ProviderError(f"{name}: the new credential does not log in")

    def revoke(self, name: str, how: Options, value: Value) -> None:
        assert isinstance(value, bytes)
        self._save(self.working() - {value.decode()})
