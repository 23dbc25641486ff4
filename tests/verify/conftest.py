"""Findings and a local stand-in for issuers' APIs (pytest-httpserver on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.finding import Commit, Finding, Location, Severity, fingerprint
from leakstop.verify.base import CheckContext
from leakstop.verify.http import GuardedHttp, HttpSettings
from leakstop.verify.pairing import Credential
from leakstop.verify.runner import VerifyOptions

MakeFinding = Callable[..., Finding]


def make_finding(
    rule_id: str,
    secret: str,
    path: str = "app.env",
    line: int = 1,
    commit: str | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        description=rule_id,
        severity=Severity.HIGH,
        location=Location(path, line, 1, line, len(secret) + 1),
        secret=secret,
        fingerprint=fingerprint(rule_id, secret),
        entropy=4.0,
        commit=Commit(commit, "A", "a@example.com", "2026-01-01T00:00:00+00:00")
        if commit
        else None,
    )


class Issuer:
    """Runs a verifier against the local server standing in for its hosts."""

    def __init__(self, server: HTTPServer, root: Path) -> None:
        self.server = server
        self.root = root
        self.slept: list[float] = []

    def settings(self, hosts: frozenset[str], **kw: float) -> HttpSettings:
        base = self.server.url_for("").rstrip("/")
        # Wildcard hosts stand for one concrete name each in these tests.
        names = {h.replace("*.", "acct.") for h in hosts} | {h.replace("*", "shop") for h in hosts}
        values = {"timeout": 2.0, "retries": 0, "backoff": 0.01} | kw
        return HttpSettings(endpoints={name: base for name in names}, **values)  # type: ignore[arg-type]

    def context(
        self, hosts: frozenset[str], nearby: str | None = None, **kw: float
    ) -> CheckContext:
        http = GuardedHttp(hosts, self.settings(hosts, **kw), self.slept.append)
        return CheckContext(http, lambda finding: nearby, 2.0)

    def options(self, rules: dict[str, str], **kw: float) -> VerifyOptions:
        from leakstop.verify.registry import VERIFIERS

        hosts = frozenset(h for v in VERIFIERS.values() for h in v.hosts)
        return VerifyOptions(
            rules, root=self.root, http=self.settings(hosts, **kw), sleep=self.slept.append
        )


@pytest.fixture
def httpserver_ipv4(make_httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    """The plugin's server, emptied before and after each test (its own fixture keeps the
    request log across tests)."""
    make_httpserver_ipv4.clear()
    yield make_httpserver_ipv4
    make_httpserver_ipv4.clear()


@pytest.fixture
def issuer(httpserver_ipv4: HTTPServer, tmp_path: Path) -> Issuer:
    return Issuer(httpserver_ipv4, tmp_path)


def credential(finding: Finding, **companions: Finding) -> Credential:
    return Credential(finding, companions)
