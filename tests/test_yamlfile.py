from __future__ import annotations

from datetime import date

import pytest

from leakstop.errors import ConfigError
from leakstop.yamlfile import Fields, load_yaml


def _fields(text: str) -> Fields:
    def error(message: str, line: int | None) -> ConfigError:
        return ConfigError(message, "f.yaml", line)

    return Fields(load_yaml(text, "f.yaml"), "f.yaml", error, "the config")


def test_keys_and_items_remember_their_lines() -> None:
    data = load_yaml("a: 1\nb:\n  - x\n  - y\n", "f.yaml")
    assert data.key_lines == {"a": 1, "b": 2}
    assert data["b"].item_lines == [3, 4]


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml("a: 1\nb: [unclosed\nc: 3\n", "f.yaml")
    assert str(info.value).startswith("f.yaml:")
    assert info.value.line is not None
    assert info.value.line >= 2


def test_duplicate_key_is_an_error_with_its_line() -> None:
    with pytest.raises(ConfigError, match=r"f\.yaml:3: duplicate key 'a'"):
        load_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")


def test_unknown_key_suggests_the_closest_known_one() -> None:
    fields = _fields("version: 1\nalowlist: {}\n")
    with pytest.raises(
        ConfigError, match=r"f\.yaml:2: unknown key 'alowlist'.*did you mean 'allowlist'"
    ):
        fields.check_keys(["version", "allowlist"])


@pytest.mark.parametrize(
    ("text", "call", "message"),
    [
        ("n: abc\n", lambda f: f.integer("n", 0, low=0, high=9), "must be an integer"),
        ("n: 12\n", lambda f: f.integer("n", 0, low=0, high=9), "between 0 and 9"),
        ("s: [1]\n", lambda f: f.string("s"), "must be a string"),
        ("l: [a, 3]\n", lambda f: f.string_list("l"), "items must be non-empty strings"),
        ("b: yes please\n", lambda f: f.boolean("b", False), "true or false"),
        ("x: 1\n", lambda f: f.string("s", required=True), "missing required key 's'"),
    ],
)
def test_type_errors_name_the_line(text: str, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message) as info:
        call(_fields(text))
    assert info.value.line == 1


@pytest.mark.parametrize("value", ["2027-02-30", "2027-13-01", "2027-06-30T25:00:00"])
def test_an_impossible_date_is_an_error_with_its_line(value: str) -> None:
    with pytest.raises(ConfigError, match=rf"f\.yaml:2: '{value}' is not a real date or time"):
        load_yaml(f"a: 1\nexpires: {value}\n", "f.yaml")


def test_real_dates_still_load_as_dates() -> None:
    assert load_yaml("expires: 2027-06-30\n", "f.yaml") == {"expires": date(2027, 6, 30)}


def test_collections_nested_too_deeply_are_a_config_error() -> None:
    # Found by tests/fuzz/test_config.py: PyYAML recursed out of stack (a traceback, exit 3).
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_yaml("[" * 900 + "]" * 900, ".leakstop.yaml")
