"""The postgres issuer's options, the two-role choice of role, and its rotation handler."""

from __future__ import annotations

import pytest

from leakstop.config.options import FrozenMap, Options, OptionValue
from leakstop.config.secrets import GenerateSpec, IssuerRef, ManagedSecret, StoreRef
from leakstop.errors import ConfigError
from leakstop.rotator.providers.base import Value
from leakstop.rotator.providers.postgres_options import (
    NOLOGIN,
    Settings,
    Target,
    next_role,
    parse_settings,
    parse_target,
    two_role_value,
)


def options(**values: OptionValue) -> Options:
    return FrozenMap(values)


def test_settings() -> None:
    assert parse_settings("db", options(dsn_env="ADMIN")) == Settings("ADMIN")
    assert parse_settings(
        "db", options(dsn_env="ADMIN", login_dsn_env="LOGIN", connect_timeout=2)
    ) == Settings("ADMIN", "LOGIN", 2)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "type postgres needs 'dsn_env'"),
        ({"dsn_env": "A", "url": "x"}, "'url' is not a postgres option"),
        ({"dsn_env": "A", "connect_timeout": 0}, "'connect_timeout' must be"),
        ({"dsn_env": "A", "connect_timeout": True}, "'connect_timeout' must be"),
        ({"dsn_env": "A", "connect_timeout": "5"}, "'connect_timeout' must be"),
        ({"dsn_env": "A", "login_dsn_env": 3}, "'login_dsn_env' must name"),
    ],
)
def test_bad_settings(values: dict[str, OptionValue], expected: str) -> None:
    with pytest.raises(ConfigError, match=f"^provider 'db': .*{expected}"):
        parse_settings("db", FrozenMap(values))


def test_targets() -> None:
    assert parse_target("s", options(role="app")) == Target(("app",))
    assert parse_target(
        "s", options(roles=("a", "b"), database="billing", allow_superuser=True, revoke=NOLOGIN)
    ) == Target(("a", "b"), "billing", True, NOLOGIN)
    assert parse_target("s", options(roles=("a", "b"))).is_alternating
    assert not parse_target("s", options(role="a")).is_alternating


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "needs 'role: NAME', or 'roles: \\[A, B\\]'"),
        ({"role": "a", "roles": ("a", "b")}, "needs 'role: NAME'"),
        ({"roles": ("a",)}, "'roles' must be a list of two role names"),
        ({"roles": ("a", "b", "c")}, "'roles' must be a list of two role names"),
        ({"roles": "a"}, "'roles' must be a list of two role names"),
        ({"roles": ("a", "a")}, "two different roles"),
        ({"role": ""}, "'role' must hold role names"),
        ({"role": 5}, "'role' must hold role names"),
        ({"role": "a\x00b"}, "'role' must hold role names"),
        ({"role": "é" * 32}, "at most 63 bytes"),
        ({"role": "a", "database": ""}, "'database' must be a database name"),
        ({"role": "a", "allow_superuser": "yes"}, "'allow_superuser' must be true or false"),
        ({"roles": ("a", "b"), "revoke": "drop"}, "'revoke' must be no_password or nologin"),
        ({"role": "a", "revoke": "nologin"}, "'revoke' is for the two-role scheme"),
        ({"role": "a", "user": "b"}, "option 'user' is not one of role, roles"),
    ],
)
def test_bad_targets(values: dict[str, OptionValue], expected: str) -> None:
    with pytest.raises(ConfigError, match=f"^secret 'billing/db': issuer .*{expected}"):
        parse_target("billing/db", FrozenMap(values))


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (None, "b"),  # the first rotation: consumers use the first role today
        (b"plain password", "b"),  # from before the switch to two roles
        ({"username": "a", "password": "x"}, "b"),
        ({"username": "b", "password": "x"}, "a"),
        ({"username": "someone_else", "password": "x"}, "b"),
    ],
)
def test_next_role_is_the_one_not_in_use(current: Value | None, expected: str) -> None:
    assert next_role(Target(("a", "b")), current) == expected


def test_two_role_value_alternates_and_generates_the_password() -> None:
    secret = ManagedSecret(
        "billing/db",
        StoreRef("local"),
        IssuerRef("billing-db", options(roles=("app_a", "app_b"))),
        generate=GenerateSpec(length=20),
    )
    first = two_role_value(secret, None)
    second = two_role_value(secret, first)
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert (first["username"], second["username"]) == ("app_b", "app_a")
    assert len(first["password"]) == 20
    assert first["password"] != second["password"]


@pytest.mark.parametrize(
    "issuer", [None, IssuerRef("billing-db", FrozenMap({"role": "app"}))], ids=["none", "role"]
)
def test_two_role_value_needs_roles(issuer: IssuerRef | None) -> None:
    secret = ManagedSecret("billing/db", StoreRef("local"), issuer)
    with pytest.raises(ConfigError, match=r"^secret 'billing/db': "):
        two_role_value(secret, None)
