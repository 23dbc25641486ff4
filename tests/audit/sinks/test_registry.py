"""Sinks built from `audit.sinks` settings and the environment."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from typing import Any, get_args

import pytest
from pytest_httpserver import HTTPServer

from leakstop.audit.record import Record
from leakstop.audit.sinks import Sink, SinkError
from leakstop.audit.sinks.http import HttpSink
from leakstop.audit.sinks.postgres import PostgresSink
from leakstop.audit.sinks.registry import SINKS, build_sinks
from leakstop.config.audit import HttpSinkSettings, PostgresSinkSettings, SinkSettings
from tests.audit.sinks.conftest import MakeRecord

HTTP = HttpSinkSettings("https://siem.example/leakstop", key_env="SIEM_KEY")
POSTGRES = PostgresSinkSettings("AUDIT_DSN", "leakstop_audit")
DSN = "postgresql://app:dsn-Pass-NEVER-SHOWN@db.example/audit"
ENVIRON = {"SIEM_KEY": "siem-key-NEVER-SHOWN", "AUDIT_DSN": DSN}


def test_every_sink_type_is_registered() -> None:
    assert set(SINKS) == set(get_args(SinkSettings))


def test_one_sink_per_entry_in_order() -> None:
    sinks = build_sinks([POSTGRES, HTTP, HttpSinkSettings("http://127.0.0.1:9/a")], ENVIRON)
    assert [type(sink) for sink in sinks] == [PostgresSink, HttpSink, HttpSink]
    assert [sink.name for sink in sinks] == [
        "postgres leakstop_audit in audit on db.example",
        "http https://siem.example/leakstop",
        "http http://127.0.0.1:9/a",
    ]
    assert "NEVER-SHOWN" not in repr(sinks)


def test_no_settings_no_sinks() -> None:
    assert build_sinks([], {}) == []


def test_the_key_comes_from_the_environment(
    httpserver_ipv4: HTTPServer, make_record: MakeRecord
) -> None:
    httpserver_ipv4.expect_request("/audit").respond_with_data("ok")
    settings = HttpSinkSettings(httpserver_ipv4.url_for("/audit"), key_env="SIEM_KEY")
    [sink] = build_sinks([settings], ENVIRON)
    sink.send(make_record())
    [(request, _)] = httpserver_ipv4.log
    signed = request.headers["X-Leakstop-Timestamp"].encode() + b"." + request.get_data()
    key = ENVIRON["SIEM_KEY"].encode()
    expected = "sha256=" + hmac.new(key, signed, hashlib.sha256).hexdigest()
    assert request.headers["X-Leakstop-Signature"] == expected


@pytest.mark.parametrize(
    ("settings", "environ", "message"),
    [
        (POSTGRES, {}, "audit sink postgres: $AUDIT_DSN is not set"),
        (POSTGRES, {"AUDIT_DSN": ""}, "audit sink postgres: $AUDIT_DSN is empty"),
        (HTTP, {"AUDIT_DSN": DSN}, "audit sink http: $SIEM_KEY is not set"),
        (HTTP, {"SIEM_KEY": ""}, "audit sink http: $SIEM_KEY is empty"),
    ],
)
def test_a_missing_variable_is_named(
    settings: SinkSettings, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SinkError) as caught:
        build_sinks([settings], environ)
    assert str(caught.value) == message


def test_an_http_sink_without_key_env_needs_no_variable() -> None:
    [sink] = build_sinks([HttpSinkSettings("https://siem.example/a")], {})
    assert sink.name == "http https://siem.example/a"


def test_without_psycopg_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry makes `import psycopg` raise ImportError, as on a default install.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(SinkError) as caught:
        build_sinks([POSTGRES], ENVIRON)
    assert str(caught.value) == (
        "audit sink postgres: psycopg is not installed; pip install 'leakstop[postgres]'"
    )


def test_the_registry_imports_without_psycopg() -> None:
    # A fresh interpreter: this one has psycopg loaded by the other tests.
    code = (
        "import sys; import leakstop.audit.sinks.registry; "
        "print(sorted(name for name in sys.modules if name.startswith('psycopg')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


class _FakeSink:
    def __init__(self) -> None:
        self.name = "fake"
        self.is_closed = False

    def send(self, record: Record) -> None:
        raise AssertionError("not sent")

    def close(self) -> None:
        self.is_closed = True


def test_sinks_built_before_a_failing_one_are_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[_FakeSink] = []

    def fake(settings: Any, environ: Any) -> Sink:
        built.append(_FakeSink())
        return built[-1]

    monkeypatch.setitem(SINKS, HttpSinkSettings, fake)
    with pytest.raises(SinkError, match=r"\$AUDIT_DSN is not set"):
        build_sinks([HTTP, HTTP, POSTGRES], {})
    assert [sink.is_closed for sink in built] == [True, True]
