"""Which finding goes to which provider, and what it would do: the response plan.

A rule names the provider that can act on its credentials (`respond: {provider, action}`);
findings without one need a person. Only confirmed findings may be rotated automatically
(DESIGN.md): until live verification exists no finding is confirmed, so every plan entry is
marked as needing confirmation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from leakstop.config.respond import RespondPolicy, Response
from leakstop.config.secrets import ManagedSecret
from leakstop.finding import Finding
from leakstop.rules.model import Rule

#: What each provider would do, for the plan's reader.
PROVIDER_ACTIONS = {
    ("github", "revoke"): "revoke through GitHub's credential revocation API",
    ("aws", "rotate"): "create a new IAM access key, test it, then deactivate and delete this one",
    ("webhook", "notify"): "notify the owners through the configured webhook",
}


@dataclass(frozen=True)
class PlanEntry:
    finding: Finding
    provider: str | None
    action: str | None
    #: What would happen, in words.
    effect: str
    confirmed: bool = False
    #: The managed secret this finding is a leak of (confirmed: its current value).
    managed: str | None = None


def plan(
    findings: Sequence[Finding],
    rules: Sequence[Rule],
    confirmed: Mapping[str, ManagedSecret] | None = None,
    policy: RespondPolicy | None = None,
) -> list[PlanEntry]:
    """One entry per distinct secret (and one per managed secret, however many findings leak
    it). A finding confirmed as a managed secret is planned for rotation; others get what
    their rule's `respond:` names, marked as needing confirmation, or nothing."""
    by_id = {rule.id: rule for rule in rules}
    confirmed = confirmed or {}
    entries = []
    seen: set[str] = set()
    for finding in findings:
        managed = confirmed.get(finding.fingerprint)
        key = f"managed:{managed.org}/{managed.name}" if managed else finding.fingerprint
        if key in seen:
            continue  # one secret, one response, however many places it appears
        seen.add(key)
        if managed is not None:
            response = (policy or RespondPolicy()).for_rule(finding.rule_id)
            effect = _confirmed_effect(managed, response)
            entries.append(
                PlanEntry(
                    finding, managed.store.provider, response.value, effect, True, managed.name
                )
            )
            continue
        rule = by_id.get(finding.rule_id)
        respond = rule.respond if rule else None
        if respond is not None:
            effect = PROVIDER_ACTIONS.get(
                (respond.provider, respond.action.value),
                f"{respond.action.value} through the {respond.provider} provider",
            )
            entries.append(PlanEntry(finding, respond.provider, respond.action.value, effect))
            continue
        effect = "no provider can act on this credential: rotate it by hand"
        if rule is not None:
            effect += f" ({_first_sentence(rule.remediation)})"
        entries.append(PlanEntry(finding, None, None, effect))
    return entries


def _confirmed_effect(managed: ManagedSecret, response: Response) -> str:
    if response is Response.ROTATE:
        how = f"issuer {managed.issuer.provider}" if managed.issuer else "a new value"
        return (
            f"rotate managed secret {managed.name} in {managed.store.provider} ({how}), "
            "then revoke the leaked value"
        )
    if response is Response.REVOKE:
        where = managed.issuer.provider if managed.issuer else "its issuer (none configured)"
        return f"revoke the leaked value of {managed.name} at {where}, with no replacement"
    if response is Response.NOTIFY:
        return f"notify the owners of {managed.name} ({', '.join(managed.owners) or 'none listed'})"
    return f"report only (respond: says none for this rule); {managed.name} is left as it is"


def _first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (not the one in `ALTER ROLE ...`)."""
    return re.split(r"(?<!\.)\.(?:\s|$)", " ".join(text.split()), maxsplit=1)[0]
