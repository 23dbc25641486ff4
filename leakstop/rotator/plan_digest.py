"""The response plan's digest: what an approval is given for.

A person approves a plan (the `plan` job's summary); the `apply` job derives the plan again
and applies it only if its digest is the approved one. The digest covers what decides an
action — which credential (fingerprint, never the value), where, whether and how it is
confirmed, what is done to it and by whom — in a canonical form: sorted, no timestamps, no
live-check reasons (their wording and timing may change between two runs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from leakstop.rotator.policy import PlanEntry

#: Bumped when the canonical form changes, so an old digest never matches by accident.
DIGEST_VERSION = 1


def canonical_entries(entries: Sequence[PlanEntry]) -> list[dict[str, Any]]:
    """The plan entries as the digest sees them, sorted by fingerprint."""
    rows = [
        {
            "fingerprint": entry.finding.fingerprint,
            "rule_id": entry.finding.rule_id,
            "path": entry.finding.location.path,
            "line": entry.finding.location.line,
            "confirmed": entry.confirmed,
            "managed_secret": entry.managed,
            "action": entry.action if entry.confirmed or entry.action else "none",
            "provider": entry.provider,
            "parts": sorted(part.fingerprint for part in entry.parts),
        }
        for entry in entries
    ]
    return sorted(rows, key=lambda row: (row["fingerprint"], row["path"], row["line"]))


def plan_digest(entries: Sequence[PlanEntry]) -> str:
    """SHA-256 (hex) of the canonical plan; the same plan always gives the same digest."""
    document = {"version": DIGEST_VERSION, "entries": canonical_entries(entries)}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_digest(text: str) -> bool:
    """A SHA-256 in hex, as --expect-digest takes it."""
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
