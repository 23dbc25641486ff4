"""A receiving service for the webhook issuer's tests, as the webhook module's docstring tells
its authors to write one: it checks the signature over the raw body (constant time), the
timestamp against its clock and the body, and refuses a repeated id; then it acts on the step
against its own set of working credentials, as the service whose password is rotated would."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from leakstop.rotator.providers.webhook import REPLAY_WINDOW


class Receiver:
    def __init__(self, server: HTTPServer, key: bytes, working: set[bytes]) -> None:
        self.key = key
        #: The credentials the service accepts right now.
        self.working = set(working)
        self.bodies: list[bytes] = []
        self.steps: list[dict[str, Any]] = []
        self.seen_ids: set[str] = set()
        #: Answer this status to these steps (a service that refuses the new value).
        self.fail: dict[str, int] = {}
        self._before_apply: set[bytes] = set()
        server.expect_request("/hook", method="POST").respond_with_handler(self.handle)
        self.url = server.url_for("/hook")

    def fingerprint(self, value: bytes) -> str:
        return "hmac-sha256:" + hmac.new(self.key, value, hashlib.sha256).hexdigest()[:32]

    def handle(self, request: Request) -> Response:
        body = request.get_data()
        self.bodies.append(body)
        expected = "sha256=" + hmac.new(self.key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Leakstop-Signature", "")):
            return Response("bad signature", status=401)
        step = json.loads(body)
        stamp = request.headers.get("X-Leakstop-Timestamp", "")
        if stamp != str(step["timestamp"]) or abs(time.time() - int(stamp)) > REPLAY_WINDOW:
            return Response("stale", status=401)
        if step["id"] in self.seen_ids:
            return Response("replayed", status=409)
        self.seen_ids.add(step["id"])
        self.steps.append(step)
        if step["step"] in self.fail:
            return Response("refused", status=self.fail[step["step"]])
        return self._act(step)

    def _act(self, step: dict[str, Any]) -> Response:
        kind = step["step"]
        if kind == "apply":
            self._before_apply = set(self.working)
            self.working.add(step["value"].encode())
        elif kind == "test":
            if step["value"].encode() not in self.working:
                return Response("does not log in", status=403)
        elif kind == "revoke":
            self.working = {v for v in self.working if self.fingerprint(v) != step["fingerprint"]}
        elif kind == "rollback":
            self.working = {
                v for v in self.working if self.fingerprint(v) != step["abandoned_fingerprint"]
            }
        return Response(status=204)
