"""A Slack incoming webhook message: Block Kit blocks and a plain `text` fallback.

Slack shows `text` in notifications and where blocks cannot be shown. Limits it documents:
a header's text at most 150 characters, a section's 3,000, at most 10 fields per section,
2,000 characters each. Text from a repository (paths, names) is escaped: `<`, `>` and `&` are
mrkdwn markup (`<!channel>` would ping everyone).
"""

from __future__ import annotations

from typing import Any

from leakstop.finding import Severity
from leakstop.notify.event import Event
from leakstop.textsafe import sanitize

_HEADER_MAX = 150
_SECTION_MAX = 3000
_FIELDS_MAX = 10
_FIELD_MAX = 2000
_MARKS = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":red_circle:",
    Severity.MEDIUM: ":large_orange_circle:",
    Severity.LOW: ":large_blue_circle:",
    Severity.INFO: ":information_source:",
}


def payload(event: Event) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(sanitize(event.title), _HEADER_MAX)},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _cut(f"{_MARKS[event.severity]} {escape(event.summary)}", _SECTION_MAX),
            },
        },
    ]
    if event.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {
                        "type": "mrkdwn",
                        "text": _cut(f"*{escape(f.label)}*\n{escape(f.value)}", _FIELD_MAX),
                    }
                    for f in event.facts[:_FIELDS_MAX]
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": escape(
                        f"leakstop · {event.name} · severity {event.severity.value} · "
                        f"{event.timestamp}"
                    ),
                }
            ],
        }
    )
    # The fallback is mrkdwn too: unescaped, a path could still ping a channel from it.
    return {"text": escape(f"{event.title}: {event.summary}"), "blocks": blocks}


def escape(text: str) -> str:
    """`text` as literal mrkdwn: control characters shown escaped, `& < >` as entities."""
    return sanitize(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
