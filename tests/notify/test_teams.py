"""The Teams payload, as a workflow webhook ("When a Teams webhook request is received")
documents it: a `message` with one Adaptive Card attachment."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from leakstop.finding import Severity
from leakstop.notify.event import Event, Fact
from leakstop.notify.events import leak_confirmed_event
from leakstop.notify.registry import build_notifiers
from leakstop.notify.teams import payload
from tests.notify.conftest import FAST, LEAKED, bodies, finding, secret, settings

WORKFLOW_PATH = "/workflows/abc123/triggers/manual/paths/invoke"


def test_an_adaptive_card_arrives_and_a_202_is_delivery(server: HTTPServer) -> None:
    # Workflows answer 202 Accepted.
    server.expect_request(WORKFLOW_PATH, method="POST").respond_with_data("", status=202)
    url = server.url_for(WORKFLOW_PATH) + "?api-version=1&sig=sEcReTsIgNaTuRe"
    (notifier,) = build_notifiers([settings("teams")], {"HOOK_URL": url}, FAST)

    delivery = notifier.send(leak_confirmed_event(finding(), secret()))

    assert delivery.status == 202
    (body,) = bodies(server)
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["version"] == "1.4"
    kinds = [element["type"] for element in card["body"]]
    assert kinds == ["TextBlock", "TextBlock", "FactSet", "TextBlock"]
    title = card["body"][0]
    assert title["text"] == "Leak confirmed: payments/api-key"
    assert (title["weight"], title["color"], title["wrap"]) == ("Bolder", "Attention", True)
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert facts["Found at"] == "deploy/app.env:3"
    assert facts["Owners"] == "team-payments"
    assert LEAKED not in str(body)


def test_markdown_in_foreign_text_is_shown_literally() -> None:
    event = Event(
        None,
        Severity.MEDIUM,
        "t",
        "s",
        facts=(Fact("path", "Found at", "[click](https://evil.example) **x**"),),
    )
    card = payload(event)["attachments"][0]["content"]
    (fact,) = card["body"][2]["facts"]
    assert fact["value"] == "\\[click\\](https://evil.example) \\*\\*x\\*\\*"
    assert card["body"][0]["color"] == "Warning"
