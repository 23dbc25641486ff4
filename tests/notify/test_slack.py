"""The Slack payload, as it arrives at a local stand-in for an incoming webhook: Block Kit
blocks with Slack's documented limits, a plain `text` fallback, mrkdwn markup escaped."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from leakstop.finding import Severity
from leakstop.notify.event import Event, Fact
from leakstop.notify.events import leak_confirmed_event
from leakstop.notify.registry import build_notifiers
from leakstop.notify.slack import payload
from tests.notify.conftest import FAST, LEAKED, SLACK_PATH, bodies, finding, secret, settings


def test_a_leak_arrives_as_blocks_with_a_text_fallback(server: HTTPServer) -> None:
    server.expect_request(SLACK_PATH, method="POST").respond_with_data("ok")
    (notifier,) = build_notifiers(
        [settings("slack")], {"HOOK_URL": server.url_for(SLACK_PATH)}, FAST
    )
    event = leak_confirmed_event(finding(), secret())

    delivery = notifier.send(event)

    assert (delivery.status, delivery.attempts) == (200, 1)
    [(request, _)] = server.log
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    (body,) = bodies(server)
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("Leak confirmed: payments/api-key: The current value of")
    header, summary, fields, context = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Leak confirmed: payments/api-key"},
    }
    assert summary["type"] == "section"
    assert summary["text"]["type"] == "mrkdwn"
    assert summary["text"]["text"].startswith(":red_circle: The current value of")
    assert fields["type"] == "section"
    assert all(f["type"] == "mrkdwn" for f in fields["fields"])
    shown = [f["text"] for f in fields["fields"]]
    assert "*Found at*\ndeploy/app.env:3" in shown
    assert "*Rule*\ngeneric-api-key" in shown
    assert f"*Fingerprint*\n{finding().fingerprint}" in shown
    assert context["type"] == "context"
    assert "leak_confirmed" in context["elements"][0]["text"]
    assert LEAKED not in request.get_data(as_text=True)


def test_slack_limits_hold_for_long_and_many_facts() -> None:
    facts = tuple(Fact(f"k{n}", f"label {n}", "v" * 2500) for n in range(14))
    event = Event(None, Severity.INFO, "t" * 400, "s" * 5000, facts=facts)
    header, summary, fields, _ = payload(event)["blocks"]
    assert len(header["text"]["text"]) == 150
    assert len(summary["text"]["text"]) == 3000
    assert len(fields["fields"]) == 10
    assert all(len(f["text"]) <= 2000 for f in fields["fields"])


def test_repository_text_cannot_ping_a_channel_or_break_lines() -> None:
    hostile = finding(path="<!channel> & <https://evil.example|click>\n:x:")
    body = payload(leak_confirmed_event(hostile, secret()))
    texts = [body["text"], *(f["text"] for f in body["blocks"][2]["fields"])]
    assert not any("<" in text for text in texts)
    shown = "*Found at*\n&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;\\n:x::3"
    assert shown in texts
