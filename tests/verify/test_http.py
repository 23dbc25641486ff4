"""The HTTP guard: declared hosts only, no redirects, bounded retries, Retry-After."""

from __future__ import annotations

import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WsgiRequest
from werkzeug import Response as WsgiResponse

from leakstop.errors import UsageError
from leakstop.verify.http import (
    GuardedHttp,
    HostNotAllowedError,
    HttpSettings,
    Request,
    TransportError,
    is_allowed_host,
    load_endpoints,
)

HOSTS = frozenset({"api.issuer.test"})


def client(server: HTTPServer, slept: list[float], **kw: float) -> GuardedHttp:
    base = server.url_for("").rstrip("/")
    values = {"timeout": 2.0, "retries": 2, "backoff": 0.25} | kw
    settings = HttpSettings(endpoints={"api.issuer.test": base}, **values)  # type: ignore[arg-type]
    return GuardedHttp(HOSTS, settings, slept.append)


def test_an_undeclared_host_is_refused_before_connecting(httpserver_ipv4: HTTPServer) -> None:
    http = client(httpserver_ipv4, [])
    with pytest.raises(HostNotAllowedError, match=r"other\.test"):
        http.send(Request("GET", "https://other.test/user"))
    with pytest.raises(HostNotAllowedError):
        http.send(Request("GET", "http://api.issuer.test/user"))  # plain http, even declared
    assert httpserver_ipv4.log == []


def test_a_redirect_to_another_host_is_not_followed(httpserver_ipv4: HTTPServer) -> None:
    # The second server plays the attacker's host: it must see nothing.
    other = HTTPServer(host="127.0.0.1")
    other.expect_request("/steal").respond_with_data("got it")
    other.start()
    try:
        httpserver_ipv4.expect_request("/user").respond_with_data(
            "", status=302, headers={"Location": other.url_for("/steal")}
        )
        response = client(httpserver_ipv4, []).send(Request("GET", "https://api.issuer.test/user"))
        assert response.status == 302
        assert other.log == []
    finally:
        other.stop()


def test_the_declared_host_travels_in_the_host_header(httpserver_ipv4: HTTPServer) -> None:
    httpserver_ipv4.expect_request("/user", headers={"Host": "api.issuer.test"}).respond_with_json(
        {}
    )
    response = client(httpserver_ipv4, []).send(Request("GET", "https://api.issuer.test/user"))
    assert response.status == 200
    assert response.host == "api.issuer.test"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("shop1.myshopify.com", True),
        ("SHOP1.myshopify.com.", True),
        ("a.b.myshopify.com", False),
        ("myshopify.com", False),
        ("evil.com", False),
        ("shop1.myshopify.com.evil.com", False),
        ("-bad.myshopify.com", False),
    ],
)
def test_wildcard_hosts_admit_one_label(host: str, allowed: bool) -> None:
    assert is_allowed_host(host, frozenset({"*.myshopify.com"})) is allowed


def test_429_waits_as_retry_after_says_then_retries(httpserver_ipv4: HTTPServer) -> None:
    httpserver_ipv4.expect_ordered_request("/user").respond_with_data(
        "", status=429, headers={"Retry-After": "3"}
    )
    httpserver_ipv4.expect_ordered_request("/user").respond_with_json({"login": "x"})
    slept: list[float] = []
    response = client(httpserver_ipv4, slept).send(Request("GET", "https://api.issuer.test/user"))
    assert response.status == 200
    assert slept == [3.0]


def test_a_retry_after_beyond_the_cap_ends_the_check(httpserver_ipv4: HTTPServer) -> None:
    httpserver_ipv4.expect_request("/user").respond_with_data(
        "", status=429, headers={"Retry-After": "3600"}
    )
    slept: list[float] = []
    http = client(httpserver_ipv4, slept, max_retry_after=30.0)
    assert http.send(Request("GET", "https://api.issuer.test/user")).status == 429
    assert slept == []
    assert len(httpserver_ipv4.log) == 1


def test_server_errors_are_retried_a_bounded_number_of_times(httpserver_ipv4: HTTPServer) -> None:
    httpserver_ipv4.expect_request("/user").respond_with_data("", status=503)
    slept: list[float] = []
    response = client(httpserver_ipv4, slept, retries=2).send(
        Request("GET", "https://api.issuer.test/user")
    )
    assert response.status == 503
    assert len(httpserver_ipv4.log) == 3
    assert slept == [0.25, 0.5]  # exponential backoff


def test_a_slow_server_times_out(httpserver_ipv4: HTTPServer) -> None:
    def slow(request: WsgiRequest) -> WsgiResponse:
        time.sleep(1.0)
        return WsgiResponse("late")

    httpserver_ipv4.expect_request("/user").respond_with_handler(slow)
    http = client(httpserver_ipv4, [], timeout=0.2, retries=1)
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"^api.issuer.test timed out$"):
        http.send(Request("GET", "https://api.issuer.test/user"))
    assert time.monotonic() - started < 1.5
    # Let the stand-in finish both slow answers, so they are not logged in the next test.
    deadline = time.monotonic() + 5
    while len(httpserver_ipv4.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(httpserver_ipv4.log) == 2


def test_an_unreachable_host_is_a_transport_error() -> None:
    settings = HttpSettings(endpoints={"api.issuer.test": "http://127.0.0.1:9"}, retries=0)
    http = GuardedHttp(HOSTS, settings, lambda s: None)
    with pytest.raises(TransportError, match=r"cannot reach api\.issuer\.test"):
        http.send(Request("GET", "https://api.issuer.test/bottoken/getMe"))


def test_endpoints_come_from_the_environment_and_are_checked() -> None:
    env = {"LEAKSTOP_VERIFY_ENDPOINTS": '{"API.github.com": "http://127.0.0.1:1/"}'}
    assert load_endpoints(env) == {"api.github.com": "http://127.0.0.1:1"}
    assert load_endpoints({}) == {}
    with pytest.raises(UsageError, match="not JSON"):
        load_endpoints({"LEAKSTOP_VERIFY_ENDPOINTS": "{"})
    with pytest.raises(UsageError, match="must map"):
        load_endpoints({"LEAKSTOP_VERIFY_ENDPOINTS": '{"a": 1}'})
