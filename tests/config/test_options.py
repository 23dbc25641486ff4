from __future__ import annotations

import pickle

import pytest

from leakstop.config.options import FrozenMap, Origin, is_credential_name, parse_options
from leakstop.errors import ConfigError
from leakstop.yamlfile import Fields, load_yaml


def _options(text: str, reserved: tuple[str, ...] = (), may_hold: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    def error(message: str, line: int | None) -> ConfigError:
        return ConfigError(message, "f.yaml", line)

    fields = Fields(load_yaml(text, "f.yaml"), "f.yaml", error)
    return parse_options(fields, reserved, may_hold)


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "token",
        "secret",
        "key",
        "dsn",
        "client_secret",
        "api-key",
        "API_KEY",
        "access_token",
        "db_password",
        "admin_dsn",
        "secret_id",
        "Secret-ID",
    ],
)
def test_credential_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    ["token_env", "key_env", "secret_id_env", "kms_key_id", "monkey", "tokens", "role", "url"],
)
def test_names_that_hold_no_credential(name: str) -> None:
    assert not is_credential_name(name)


def test_options_become_plain_immutable_values() -> None:
    options = _options(
        "type: vault\nurl: http://x\nauth: {method: token, paths: [a, b]}\n"
        "retries: 3\nverify: false\nextra: null\n",
        reserved=("type",),
    )
    assert options == {
        "url": "http://x",
        "auth": {"method": "token", "paths": ("a", "b")},
        "retries": 3,
        "verify": False,
        "extra": None,
    }
    assert "type" not in options
    assert isinstance(options["auth"], FrozenMap)
    with pytest.raises(TypeError):
        options["url"] = "http://elsewhere"  # type: ignore[index]
    assert hash(options) == hash(
        _options(
            "url: http://x\nauth: {paths: [a, b], method: token}\n"
            "retries: 3\nverify: false\nextra: null\n"
        )
    )
    assert pickle.loads(pickle.dumps(options)) == options


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("url: x\ntoken: hvs.abcdefgh12345678\n", 2),
        ("auth:\n  method: approle\n  secret_id: 5f1e2d3c-aaaa\n", 3),
        ("headers:\n  - {name: x, api_key: abcdef123456}\n", 2),
        ("password: 12345678\n", 1),
        ("key: [abc, def]\n", 1),
    ],
)
def test_a_credential_in_the_file_is_refused_without_echoing_it(text: str, line: int) -> None:
    with pytest.raises(ConfigError, match="would put a credential in the config file") as info:
        _options(text)
    assert info.value.line == line
    assert "_env' instead" in str(info.value)
    value = text.rsplit(": ", 1)[1].strip(" }\n")
    assert value not in str(info.value)


def test_a_credential_name_may_describe_where_the_credential_is() -> None:
    assert _options("token: null\nkey: {name: signing, version: 3}\n") == {
        "token": None,
        "key": {"name": "signing", "version": 3},
    }


def test_may_hold_exempts_only_the_top_level() -> None:
    assert _options("key: password\n", may_hold=("key",)) == {"key": "password"}
    with pytest.raises(ConfigError, match="'key' would put a credential"):
        _options("nested: {key: abc}\n", may_hold=("key",))


@pytest.mark.parametrize("value", ["'hvs.abcdef123'", "3", "''", "[A]"])
def test_env_options_must_name_a_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="'token_env' must be the name of an environment") as info:
        _options(f"url: x\ntoken_env: {value}\n")
    assert info.value.line == 2
    assert "hvs." not in str(info.value)


def test_dates_and_other_yaml_types_must_be_quoted() -> None:
    with pytest.raises(ConfigError, match=r"f\.yaml:2: option 'since' .* got date \(quote it\)"):
        _options("url: x\nsince: 2027-01-01\n")
    assert _options("since: '2027-01-01'\n") == {"since": "2027-01-01"}


def test_option_names_must_be_strings() -> None:
    with pytest.raises(ConfigError, match=r"f\.yaml:2: option names must be strings, got 3"):
        _options("url: x\n3: three\n")


def test_origin_makes_errors_at_its_place() -> None:
    error = Origin("cfg.yaml", 7).error("unknown option 'mont'")
    assert str(error) == "cfg.yaml:7: unknown option 'mont'"
    assert str(Origin().error("x")) == "x"
