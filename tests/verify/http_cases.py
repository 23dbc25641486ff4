"""What every HTTP verifier test shares: a `Case` (the request a verifier must make and the
answers it gets), the calls that run one against the local issuer, and the token stand-in."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential
from leakstop.verify.registry import VERIFIERS
from tests.verify.conftest import Issuer, make_finding

T = "Tk9vQ2xqZ3Jx0aXhY4p7Lm2Nb8Vc5Zw1Qe6Rt3Yu"  # stands for any token in the table


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Case:
    verifier: str
    path: str
    headers: dict[str, str]
    method: str = "GET"
    secret: str = T
    query: dict[str, str] | None = None
    live: Any = field(default_factory=dict)
    dead: tuple[int, Any] = (401, {"error": "unauthorized"})
    companions: dict[str, str] = field(default_factory=dict)
    nearby: str | None = None


def bearer(verifier: str, path: str, **kw: Any) -> Case:
    return Case(verifier, path, {"Authorization": f"Bearer {T}"}, **kw)


def run(issuer: Issuer, case: Case) -> tuple[Status, str]:
    verifier = VERIFIERS[case.verifier]
    primary = make_finding("rule", case.secret, line=5)
    companions = {
        role: make_finding("companion", value, line=4) for role, value in case.companions.items()
    }
    context = issuer.context(verifier.hosts, case.nearby)
    outcome = verifier.check(Credential(primary, companions), context)
    return outcome.status, outcome.reason


def expect(issuer: Issuer, case: Case) -> Any:
    return issuer.server.expect_request(
        case.path, method=case.method, headers=case.headers, query_string=case.query
    )
