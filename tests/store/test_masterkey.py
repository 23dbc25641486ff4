"""The master key: from LEAKSTOP_MASTER_KEY, else the OS keyring, else a clear refusal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leakstop.errors import StoreAccessError
from leakstop.store.masterkey import master_key, new_master_key

keyring = pytest.importorskip("keyring")
from keyring.backend import KeyringBackend  # noqa: E402
from keyring.errors import KeyringError  # noqa: E402


class MemoryKeyring(KeyringBackend):
    """A keyring backend held in memory (the protocol `keyring` calls), for one test."""

    priority = 1

    def __init__(self, fail: bool = False) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}
        self.fail = fail

    def get_password(self, service: str, username: str) -> str | None:
        if self.fail:
            raise KeyringError("locked")
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.entries[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_the_environment_comes_first(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("leakstop", "store/default", "from the keyring")
    assert master_key("default", {"LEAKSTOP_MASTER_KEY": "from env"}) == b"from env"


def test_the_keyring_entry_is_per_org(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("leakstop", "store/prod", "prod key")
    assert master_key("prod", {}) == b"prod key"
    with pytest.raises(StoreAccessError, match="no master key: set LEAKSTOP_MASTER_KEY"):
        master_key("default", {})


def test_a_keyring_that_fails_is_one_clear_error(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.fail = True
    with pytest.raises(StoreAccessError, match="the OS keyring did not answer"):
        master_key("default", {})


def test_no_os_keyring_at_all_is_no_key(memory_keyring: MemoryKeyring) -> None:
    from keyring.backends.fail import Keyring as NoKeyring

    keyring.set_keyring(NoKeyring())  # type: ignore[no-untyped-call]
    with pytest.raises(StoreAccessError, match="no master key: set LEAKSTOP_MASTER_KEY"):
        master_key("default", {})


def test_the_new_key_is_optional() -> None:
    assert new_master_key({}) is None
    assert new_master_key({"LEAKSTOP_NEW_MASTER_KEY": "n"}) == b"n"
