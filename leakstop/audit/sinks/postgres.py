"""A PostgreSQL table as an audit sink, for teams that want SQL over their audit trail.

One row per record, in a table the sink creates when it is missing::

    id uuid PRIMARY KEY, seq bigint, "timestamp" timestamptz, action text, secret text,
    org text, actor text, actor_ip text, source text, details jsonb, success boolean,
    error text, prev text, mac text
    index <table>_secret_time on (secret, "timestamp")

A record sent twice (the audit log retrying, a resumed run) is stored once: the insert is
`ON CONFLICT (id) DO NOTHING`. `actor_ip` is text, not inet: a malformed address must not
cost the whole record.

psycopg comes with the `postgres` extra and is imported when a sink is made, not with this
module, so the default install runs without it. One connection per sink, opened by the first
`send`, in autocommit mode (each record is its own transaction); a connection that drops is
opened again once. The DSN's own parameters win over the sink's defaults (`connect_timeout`
10 s, `application_name`); libpq does not bound a query once connected, so a DSN that must
never wait on a locked table or a silent network adds e.g. `options=-c statement_timeout=10s`
and `tcp_user_timeout`.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from leakstop.audit.record import Record
from leakstop.audit.sinks import SinkError
from leakstop.config.audit import PostgresSinkSettings
from leakstop.textsafe import sanitize

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

log = logging.getLogger(__name__)

#: Shown in pg_stat_activity, unless the DSN names another.
APPLICATION_NAME = "leakstop audit sink"
#: Seconds to wait for a connection, unless the DSN says otherwise (libpq waits forever).
CONNECT_TIMEOUT = 10
#: Server messages can run to several lines (DETAIL, HINT); the error keeps this much.
_MAX_MESSAGE = 300

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    seq bigint NOT NULL,
    "timestamp" timestamptz NOT NULL,
    action text NOT NULL,
    secret text NOT NULL,
    org text NOT NULL,
    actor text NOT NULL,
    actor_ip text,
    source text NOT NULL,
    details jsonb NOT NULL,
    success boolean NOT NULL,
    error text,
    prev text NOT NULL,
    mac text NOT NULL
)
"""
_CREATE_INDEX = 'CREATE INDEX IF NOT EXISTS {index} ON {table} (secret, "timestamp")'
_INSERT = """
INSERT INTO {table}
    (id, seq, "timestamp", action, secret, org, actor, actor_ip, source, details, success,
     error, prev, mac)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO NOTHING
"""


class PostgresSink:
    """INSERTs each record into `settings.table` of the database `dsn` names.

    The constructor raises SinkError when psycopg is not installed or `dsn` does not parse;
    it does not connect. Messages never contain the DSN or its password.
    """

    def __init__(self, settings: PostgresSinkSettings, dsn: str) -> None:
        _require_psycopg()
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict

        try:
            params = conninfo_to_dict(dsn)
        except ProgrammingError:
            # `from None`: psycopg's message quotes the part that did not parse, which may be
            # the password.
            raise SinkError(
                f"audit sink postgres: ${settings.dsn_env} is not a valid PostgreSQL "
                f"connection string"
            ) from None
        self._settings = settings
        self._dsn = dsn
        password = params.get("password")
        self._password = str(password) if password else None
        self._extra: dict[str, Any] = {}
        if "application_name" not in params:
            self._extra["application_name"] = APPLICATION_NAME
        if "connect_timeout" not in params:
            self._extra["connect_timeout"] = CONNECT_TIMEOUT
        database = params.get("dbname") or params.get("user") or "?"
        host = params.get("host") or "localhost"
        self.name = sanitize(f"postgres {settings.table} in {database} on {host}")
        self._connection: psycopg.Connection[Any] | None = None

    def __repr__(self) -> str:
        return f"PostgresSink({self.name!r})"

    def send(self, record: Record) -> None:
        """INSERT `record` (once, whatever the retries); raises SinkError."""
        from psycopg import Error, OperationalError

        row = _row(record, self.name)
        was_open = self._connection is not None
        try:
            self._insert(row)
            return
        except OperationalError as exc:
            if not (was_open and self._is_dropped()):
                self._forget_if_dropped()
                raise self._error(exc) from exc
            log.info("audit sink %s: connection lost (%s); reconnecting", self.name, self._say(exc))
        except Error as exc:
            self._forget_if_dropped()
            raise self._error(exc) from exc
        # The connection opened for an earlier record was dropped (a server restart, an idle
        # timeout, a terminated backend): once more on a new one, which the insert's
        # idempotence makes safe.
        self.close()
        try:
            self._insert(row)
        except Error as exc:
            self._forget_if_dropped()
            raise self._error(exc) from exc

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def _insert(self, row: tuple[Any, ...]) -> None:
        from psycopg import sql

        connection = self._connect()
        connection.execute(sql.SQL(_INSERT).format(table=self._table()), row)

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg import sql

        if self._connection is not None:
            return self._connection
        connection = psycopg.connect(self._dsn, autocommit=True, **self._extra)
        try:
            table = self._table()
            index = sql.Identifier(self._settings.table.rsplit(".", 1)[-1] + "_secret_time")
            connection.execute(sql.SQL(_CREATE_TABLE).format(table=table))
            connection.execute(sql.SQL(_CREATE_INDEX).format(index=index, table=table))
        except psycopg.Error:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _table(self) -> sql.Identifier:
        from psycopg import sql

        # Validated as `name` or `schema.name` by the config; quoted here all the same.
        return sql.Identifier(*self._settings.table.split("."))

    def _is_dropped(self) -> bool:
        return self._connection is not None and (self._connection.broken or self._connection.closed)

    def _forget_if_dropped(self) -> None:
        if self._is_dropped():
            self.close()

    def _error(self, exc: Exception) -> SinkError:
        return SinkError(f"audit sink {self.name}: {self._say(exc)}")

    def _say(self, exc: Exception) -> str:
        """The server's or libpq's message on one line, without the password."""
        text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        if self._password:
            text = text.replace(self._password, "***")
        if len(text) > _MAX_MESSAGE:
            text = text[: _MAX_MESSAGE - 1] + "…"
        return sanitize(text) or type(exc).__name__


def _row(record: Record, name: str) -> tuple[Any, ...]:
    from psycopg.types.json import Jsonb

    try:
        identifier = uuid.UUID(record.id)
        moment = record.time
    except ValueError as exc:
        raise SinkError(f"audit sink {name}: record {record.seq} has no UUID or timestamp") from exc
    return (
        identifier,
        record.seq,
        moment,
        record.action.value,
        record.secret,
        record.org,
        record.actor,
        record.actor_ip,
        record.source.value,
        Jsonb(dict(record.details)),
        record.success,
        record.error,
        record.prev,
        record.mac,
    )


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise SinkError(
            "audit sink postgres: psycopg is not installed; pip install 'leakstop[postgres]'"
        ) from exc
