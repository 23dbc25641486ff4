"""The HTTP sink against real local servers (pytest-httpserver on 127.0.0.1, HTTPS with a
trustme CA): what arrives, how it is signed, what is retried, how long it may take."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from leakstop import __version__
from leakstop.audit.record import canonical
from leakstop.audit.sinks import SinkError
from leakstop.audit.sinks.http import HttpSink, RetryPolicy
from leakstop.config.audit import HttpSinkSettings
from tests.audit.sinks.conftest import MakeRecord

KEY = b"siem-key-NEVER-SHOWN-5f0c2a"
#: Short waits so the retry tests take milliseconds, not seconds.
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, max_retry_after=5.0, max_elapsed=10.0)


def _sink(
    url: str,
    key: bytes | None = KEY,
    retries: int = 3,
    timeout: float = 2.0,
    ca_file: Path | None = None,
    policy: RetryPolicy = FAST,
) -> HttpSink:
    settings = HttpSinkSettings(url, "SIEM_KEY", timeout, retries)
    return HttpSink(settings, key, ca_file=ca_file, policy=policy)


def _expected_signature(key: bytes, timestamp: str, body: bytes) -> str:
    # Written out as the module docstring tells a SIEM team, not through leakstop's `sign`.
    return "sha256=" + hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> HTTPServer:
    # Bound to 127.0.0.1 (not "localhost", which may be ::1 first), a free port.
    return httpserver_ipv4


def _arrivals(server: HTTPServer, statuses: list[tuple[int, dict[str, str]]]) -> list[float]:
    """Answer successive requests with `statuses` (then 200); returns when each arrived."""
    times: list[float] = []

    def handler(request: Request) -> Response:
        times.append(time.monotonic())
        index = len(times) - 1
        status, headers = statuses[index] if index < len(statuses) else (200, {})
        return Response("answer", status=status, headers=headers)

    server.expect_request("/audit", method="POST").respond_with_handler(handler)
    return times


def test_the_canonical_record_arrives_signed(server: HTTPServer, make_record: MakeRecord) -> None:
    server.expect_request("/audit", method="POST").respond_with_data("ok")
    record = make_record()
    before = int(time.time())
    _sink(server.url_for("/audit")).send(record)

    [(request, response)] = server.log
    assert response.status_code == 200
    body = request.get_data()
    assert body == canonical(record.to_json())
    assert json.loads(body) == record.to_json()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"leakstop/{__version__}"
    assert request.headers["Idempotency-Key"] == record.id
    timestamp = request.headers["X-Leakstop-Timestamp"]
    assert before <= int(timestamp) <= time.time() + 1
    signature = request.headers["X-Leakstop-Signature"]
    assert hmac.compare_digest(signature, _expected_signature(KEY, timestamp, body))
    # The timestamp is covered: the same body under another time does not verify.
    assert signature != _expected_signature(KEY, str(int(timestamp) + 1), body)


def test_without_a_key_nothing_is_signed(server: HTTPServer, make_record: MakeRecord) -> None:
    server.expect_request("/audit", method="POST").respond_with_data("ok")
    _sink(server.url_for("/audit"), key=None).send(make_record())
    [(request, _)] = server.log
    assert "X-Leakstop-Signature" not in request.headers
    assert "X-Leakstop-Timestamp" in request.headers


def test_a_500_is_retried_and_the_record_arrives_once(
    server: HTTPServer, make_record: MakeRecord
) -> None:
    times = _arrivals(server, [(500, {})])
    record = make_record()
    _sink(server.url_for("/audit")).send(record)

    assert len(times) == 2
    first, second = (request for request, _ in server.log)
    assert [response.status_code for _, response in server.log] == [500, 200]
    assert first.get_data() == second.get_data() == canonical(record.to_json())
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == record.id
    for request in (first, second):  # each attempt signed for its own timestamp
        timestamp = request.headers["X-Leakstop-Timestamp"]
        expected = _expected_signature(KEY, timestamp, request.get_data())
        assert request.headers["X-Leakstop-Signature"] == expected


def test_retry_after_on_429_is_honoured(server: HTTPServer, make_record: MakeRecord) -> None:
    times = _arrivals(server, [(429, {"Retry-After": "1"})])
    _sink(server.url_for("/audit")).send(make_record())
    assert len(times) == 2
    # The backoff alone would wait at most 0.01 s.
    assert 0.95 <= times[1] - times[0] < 3


def test_retry_after_on_503_is_capped(server: HTTPServer, make_record: MakeRecord) -> None:
    policy = RetryPolicy(base_delay=0.01, max_retry_after=0.3, max_elapsed=10.0)
    times = _arrivals(server, [(503, {"Retry-After": "3600"})])
    _sink(server.url_for("/audit"), policy=policy).send(make_record())
    assert len(times) == 2
    assert 0.28 <= times[1] - times[0] < 1.5


def test_a_400_is_not_retried(server: HTTPServer, make_record: MakeRecord) -> None:
    times = _arrivals(server, [(400, {})] * 5)
    with pytest.raises(SinkError, match=r"HTTP 400 BAD REQUEST$") as caught:
        _sink(server.url_for("/audit")).send(make_record())
    assert len(times) == 1
    assert str(caught.value).startswith(f"audit sink http http://127.0.0.1:{server.port}/audit:")


def test_a_redirect_is_not_followed(server: HTTPServer, make_record: MakeRecord) -> None:
    server.expect_request("/audit", method="POST").respond_with_response(
        Response(status=307, headers={"Location": server.url_for("/elsewhere")})
    )
    server.expect_request("/elsewhere").respond_with_data("ok")
    with pytest.raises(SinkError, match=r"HTTP 307 .*\(redirects are not followed\)$"):
        _sink(server.url_for("/audit")).send(make_record())
    assert [request.path for request, _ in server.log] == ["/audit"]


def test_every_attempt_failing_raises_after_the_retries(
    server: HTTPServer, make_record: MakeRecord
) -> None:
    times = _arrivals(server, [(502, {})] * 10)
    with pytest.raises(SinkError, match="HTTP 502 BAD GATEWAY after 3 attempts"):
        _sink(server.url_for("/audit"), retries=2).send(make_record())
    assert len(times) == 3


def test_after_a_failure_the_next_record_gets_one_attempt_until_one_arrives(
    server: HTTPServer, make_record: MakeRecord
) -> None:
    statuses = [(500, {})] * 4 + [(200, {}), (500, {}), (500, {}), (500, {})]
    times = _arrivals(server, statuses)
    sink = _sink(server.url_for("/audit"), retries=2)
    with pytest.raises(SinkError, match="after 3 attempts"):
        sink.send(make_record())
    assert len(times) == 3
    with pytest.raises(SinkError, match=r"HTTP 500 INTERNAL SERVER ERROR$"):
        sink.send(make_record())
    assert len(times) == 4
    sink.send(make_record())  # delivered: the sink is trusted again
    assert len(times) == 5
    with pytest.raises(SinkError, match="after 3 attempts"):
        sink.send(make_record())
    assert len(times) == 8


def test_a_dead_port_fails_after_the_retries_in_bounded_time(make_record: MakeRecord) -> None:
    sink = _sink(f"http://127.0.0.1:{_free_port()}/audit", retries=3)
    started = time.monotonic()
    with pytest.raises(SinkError, match=r"cannot connect \(.*refused.*\) after 4 attempts"):
        sink.send(make_record())
    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_is_given_up_on_at_max_elapsed(
    make_record: MakeRecord,
) -> None:
    with socket.socket() as silent:
        # Connections complete into the backlog; nothing ever reads or answers them.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/audit"
        policy = RetryPolicy(base_delay=0.01, max_delay=0.01, max_elapsed=0.8)
        sink = _sink(url, retries=20, timeout=0.3, policy=policy)
        started = time.monotonic()
        expected = r"no answer within 0\.\d s; out of time \(0\.8 s\) after \d attempts$"
        with pytest.raises(SinkError, match=expected):
            sink.send(make_record())
        elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 1.6


@pytest.mark.parametrize(
    "url",
    [
        "http://siem.example/audit",
        "http://10.0.0.5/audit",
        "ftp://127.0.0.1/audit",
        "https:///audit",
        "https://user:pass@siem.example/audit",
        "https://siem.example:port/audit",
        "https://siem.example/aüdit",
        "https://siem.example/audit path",
        "https://siem.example/audit\r\nX-Injected: 1",
    ],
)
def test_urls_it_will_not_send_to(url: str) -> None:
    with pytest.raises(SinkError, match="audit sink http") as caught:
        _sink(url)
    assert "pass@" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/a", "http://localhost/a", "http://[::1]:9/a", "https://x.example/"]
)
def test_urls_it_accepts(url: str) -> None:
    assert _sink(url).name == f"http {url}"


def test_the_name_leaves_out_the_query(server: HTTPServer, make_record: MakeRecord) -> None:
    server.expect_request("/audit").respond_with_data("no", status=403)
    sink = _sink(server.url_for("/audit") + "?token=collector-token-xyz")
    with pytest.raises(SinkError) as caught:
        sink.send(make_record())
    assert "collector-token-xyz" not in str(caught.value)
    assert "collector-token-xyz" not in sink.name
    [(request, _)] = server.log
    assert request.args["token"] == "collector-token-xyz"


# HTTPS


@pytest.fixture(scope="module")
def test_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_server(test_ca: trustme.CA) -> Iterator[HTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    test_ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def https(https_server: HTTPServer) -> HTTPServer:
    https_server.clear()
    return https_server


def test_https_with_the_test_ca(
    https: HTTPServer, test_ca: trustme.CA, tmp_path: Path, make_record: MakeRecord
) -> None:
    ca_file = tmp_path / "ca.pem"
    test_ca.cert_pem.write_to_path(str(ca_file))
    https.expect_request("/audit", method="POST").respond_with_data("ok")
    record = make_record()
    url = https.url_for("/audit")
    assert url.startswith("https://127.0.0.1:")
    _sink(url, ca_file=ca_file).send(record)
    [(request, _)] = https.log
    assert request.get_data() == canonical(record.to_json())


@pytest.mark.parametrize("trust", ["another CA", "the system store"])
def test_https_refuses_an_untrusted_certificate(
    trust: str, https: HTTPServer, tmp_path: Path, make_record: MakeRecord
) -> None:
    ca_file = None
    if trust == "another CA":
        ca_file = tmp_path / "other.pem"
        trustme.CA().cert_pem.write_to_path(str(ca_file))
    https.expect_request("/audit", method="POST").respond_with_data("ok")
    with pytest.raises(SinkError, match=r"TLS certificate not trusted \(.+\)$") as caught:
        _sink(https.url_for("/audit"), ca_file=ca_file).send(make_record())
    assert "attempts" not in str(caught.value)  # not retried
    assert https.log == []


def test_the_key_is_in_no_message_log_or_repr(
    server: HTTPServer,
    https: HTTPServer,
    make_record: MakeRecord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    statuses = [(500, {}), (500, {}), (400, {}), (429, {"Retry-After": "0"}), (500, {})]
    _arrivals(server, statuses)
    messages = []
    sinks = [
        _sink(server.url_for("/audit"), retries=1),
        _sink(server.url_for("/audit"), retries=1),
        _sink(server.url_for("/audit"), retries=1),
        _sink(f"http://127.0.0.1:{_free_port()}/audit", retries=1),
        _sink(https.url_for("/audit")),
    ]
    for sink in sinks:
        with pytest.raises(SinkError) as caught:
            sink.send(make_record())
        messages += [str(caught.value), repr(sink), sink.name]
    assert len(messages) == 15
    assert "retrying" in caplog.text
    text = "\n".join([*messages, caplog.text])
    assert KEY.decode() not in text
    assert KEY.hex() not in text
