"""A Microsoft Teams message: an Adaptive Card, as a Teams workflow webhook ("When a Teams
webhook request is received") and the older incoming webhooks take it.

Workflows accept Adaptive Cards only (not the retired connector MessageCard): a `message`
whose one attachment has `contentType: application/vnd.microsoft.card.adaptive` and the card
as `content`. Card schema 1.4 renders on Teams desktop, web and mobile.
"""

from __future__ import annotations

from typing import Any

from leakstop.finding import Severity
from leakstop.notify.event import Event
from leakstop.textsafe import sanitize

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
_COLORS = {
    Severity.CRITICAL: "Attention",
    Severity.HIGH: "Attention",
    Severity.MEDIUM: "Warning",
    Severity.LOW: "Default",
    Severity.INFO: "Default",
}


def payload(event: Event) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": plain(event.title),
            "size": "Medium",
            "weight": "Bolder",
            "color": _COLORS[event.severity],
            "wrap": True,
        },
        {"type": "TextBlock", "text": plain(event.summary), "wrap": True},
    ]
    if event.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": plain(f.label), "value": plain(f.value)} for f in event.facts],
            }
        )
    body.append(
        {
            "type": "TextBlock",
            "text": plain(
                f"leakstop · {event.name} · severity {event.severity.value} · {event.timestamp}"
            ),
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
        }
    )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def plain(text: str) -> str:
    """`text` shown as written: TextBlocks read a Markdown subset, so its marks are escaped."""
    escaped = sanitize(text)
    for mark in ("\\", "*", "_", "[", "]", "`", "#"):
        escaped = escaped.replace(mark, "\\" + mark)
    return escaped
