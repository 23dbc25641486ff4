"""Group the findings that make up one credential: an AWS secret access key and its access key
id, a Twilio API key secret and its SID, a Datadog API key and its application key.

A credential's *primary* finding is the secret; each *companion* is the nearest finding (by
line) of the companion's rules in the same file of the same commit. `verify` uses the groups
to build requests, `respond` to act once per credential rather than once per finding.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from leakstop.finding import Finding


@dataclass(frozen=True)
class Companion:
    """A part that completes a primary finding's credential."""

    #: The part's name (`access_key_id`), as verifiers ask for it.
    role: str
    #: Rules whose findings can play the part.
    rule_ids: tuple[str, ...]
    #: Without it the credential cannot be checked (vs. an optional extra, as Datadog's app key).
    required: bool = True


#: Primary rule id -> the companions its credential is made of.
COMPANIONS: Mapping[str, tuple[Companion, ...]] = MappingProxyType(
    {
        "aws-secret-access-key": (Companion("access_key_id", ("aws-access-key-id",)),),
        "twilio-auth-token": (Companion("sid", ("twilio-api-key-sid",)),),
        "datadog-api-key": (Companion("app_key", ("datadog-app-key",), required=False),),
        "alibaba-access-key-secret": (Companion("access_key_id", ("alibaba-access-key-id",)),),
        "tencent-cloud-secret-key": (Companion("secret_id", ("tencent-cloud-secret-id",)),),
        "scaleway-secret-key": (Companion("access_key", ("scaleway-access-key",)),),
    }
)


@dataclass(frozen=True)
class Credential:
    """One credential: its secret's finding and the findings that complete it."""

    primary: Finding
    #: Role -> the nearest finding playing it; a missing role was not found nearby.
    companions: Mapping[str, Finding] = field(default_factory=dict)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return (self.primary, *self.companions.values())

    def companion_secret(self, role: str) -> str | None:
        finding = self.companions.get(role)
        return finding.secret if finding is not None else None


def pair(
    findings: Sequence[Finding],
    companions: Mapping[str, Sequence[Companion]] = COMPANIONS,
) -> list[Credential]:
    """One Credential per finding that is not only a companion, in the findings' order.

    A companion finding may complete several primaries (one key id above two secrets) and is
    then in each. A finding of a companion rule that no primary claimed is a credential of its
    own, so every finding is in at least one credential.
    """
    by_place: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_place[_place(finding)].append(finding)
    credentials: list[Credential] = []
    claimed: set[int] = set()
    for finding in findings:
        parts = companions.get(finding.rule_id, ())
        if not parts:
            continue
        found: dict[str, Finding] = {}
        for part in parts:
            nearest = _nearest(finding, by_place[_place(finding)], part.rule_ids)
            if nearest is not None:
                found[part.role] = nearest
                claimed.add(id(nearest))
        credentials.append(Credential(finding, MappingProxyType(found)))
    primaries = {id(c.primary) for c in credentials}
    order = {id(f): index for index, f in enumerate(findings)}
    for finding in findings:
        if id(finding) not in primaries and id(finding) not in claimed:
            credentials.append(Credential(finding))
    credentials.sort(key=lambda c: order[id(c.primary)])
    return credentials


def _place(finding: Finding) -> tuple[str, str]:
    return finding.location.path, finding.commit.sha if finding.commit else ""


def _nearest(
    primary: Finding, candidates: Iterable[Finding], rule_ids: tuple[str, ...]
) -> Finding | None:
    line = primary.location.line
    matches = [f for f in candidates if f.rule_id in rule_ids and f is not primary]
    if not matches:
        return None
    # The closest line wins; on a tie the one above, as config files put the id first.
    return min(matches, key=lambda f: (abs(f.location.line - line), f.location.line > line))


def one_per_credential(
    findings: Sequence[Finding],
    companions: Mapping[str, Sequence[Companion]] = COMPANIONS,
) -> list[Finding]:
    """One finding per leak, for reports: a companion that completes a primary in the same
    file (an AWS access key id above its secret) is folded into it, and the primary is
    tagged `with:<companion rule>`. A companion found alone is still reported.

    Verification and responses pair findings themselves (`pair`), so call this last.
    """
    folded: set[int] = set()
    tags: dict[int, tuple[str, ...]] = {}
    for credential in pair(findings, companions):
        parts = [f for f in credential.companions.values() if f.rule_id not in companions]
        folded.update(id(part) for part in parts)
        if parts:
            tags[id(credential.primary)] = tuple(sorted({f"with:{p.rule_id}" for p in parts}))
    kept = []
    for finding in findings:
        if id(finding) in folded and id(finding) not in tags:
            continue
        extra = tuple(tag for tag in tags.get(id(finding), ()) if tag not in finding.tags)
        kept.append(dataclasses.replace(finding, tags=finding.tags + extra) if extra else finding)
    return kept
