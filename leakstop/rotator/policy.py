"""Which credential goes to which provider, and what it would do: the response plan.

Findings are grouped into credentials first (an AWS secret key with its key id is one
credential, `verify.pairing`). A credential is *confirmed* when one of its findings is a
managed secret's current value or key id, or when its issuer verified it live; only confirmed
credentials are acted on. A managed secret gets what the `respond:` policy says (rotate by
default); a live but unmanaged credential gets what its rule's `respond:` names (GitHub tokens:
revocation), or a person. Everything else is reported, never touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from leakstop.config.respond import RespondPolicy, Response
from leakstop.config.secrets import ManagedSecret
from leakstop.finding import Finding
from leakstop.rules.model import Rule
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential, pair

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
    #: The other findings of the same credential (an AWS key id beside its secret key).
    parts: tuple[Finding, ...] = ()

    @property
    def live(self) -> bool:
        """Confirmed by its issuer, live, rather than as a managed secret."""
        return self.confirmed and self.managed is None


def plan(
    findings: Sequence[Finding],
    rules: Sequence[Rule],
    confirmed: Mapping[str, ManagedSecret] | None = None,
    policy: RespondPolicy | None = None,
) -> list[PlanEntry]:
    """One entry per distinct credential (and one per managed secret, however many findings
    leak it). `confirmed` maps finding fingerprints to the managed secret they leak; findings
    may carry a live `verification` (`respond` checks them first)."""
    by_id = {rule.id: rule for rule in rules}
    confirmed = confirmed or {}
    entries = []
    seen: set[str] = set()
    for credential in pair(findings):
        finding = credential.primary
        parts = tuple(credential.companions.values())
        managed = next(
            (confirmed[f.fingerprint] for f in credential.findings if f.fingerprint in confirmed),
            None,
        )
        key = f"managed:{managed.org}/{managed.name}" if managed else _credential_key(credential)
        if key in seen:
            continue  # one secret, one response, however many places it appears
        seen.add(key)
        if managed is not None:
            response = (policy or RespondPolicy()).for_rule(finding.rule_id)
            effect = _confirmed_effect(managed, response)
            entries.append(
                PlanEntry(
                    finding,
                    managed.store.provider,
                    response.value,
                    effect,
                    True,
                    managed.name,
                    parts,
                )
            )
            continue
        rule = by_id.get(finding.rule_id)
        respond = rule.respond if rule else None
        live = _verified(credential)
        if respond is not None:
            effect = PROVIDER_ACTIONS.get(
                (respond.provider, respond.action.value),
                f"{respond.action.value} through the {respond.provider} provider",
            )
            entries.append(
                PlanEntry(
                    finding, respond.provider, respond.action.value, effect, live, None, parts
                )
            )
            continue
        effect = "no provider can act on this credential: rotate it by hand"
        if rule is not None:
            effect += f" ({_first_sentence(rule.remediation)})"
        entries.append(PlanEntry(finding, None, None, effect, live, None, parts))
    return entries


def _credential_key(credential: Credential) -> str:
    return "+".join(sorted(f.fingerprint for f in credential.findings))


def _verified(credential: Credential) -> bool:
    verification = credential.primary.verification
    return verification is not None and verification.status is Status.VERIFIED


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
