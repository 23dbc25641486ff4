"""moto in server mode on 127.0.0.1, checking SigV4 signatures (FIELD_NOTES: STS only checks
the secret when INITIAL_NO_AUTH_ACTION_COUNT is set)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import installed_tool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server(unauthenticated_actions: int) -> Iterator[str]:
    """The base URL of a fresh moto server; after `unauthenticated_actions` requests, every
    request must be signed by a key moto issued."""
    tool = installed_tool("moto_server")
    assert tool, "moto_server missing: pip install 'moto[server]'"
    port = free_port()
    env = os.environ | {"INITIAL_NO_AUTH_ACTION_COUNT": str(unauthenticated_actions)}
    process = subprocess.Popen(
        [tool, "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{base}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
