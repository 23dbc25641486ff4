"""One leak, one finding: a rule that names a credential (a key's id) yields to the rule
that reports the credential itself when both match the same document.

A Google service-account key file holds `private_key_id` and `private_key`: one key, which
the private key's finding stands for (its remediation names the id). Pairs that a live
check needs together (an AWS key id and its secret) are kept apart here and folded after
verification, by `leakstop.verify.pairing.one_per_credential`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Protocol, TypeVar

#: Rule id -> prefixes of the rule ids whose finding stands for the same leak.
SUPERSEDED_BY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "gcp-service-account-key-id": ("private-key-", "gcp-service-account-private-key"),
    }
)
#: Lines between the two findings for them to be one document (a key file is ~13 lines;
#: minified or embedded JSON puts both on one line).
NEARBY_LINES = 12


class _Located(Protocol):
    @property
    def rule_id(self) -> str: ...

    @property
    def line(self) -> int: ...


_Hit = TypeVar("_Hit", bound=_Located)


def drop_superseded(hits: Sequence[_Hit]) -> list[_Hit]:
    """`hits` without those whose leak another hit nearby already reports."""
    if not any(hit.rule_id in SUPERSEDED_BY for hit in hits):
        return list(hits)
    kept = []
    for hit in hits:
        covering = SUPERSEDED_BY.get(hit.rule_id)
        if covering and any(
            other.rule_id.startswith(covering) and abs(other.line - hit.line) <= NEARBY_LINES
            for other in hits
            if other is not hit
        ):
            continue
        kept.append(hit)
    return kept
