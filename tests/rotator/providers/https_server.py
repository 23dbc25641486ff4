"""A small HTTPS server on 127.0.0.1 for APIs with no offline emulator (Key Vault, Secret
Manager): a `trustme` CA signs its certificate, so the real SDKs verify TLS as they would
against the cloud. Each fake API is a `Route` function over its own in-memory state."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request], Response]


class HttpsServer:
    """Serves `route` over TLS (plain HTTP with `tls=False`, for a loopback-only API such as
    a token exchange leakstop allows over http://127.0.0.1) on a free 127.0.0.1 port until
    `stop()`. Every request is kept
    in `requests` (bodies included), so a test can search them for a value."""

    def __init__(self, route: Route, folder: Path, tls: bool = True) -> None:
        self.route = route
        self.requests: list[Request] = []
        #: The test CA's certificate, for clients to trust ("" without TLS).
        self.ca_file = ""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if tls:
            ca = trustme.CA()
            self.ca_file = str(folder / "test-ca.pem")
            ca.cert_pem.write_to_path(self.ca_file)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the tests read `requests`; stderr stays quiet

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                server.requests.append(request)
                response = server.route(request)
                payload = b"" if response.body is None else json.dumps(response.body).encode()
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def sent(self) -> bytes:
        """Everything clients sent (headers and bodies), to grep for a value."""
        return b"\n".join(
            json.dumps(r.headers).encode() + b"\n" + r.path.encode() + b"\n" + r.body
            for r in self.requests
        )
