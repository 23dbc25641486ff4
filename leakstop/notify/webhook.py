"""A generic webhook: the event as JSON, optionally signed with HMAC-SHA256.

The request, one per event and attempt::

    POST <url>
    Content-Type: application/json; charset=utf-8
    Idempotency-Key: <the event's id, the same on every retry and every notifier>
    X-Leakstop-Event: <rotation_failed | ... | test>
    X-Leakstop-Timestamp: <Unix time of this attempt, whole seconds>
    X-Leakstop-Signature: sha256=<hex>     (only with signing_key_env)

    {"version": 1, "id": ..., "time": ..., "event": ..., "severity": ..., "title": ...,
     "summary": ..., "secret": ..., "org": ..., "facts": {"rule_id": ..., ...}}

The signature is the audit HTTP sink's: HMAC-SHA256 over `timestamp + "." + body` (the bytes
as sent) with the key as UTF-8, so one receiver can check both; a receiver refuses a timestamp
more than 5 minutes old, so a captured request cannot be replayed.
"""

from __future__ import annotations

import time
from typing import Any

from leakstop.audit.sinks.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from leakstop.notify.event import Event

PAYLOAD_VERSION = 1
EVENT_HEADER = "X-Leakstop-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def payload(event: Event) -> dict[str, Any]:
    return {
        "version": PAYLOAD_VERSION,
        "id": event.id,
        "time": event.timestamp,
        "event": event.name,
        "severity": event.severity.value,
        "title": event.title,
        "summary": event.summary,
        "secret": event.subject,
        "org": event.org,
        "facts": {fact.key: fact.value for fact in event.facts},
    }


def headers(event: Event, body: bytes, key: bytes | None) -> dict[str, str]:
    """The headers of one attempt: a fresh timestamp, signed with the body when there is a
    key."""
    timestamp = str(int(time.time()))
    result = {
        IDEMPOTENCY_HEADER: event.id,
        EVENT_HEADER: event.name,
        TIMESTAMP_HEADER: timestamp,
    }
    if key is not None:
        result[SIGNATURE_HEADER] = sign(key, timestamp, body)
    return result
