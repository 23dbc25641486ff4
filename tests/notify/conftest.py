"""Local webhook servers (pytest-httpserver on 127.0.0.1) standing in for Slack, Teams and a
generic receiver, a real audit log, and the pieces events are built from."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Record, Source
from leakstop.config.notifications import NotifierSettings
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.finding import Commit, Finding, Location, Severity, fingerprint, redact
from leakstop.notify.transport import RetryPolicy

#: Short waits so retry tests take milliseconds.
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, max_retry_after=5.0, max_elapsed=10.0)
#: A leaked value the tests make sure no payload, record or message ever carries.
LEAKED = "orbit_Kq7Wm2Xz9Lp4Vn8Rt3Bc6Hd1Fs5Gj0Ty"
#: Webhook URLs are credentials: their path never shows in an error or a record.
SLACK_PATH = "/services/T0LEAK5TOP/B0NOTIFY1/wHsEcReTpAtHnEvErShOwN"


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> HTTPServer:
    return httpserver_ipv4


@pytest.fixture
def audit_log(tmp_path: Path) -> AuditLog:
    return AuditLog.open(tmp_path / "audit", None)


@pytest.fixture
def context() -> Context:
    return Context("notify-tester", Source.CLI)


def records(audit_log: AuditLog) -> list[Record]:
    from leakstop.audit.query import Query, select

    return list(select(audit_log.folder, Query()))


def settings(
    kind: str = "slack", name: str = "chat", url_env: str = "HOOK_URL", **extra: Any
) -> NotifierSettings:
    return NotifierSettings(name, kind, url_env, **extra)


def secret(name: str = "payments/api-key", issuer: str | None = None) -> ManagedSecret:
    return ManagedSecret(
        name,
        StoreRef("local"),
        IssuerRef(issuer) if issuer else None,
        owners=("team-payments",),
    )


def finding(value: str = LEAKED, path: str = "deploy/app.env", line: int = 3) -> Finding:
    return Finding(
        rule_id="generic-api-key",
        description="an API key",
        severity=Severity.HIGH,
        location=Location(path, line, 9, line, 9 + len(value)),
        secret=value,
        fingerprint=fingerprint("generic-api-key", value, b"notify-tests"),
        entropy=4.5,
        context=f"KEY={redact(value, 6)}",
        commit=Commit("0123456789abcdef0123456789abcdef01234567", "Dev", "dev@example.com", "x"),
        public_prefix=6,
    )


def bodies(server: HTTPServer) -> list[Any]:
    return [json.loads(request.get_data()) for request, _ in server.log]


Respond = Callable[[], None]
