"""A fault-injecting reverse proxy on 127.0.0.1 in front of a provider's API (the local GitHub,
Key Vault or webhook receiver), for the response half's fault tests.

Requests pass through to the real test server unless a `Fault` matches them (method and a path
regex, for its next `times` requests): then the proxy answers a status of its own (500, 502,
503, 429 with `Retry-After`), sleeps past the client's timeout first, or forwards the request
and then runs a callback and drops the connection without an answer — the upstream did the
work, the client never hears of it (a server killed during a step).

TLS faults are the proxy's own certificate: signed by a CA the client was not given
(`tls="wrong-ca"`), or expired (`tls="expired"`); `ca_file` is always the CA the client trusts.
"""

from __future__ import annotations

import http.client
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import trustme

Tls = Literal["ok", "wrong-ca", "expired"]


@dataclass
class Fault:
    """What to do to the next `times` requests whose method and path match."""

    method: str
    path: str
    #: "status": answer `status` (with `headers`) without forwarding; "sleep": forward, then
    #: wait `delay` seconds before answering (a slow server: the work is done, the answer is
    #: late); "drop": forward, run `then`, close the connection unanswered.
    kind: Literal["status", "sleep", "drop"] = "status"
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    then: Callable[[], None] | None = None
    times: int = 1
    #: A regex the request body must match too (the webhook POSTs every step to one URL;
    #: AWS's query APIs name the action in the form body: `Action=CreateAccessKey`).
    body: str | None = None
    #: (header name, regex) the request must match too: AWS's JSON APIs post every action
    #: to `/` and name it in `X-Amz-Target` (`secretsmanager.PutSecretValue`).
    header: tuple[str, str] | None = None
    #: The body of a "status" answer, for APIs whose SDK reads an error code from it (an AWS
    #: `ThrottlingException`); a small JSON message by default.
    answer: bytes = b'{"message":"injected fault"}'

    def matches(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> bool:
        return (
            self.times > 0
            and self.method == method
            and re.search(self.path, path) is not None
            and (
                self.body is None
                or re.search(self.body, body.decode("utf-8", "replace")) is not None
            )
            and (
                self.header is None
                or re.search(self.header[1], headers.get(self.header[0], "") or "") is not None
            )
        )


class FaultProxy:
    """Forwards to `upstream` (http:// or https://, trusting `upstream_ca`) until `stop()`.
    `hits` lists the faults applied, as (method, path, kind, status)."""

    def __init__(
        self,
        upstream: str,
        folder: Path,
        *,
        tls: Tls | None = None,
        upstream_ca: str | None = None,
        preserve_host: bool = False,
    ) -> None:
        self.upstream = urlsplit(upstream)
        #: Forward the client's own Host header: a SigV4 signature covers it (moto checks).
        self._preserve_host = preserve_host
        self.faults: list[Fault] = []
        self.hits: list[tuple[str, str, str, int]] = []
        self._lock = threading.Lock()
        self._upstream_context = ssl.create_default_context(cafile=upstream_ca)
        trusted = trustme.CA()
        self.ca_file = str(folder / "proxy-ca.pem")
        trusted.cert_pem.write_to_path(self.ca_file)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            signer = trusted if tls != "wrong-ca" else trustme.CA()
            now = datetime.now(timezone.utc)
            validity = (
                {"not_before": now - timedelta(days=30), "not_after": now - timedelta(days=1)}
                if tls == "expired"
                else {}
            )
            signer.issue_cert("127.0.0.1", "localhost", **validity).configure_cert(context)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _take(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, body, headers):
                    fault.times -= 1
                    self.hits.append((method, path, fault.kind, fault.status))
                    return fault
        return None

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        fault = self._take(handler.command, handler.path, body, handler.headers)
        if fault is not None and fault.kind == "status":
            self._answer(handler, fault.status, fault.headers, fault.answer)
            return
        try:
            status, headers, answer = self._forward(handler, body)
        except OSError:
            # The upstream is down (a server killed by the test): the client sees what it
            # would see of a dead server, a connection closed without an answer.
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "sleep":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "drop":
            if fault.then is not None:
                fault.then()
            handler.close_connection = True
            return
        try:
            self._answer(handler, status, headers, answer)
        except OSError:
            # The client gave up waiting (a sleep fault): nobody is left to answer, and the
            # server thread's traceback would land in the test's captured stderr.
            handler.close_connection = True

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        host, port = self.upstream.hostname or "127.0.0.1", self.upstream.port
        connection: http.client.HTTPConnection
        if self.upstream.scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, context=self._upstream_context, timeout=30
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        headers["Host"] = (
            handler.headers.get("Host", "") if self._preserve_host else f"{host}:{port}"
        )
        try:
            connection.request(handler.command, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = [
                (k, v)
                for k, v in response.getheaders()
                if k.lower() not in ("transfer-encoding", "connection", "content-length")
            ]
            return response.status, kept, answer
        finally:
            connection.close()

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        status: int,
        headers: list[tuple[str, str]] | dict[str, str],
        body: bytes,
    ) -> None:
        handler.send_response(status)
        items = headers.items() if isinstance(headers, dict) else headers
        for name, value in items:
            handler.send_header(name, value)
        if not any(k.lower() == "content-type" for k, _ in items):
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
