"""`verify_findings`: check each credential once, concurrently, and attach the outcome to
every finding it is made of."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from leakstop.finding import Finding
from leakstop.results import ScanResult
from leakstop.rules.model import Rule
from leakstop.verify.base import CheckContext, Unverifiable, Verifier
from leakstop.verify.http import (
    GuardedHttp,
    HostNotAllowedError,
    HttpSettings,
    TransportError,
    load_endpoints,
)
from leakstop.verify.model import Status, Verification
from leakstop.verify.pairing import Credential, pair
from leakstop.verify.registry import VERIFIERS
from leakstop.verify.source_text import NearbyText

log = logging.getLogger(__name__)

#: Which outcome a finding keeps when it completes several credentials.
_RANK = {Status.VERIFIED: 0, Status.INVALID: 1, Status.UNKNOWN: 2}


@dataclass(frozen=True)
class VerifyOptions:
    #: Rule id -> verifier name (`verifier_names(rules)`).
    verifier_for_rule: Mapping[str, str]
    #: Where finding paths are relative to (verifiers read nearby lines from there).
    root: Path = Path(".")
    #: Checks running at once.
    concurrency: int = 8
    http: HttpSettings = field(default_factory=HttpSettings)
    verifiers: Mapping[str, Verifier] = field(default_factory=lambda: VERIFIERS)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


def verifier_names(rules: Iterable[Rule]) -> dict[str, str]:
    """Rule id -> verifier name for the rules with a `verify:`."""
    return {rule.id: rule.verify.verifier for rule in rules if rule.verify is not None}


def verify_findings(findings: Sequence[Finding], options: VerifyOptions) -> list[Finding]:
    """`findings` in the same order, each with `verification` set when its rule (or that of
    the credential it completes) has a verifier. Each distinct credential is checked once
    per call, however often it was found. Never raises for a failed check: that is unknown.
    """
    credentials = [c for c in pair(findings) if c.primary.rule_id in options.verifier_for_rule]
    jobs: dict[tuple[str, ...], Credential] = {}
    for credential in credentials:
        jobs.setdefault(_cache_key(credential, options), credential)
    context_text = NearbyText(options.root)
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        futures = {
            key: pool.submit(_check, credential, options, context_text)
            for key, credential in jobs.items()
        }
        results = {key: future.result() for key, future in futures.items()}
    outcome: dict[int, Verification] = {}
    for credential in credentials:
        verification = results[_cache_key(credential, options)]
        for finding in credential.findings:
            # A companion with its own verifier keeps its own outcome.
            if finding is not credential.primary and finding.rule_id in options.verifier_for_rule:
                continue
            current = outcome.get(id(finding))
            if current is None or _RANK[verification.status] < _RANK[current.status]:
                outcome[id(finding)] = verification
    return [
        dataclasses.replace(f, verification=outcome[id(f)]) if id(f) in outcome else f
        for f in findings
    ]


def _cache_key(credential: Credential, options: VerifyOptions) -> tuple[str, ...]:
    parts = sorted(f"{role}={f.fingerprint}" for role, f in credential.companions.items())
    name = options.verifier_for_rule[credential.primary.rule_id]
    return (name, credential.primary.rule_id, credential.primary.fingerprint, *parts)


def _check(credential: Credential, options: VerifyOptions, nearby: NearbyText) -> Verification:
    name = options.verifier_for_rule[credential.primary.rule_id]
    verifier = options.verifiers.get(name)
    if verifier is None:
        return Verification(Status.UNKNOWN, f"no verifier named {name!r}", name)
    http = GuardedHttp(verifier.hosts, options.http, options.sleep)
    context = CheckContext(http, nearby, options.http.timeout)
    try:
        result = verifier.check(credential, context)
    except (Unverifiable, HostNotAllowedError, TransportError) as exc:
        return Verification(Status.UNKNOWN, str(exc), name)
    log.debug("verify %s: %s (%s)", name, result.status.value, result.reason)
    return Verification(result.status, result.reason, name)


def verify_result(result: ScanResult, root: Path, *, only_verified: bool = False) -> None:
    """Verify a scan's findings in place (`scan --verify`); with `only_verified`, drop every
    finding its issuer did not confirm. Test endpoints come from LEAKSTOP_VERIFY_ENDPOINTS."""
    options = VerifyOptions(
        verifier_names(result.rules), root=root, http=HttpSettings(endpoints=load_endpoints())
    )
    findings = verify_findings(result.findings, options)
    if only_verified:
        kept = [f for f in findings if is_verified(f)]
        result.stats.unverified += len(findings) - len(kept)
        findings = kept
    result.findings = findings


def is_verified(finding: Finding) -> bool:
    return finding.verification is not None and finding.verification.status is Status.VERIFIED
