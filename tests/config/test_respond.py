"""`respond:` in the config: the response to a confirmed leak, per rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.config import parse_config
from leakstop.config.respond import RespondPolicy, Response
from leakstop.errors import ConfigError


def _parse(text: str):  # type: ignore[no-untyped-def]
    return parse_config("version: 1\n" + text, ".leakstop.yaml", Path("."), with_rules=False)


def test_default_is_none_and_means_rotate() -> None:
    assert _parse("").respond is None
    assert RespondPolicy().for_rule("anything") is Response.ROTATE


def test_confirmed_and_per_rule_responses() -> None:
    policy = _parse(
        "respond:\n  confirmed: notify\n  rules:\n    github-pat: revoke\n    x: none\n"
    ).respond
    assert policy.for_rule("github-pat") is Response.REVOKE
    assert policy.for_rule("x") is Response.NONE
    assert policy.for_rule("aws-access-key-id") is Response.NOTIFY


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("respond:\n  confirmed: explode\n", ".leakstop.yaml:3: 'confirmed' must be one of"),
        (
            "respond:\n  rules:\n    github-pat: nuke\n",
            ".leakstop.yaml:4: 'github-pat' must be one",
        ),
        ("respond:\n  confirmd: rotate\n", "unknown key 'confirmd'"),
    ],
)
def test_bad_responses_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _parse(text)
