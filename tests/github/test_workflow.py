from __future__ import annotations

import io

import pytest

from leakstop.github.workflow import add_masks

IN_ACTIONS = {"GITHUB_ACTIONS": "true"}


def runner_unescape_data(data: str) -> str:
    """What the Actions runner does to a command's data before using it (ActionCommand.cs,
    `UnescapeData`: %0D, %0A, then %25), written out here to check our escaping against."""
    return data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _masks(values: list[str]) -> list[str]:
    out = io.StringIO()
    add_masks(values, out, IN_ACTIONS)
    lines = out.getvalue().splitlines()
    assert all(line.startswith("::add-mask::") for line in lines)
    return [runner_unescape_data(line.removeprefix("::add-mask::")) for line in lines]


@pytest.mark.parametrize(
    "secret", ["pa%25ss%0Aword", "100%_sure_token", "%250D%0D%", "plain_secret_value"]
)
def test_the_runner_registers_the_secret_itself(secret: str) -> None:
    assert _masks([secret]) == [secret]


def test_percent_is_escaped_on_the_wire() -> None:
    out = io.StringIO()
    add_masks(["abc%25def"], out, IN_ACTIONS)
    assert out.getvalue() == "::add-mask::abc%2525def\n"


def test_multi_line_values_are_masked_line_by_line() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBg%25\nshort\n-----END KEY-----\n"
    assert _masks([key, key]) == ["MIIEvQIBADANBg%25"]


def test_nothing_outside_github_actions() -> None:
    out = io.StringIO()
    assert add_masks(["a_secret_value"], out, {}) == 0
    assert out.getvalue() == ""
