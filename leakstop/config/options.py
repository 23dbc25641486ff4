"""Free-form options of providers and of the references to them: plain, immutable values.

Each provider module checks its own options when it is used. Here they are only made
immutable, kept with the place they came from, and checked for the one mistake that must never
load: a credential written into the file (and so into git). Credentials come from the
environment; an option `<name>_env` names the variable that holds one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from leakstop.errors import ConfigError
from leakstop.yamlfile import Fields

K = TypeVar("K")
V = TypeVar("V")

#: Option names that hold a credential: one of these words, alone or after `_`/`-`
#: (`client_secret`, `api-key`), and Vault AppRole's `secret_id`, which is its password.
CREDENTIAL_WORDS = ("password", "token", "secret", "key", "dsn")
_CREDENTIAL_NAME = re.compile(
    r"(?:^|[_-])(?:" + "|".join(CREDENTIAL_WORDS) + r")$|^secret[_-]id$", re.IGNORECASE
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A read-only mapping that can sit in a frozen dataclass: equal and hashable by content."""

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._items: dict[K, V] = dict(items) if items is not None else {}

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._items == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


#: YAML data as plain values: lists become tuples, mappings FrozenMaps (no dates, no tags).
OptionValue: TypeAlias = (
    "str | int | float | bool | tuple[OptionValue, ...] | FrozenMap[str, OptionValue] | None"
)
Options: TypeAlias = "FrozenMap[str, OptionValue]"


@dataclass(frozen=True)
class Origin:
    """Where a config entry was written, so code that checks it later can name the file and
    line as the config parser does. Both None for built-in entries."""

    path: str | None = None
    line: int | None = None

    def error(self, message: str) -> ConfigError:
        """A ConfigError at this place (for a provider module rejecting its options)."""
        return ConfigError(message, self.path, self.line)


def is_credential_name(name: str) -> bool:
    """True for option names that would hold a credential (`token`, `client_secret`, ...)."""
    return bool(_CREDENTIAL_NAME.search(name))


def parse_options(
    fields: Fields, reserved: Collection[str], may_hold: Collection[str] = ()
) -> Options:
    """The mapping's keys other than `reserved`, as plain immutable values.

    Raises ConfigError for a value that is not plain data, a credential name (see
    `is_credential_name`) with a literal value, except the top-level names in `may_hold`, and
    an `*_env` option that does not name an environment variable.
    """
    return _mapping(fields.mapping, fields, reserved, may_hold)


def _mapping(
    mapping: dict[Any, Any], fields: Fields, reserved: Collection[str], may_hold: Collection[str]
) -> Options:
    lines: dict[Any, int] = getattr(mapping, "key_lines", None) or {}
    parsed: dict[str, OptionValue] = {}
    for key, value in mapping.items():
        if key in reserved:
            continue
        line = lines.get(key, getattr(mapping, "line", fields.line))
        if not isinstance(key, str):
            fields.fail(f"option names must be strings, got {key!r}", line)
        if is_credential_name(key) and key not in may_hold and _is_literal(value):
            fields.fail(
                f"{key!r} would put a credential in the config file (and in git): set an "
                f"environment variable and name it with '{key}_env' instead",
                line,
            )
        if key.endswith("_env") and not (isinstance(value, str) and ENV_NAME.match(value)):
            # The value is not echoed: a credential pasted here by mistake must not reach a log.
            fields.fail(
                f"{key!r} must be the name of an environment variable (letters, digits and _), "
                "not its value",
                line,
            )
        parsed[key] = _value(key, value, line, fields)
    return FrozenMap(parsed)


def _is_literal(value: Any) -> bool:
    # A nested mapping (`key: {name: ..., version: ...}`) describes where a credential is,
    # not the credential; null is no value at all.
    return value is not None and not isinstance(value, dict)


def _value(key: str, value: Any, line: int | None, fields: Fields) -> OptionValue:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return _mapping(value, fields, (), ())
    if isinstance(value, list):
        item_lines = getattr(value, "item_lines", None) or [line] * len(value)
        return tuple(
            _value(key, item, item_line, fields)
            for item, item_line in zip(value, item_lines, strict=True)
        )
    # YAML dates and times: quote them, so every option is plain JSON-like data.
    fields.fail(
        f"option {key!r} must be a string, number, boolean, list or mapping, got "
        f"{type(value).__name__} (quote it)",
        line,
    )
