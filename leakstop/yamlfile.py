"""YAML loading that remembers line numbers, and typed field access that reports `file:line`.

Config files and rule files are both read through here so that every validation error can
name the file and line a user has to fix.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from leakstop.durations import parse_duration
from leakstop.errors import ConfigError

if TYPE_CHECKING:
    import yaml


class LineMap(dict[Any, Any]):
    """A mapping from YAML that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence from YAML that knows its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]


@functools.cache
def _line_loader() -> type[yaml.SafeLoader]:
    """The loader, built on first use: importing PyYAML compiles a Unicode regex (~30 ms of
    every start), and a scan with no config file and cached rules reads no YAML at all."""
    import yaml

    # libyaml's parser is ~10x faster at start-up; the constructors stay in Python either way.
    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LineLoader(base):  # type: ignore[misc,valid-type]
        pass

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
    LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
    return LineLoader


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise _YamlShapeError("mapping keys must be plain scalars", line)
        if key in result:
            raise _YamlShapeError(f"duplicate key {key!r}", line)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # YAML resolves anything shaped like 2027-02-30 to a timestamp, and PyYAML's constructor
    # then raises a bare ValueError for an impossible one, which would escape as a traceback.
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        line = node.start_mark.line + 1
        raise _YamlShapeError(f"{node.value!r} is not a real date or time", line) from None


class _YamlShapeError(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_yaml(text: str | bytes, path: str) -> Any:
    """Parse one YAML document; containers come back as `LineMap`/`LineList`.

    Raises ConfigError naming `path` and the line of a syntax error or duplicate key.
    """
    import yaml

    try:
        return yaml.load(text, Loader=_line_loader())
    except _YamlShapeError as exc:
        raise ConfigError(str(exc), path, exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", path, line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path) from None
    except RecursionError:
        # PyYAML builds nested collections recursively: `[[[[...]]]]` a few hundred deep
        # exhausts the stack (found by tests/fuzz/test_config.py).
        raise ConfigError("invalid YAML: collections nested too deeply", path) from None


ErrorFactory = Callable[[str, "int | None"], Exception]


class Fields:
    """Typed, validated reads from one YAML mapping; every error names the file and line."""

    def __init__(self, mapping: Any, path: str, error: ErrorFactory, what: str = "") -> None:
        self._path = path
        self._error = error
        self._what = what
        if not isinstance(mapping, dict):
            line = getattr(mapping, "line", None)
            self.fail(f"{what or 'this'} must be a mapping, got {_kind(mapping)}", line)
        self.mapping: dict[Any, Any] = mapping
        self.line: int | None = getattr(mapping, "line", None)

    @property
    def error(self) -> ErrorFactory:
        """The error factory, for nested mappings that should fail the same way."""
        return self._error

    @property
    def path(self) -> str:
        return self._path

    def line_of(self, key: str) -> int | None:
        lines = getattr(self.mapping, "key_lines", None)
        return lines.get(key, self.line) if lines else self.line

    def fail(self, message: str, line: int | None = None) -> NoReturn:
        raise self._error(message, line)

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Reject unknown keys (typos), suggesting the closest known key."""
        allowed = list(allowed)
        for key in self.mapping:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                where = f" in {self._what}" if self._what else ""
                self.fail(f"unknown key {key!r}{where}{hint}", self.line_of(key))

    def has(self, key: str) -> bool:
        return key in self.mapping and self.mapping[key] is not None

    def raw(self, key: str) -> Any:
        return self.mapping.get(key)

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self._get(key, required)
        if value is None:
            return default if default is not None else ""
        if not isinstance(value, str):
            self.fail(f"{key!r} must be a string, got {_kind(value)}", self.line_of(key))
        return value

    def optional_string(self, key: str) -> str | None:
        return self.string(key) if self.has(key) else None

    def number(self, key: str, *, low: float, high: float) -> float | None:
        value = self._get(key, False)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{key!r} must be a number, got {_kind(value)}", self.line_of(key))
        if not low <= value <= high:
            self.fail(f"{key!r} must be between {low:g} and {high:g}", self.line_of(key))
        return float(value)

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self._get(key, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"{key!r} must be an integer, got {_kind(value)}", self.line_of(key))
        if not low <= value <= high:
            self.fail(f"{key!r} must be between {low} and {high}", self.line_of(key))
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(f"{key!r} must be true or false, got {_kind(value)}", self.line_of(key))
        return value

    def duration(self, key: str, default: timedelta) -> timedelta:
        """A duration such as `90d` or `10m`."""
        value = self._get(key, False)
        if value is None:
            return default
        try:
            if not isinstance(value, str):
                raise ValueError
            result = parse_duration(value)
        except ValueError:
            self.fail(
                f"{key!r} must be a duration such as 30s, 10m, 24h, 7d or 2w, got {value!r}",
                self.line_of(key),
            )
        return result

    def string_list(self, key: str, *, required: bool = False) -> list[str]:
        value = self._get(key, required)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.fail(f"{key!r} must be a list of strings, got {_kind(value)}", self.line_of(key))
        lines = getattr(value, "item_lines", None)
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                line = lines[index] if lines else self.line_of(key)
                self.fail(f"{key!r} items must be non-empty strings, got {_kind(item)}", line)
        return list(value)

    def items(self, key: str) -> list[tuple[Any, int | None]]:
        """The items of a list field, each with its line."""
        value = self._get(key, False)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{key!r} must be a list, got {_kind(value)}", self.line_of(key))
        lines = getattr(value, "item_lines", None) or [self.line_of(key)] * len(value)
        return list(zip(value, lines, strict=True))

    def sub(self, key: str, what: str | None = None) -> Fields | None:
        value = self._get(key, False)
        if value is None:
            return None
        name = what or repr(key)
        if not isinstance(value, dict):
            # A scalar carries no line of its own: name the key's.
            self.fail(f"{name} must be a mapping, got {_kind(value)}", self.line_of(key))
        return Fields(value, self._path, self._error, name)

    def _get(self, key: str, required: bool) -> Any:
        value = self.mapping.get(key)
        if value is None and required:
            where = f" in {self._what}" if self._what else ""
            self.fail(f"missing required key {key!r}{where}", self.line)
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
