"""Delivery against a local server: retries on 5xx and 429 (Retry-After honoured), none on
other 4xx or redirects, bounded attempts, and a webhook URL that never shows in an error."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from leakstop.notify.base import NotifyError
from leakstop.notify.events import probe_event
from leakstop.notify.registry import build_notifiers
from leakstop.notify.transport import display_url, url_problem
from tests.notify.conftest import FAST, SLACK_PATH, settings


def _answers(server: HTTPServer, statuses: list[tuple[int, dict[str, str], str]]) -> list[float]:
    """Answer successive requests with `statuses` (then 200); returns when each arrived."""
    times: list[float] = []

    def handler(request: Request) -> Response:
        times.append(time.monotonic())
        index = len(times) - 1
        status, headers, text = statuses[index] if index < len(statuses) else (200, {}, "ok")
        return Response(text, status=status, headers=headers)

    server.expect_request(SLACK_PATH, method="POST").respond_with_handler(handler)
    return times


def test_a_500_then_a_503_are_retried_and_one_message_arrives(server: HTTPServer) -> None:
    times = _answers(server, [(500, {}, "oops"), (503, {}, "busy")])
    (notifier,) = build_notifiers([settings()], {"HOOK_URL": server.url_for(SLACK_PATH)}, FAST)
    delivery = notifier.send(probe_event("chat"))
    assert (delivery.status, delivery.attempts) == (200, 3)
    assert len(times) == 3
    first, *_, last = (request.get_data() for request, _ in server.log)
    assert first == last


def test_a_429_waits_for_retry_after(server: HTTPServer) -> None:
    times = _answers(server, [(429, {"Retry-After": "1"}, "rate_limited")])
    (notifier,) = build_notifiers([settings()], {"HOOK_URL": server.url_for(SLACK_PATH)}, FAST)
    assert notifier.send(probe_event("chat")).attempts == 2
    # FAST's own backoff is at most 0.05 s: the wait seen is the server's second.
    assert times[1] - times[0] >= 0.95


def test_attempts_are_bounded_and_the_error_hides_the_url(server: HTTPServer) -> None:
    times = _answers(server, [(502, {}, "bad gateway")] * 10)
    (notifier,) = build_notifiers(
        [settings(retries=2)], {"HOOK_URL": server.url_for(SLACK_PATH)}, FAST
    )
    with pytest.raises(NotifyError) as caught:
        notifier.send(probe_event("chat"))
    assert len(times) == 3
    assert caught.value.attempts == 3
    message = str(caught.value)
    host = f"http://127.0.0.1:{server.port}"
    assert message == f"notifier chat ({host}): HTTP 502 BAD GATEWAY: bad gateway after 3 attempts"
    assert "services" not in message


@pytest.mark.parametrize(("status", "answer"), [(400, "invalid_blocks"), (404, "no_service")])
def test_a_4xx_is_not_retried_and_says_why(server: HTTPServer, status: int, answer: str) -> None:
    times = _answers(server, [(status, {}, answer)])
    (notifier,) = build_notifiers([settings()], {"HOOK_URL": server.url_for(SLACK_PATH)}, FAST)
    with pytest.raises(NotifyError, match=f"HTTP {status} .*: {answer}$"):
        notifier.send(probe_event("chat"))
    assert len(times) == 1


def test_a_redirect_is_not_followed(server: HTTPServer) -> None:
    times = _answers(server, [(302, {"Location": "http://127.0.0.1:9/elsewhere"}, "")])
    (notifier,) = build_notifiers([settings()], {"HOOK_URL": server.url_for(SLACK_PATH)}, FAST)
    with pytest.raises(NotifyError, match="redirects are not followed"):
        notifier.send(probe_event("chat"))
    assert len(times) == 1


def test_a_server_that_is_down_fails_after_the_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "http://127.0.0.1:9" + SLACK_PATH  # the discard port: nothing listens
    (notifier,) = build_notifiers([settings(retries=1)], {"HOOK_URL": url}, FAST)
    with (
        caplog.at_level(logging.INFO),
        pytest.raises(NotifyError, match="cannot connect") as caught,
    ):
        notifier.send(probe_event("chat"))
    assert caught.value.attempts == 2
    assert SLACK_PATH not in caplog.text
    assert SLACK_PATH not in str(caught.value)


def test_urls_leakstop_will_not_post_to() -> None:
    assert url_problem("https://hooks.slack.com" + SLACK_PATH) is None
    assert url_problem("http://localhost:8080/x") is None
    for bad in ("http://hooks.slack.com/x", "ftp://x/y", "https:///x", "https://a b/c"):
        problem = url_problem(bad)
        assert problem is not None
        assert bad not in problem
    assert display_url("https://u:p@hooks.slack.com:443" + SLACK_PATH + "?sig=s") == (
        "https://hooks.slack.com:443"
    )


def test_an_unset_or_plain_http_url_fails_each_send_without_a_request() -> None:
    unset, remote = build_notifiers(
        [settings(name="a"), settings(name="b", url_env="OTHER")],
        {"OTHER": "http://hooks.slack.com" + SLACK_PATH},
        FAST,
    )
    with pytest.raises(NotifyError, match=r"^notifier a: \$HOOK_URL is not set$"):
        unset.send(probe_event("a"))
    with pytest.raises(NotifyError, match="must use https://") as caught:
        remote.send(probe_event("b"))
    assert SLACK_PATH not in str(caught.value)


@pytest.fixture
def https_server() -> Iterator[tuple[HTTPServer, trustme.CA]]:
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server, ca
    server.clear()
    server.stop()


def test_https_with_a_private_ca_from_ssl_cert_file(
    https_server: tuple[HTTPServer, trustme.CA],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, ca = https_server
    server.expect_request(SLACK_PATH, method="POST").respond_with_data("ok")
    url = server.url_for(SLACK_PATH)
    assert url.startswith("https://127.0.0.1:")

    (untrusting,) = build_notifiers([settings()], {"HOOK_URL": url}, FAST)
    with pytest.raises(NotifyError, match="TLS certificate not trusted") as caught:
        untrusting.send(probe_event("chat"))
    assert caught.value.attempts == 1  # retrying will not make a certificate valid
    assert server.log == []

    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    (trusting,) = build_notifiers([settings()], {"HOOK_URL": url}, FAST)
    assert trusting.send(probe_event("chat")).status == 200
    assert len(server.log) == 1
