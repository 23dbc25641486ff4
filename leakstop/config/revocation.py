"""`revocation:` in `.leakstop.yaml`: when an emergency revocation waits for a second person.

```yaml
revocation:
  approval_from: high           # low | medium | high | critical (default high)
  max_without_approval: 3       # revoke-all touching more secrets than this waits too
  approval: person              # person (default) | environment
  environment: leakstop-revoke  # with approval: environment, the GitHub Environment's name
```

A revocation at or above `approval_from`, or a `revoke-all` that would touch more than
`max_without_approval` secrets, becomes a pending request that another person approves
(`leakstop approve ID --by NAME`). With `approval: environment`, a run inside GitHub Actions whose
job declares that protected Environment counts as approved: its required reviewers approved the
job before it started.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from leakstop.finding import Severity
from leakstop.yamlfile import Fields

REVOCATION_KEYS = ("approval_from", "max_without_approval", "approval", "environment")
#: The severities a revocation can have (a finding's `info` is no reason to revoke).
SEVERITIES = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
DEFAULT_MAX_WITHOUT_APPROVAL = 3
#: GitHub's limit on an environment name's length.
MAX_ENVIRONMENT = 255


class ApprovalMode(str, enum.Enum):
    #: Another person runs `leakstop approve ID --by NAME`.
    PERSON = "person"
    #: In GitHub Actions, the protected Environment the job runs in is the approval.
    ENVIRONMENT = "environment"


@dataclass(frozen=True)
class RevocationSettings:
    #: Revocations this severe or worse wait for approval.
    approval_from: Severity = Severity.HIGH
    #: A revoke-all touching more secrets than this waits for approval.
    max_without_approval: int = DEFAULT_MAX_WITHOUT_APPROVAL
    approval: ApprovalMode = ApprovalMode.PERSON
    #: With ApprovalMode.ENVIRONMENT: the GitHub Environment the job must declare; None: any.
    environment: str | None = None

    def needs_approval(self, severity: Severity, count: int, *, many: bool) -> str | None:
        """Why a revocation of `count` secrets at `severity` waits for approval; None when it
        need not. `many`: a revoke-all, which the count limit applies to."""
        if severity.rank <= self.approval_from.rank:
            return f"severity {severity.value} is at or above {self.approval_from.value}"
        if many and count > self.max_without_approval:
            return (
                f"{count} secrets is more than max_without_approval ({self.max_without_approval})"
            )
        return None


def parse_severity(text: str) -> Severity:
    """`low`..`critical`; raises ValueError naming the choices."""
    for severity in SEVERITIES:
        if severity.value == text:
            return severity
    raise ValueError(f"must be one of {', '.join(s.value for s in SEVERITIES)}, got {text!r}")


def parse_revocation(fields: Fields) -> RevocationSettings:
    fields.check_keys(REVOCATION_KEYS)
    try:
        approval_from = parse_severity(fields.string("approval_from", Severity.HIGH.value))
    except ValueError as exc:
        fields.fail(f"'approval_from' {exc}", fields.line_of("approval_from"))
    limit = fields.integer(
        "max_without_approval", DEFAULT_MAX_WITHOUT_APPROVAL, low=0, high=1_000_000
    )
    mode_text = fields.string("approval", ApprovalMode.PERSON.value)
    try:
        mode = ApprovalMode(mode_text)
    except ValueError:
        choices = ", ".join(m.value for m in ApprovalMode)
        fields.fail(
            f"'approval' must be one of {choices}, got {mode_text!r}", fields.line_of("approval")
        )
    environment = fields.optional_string("environment")
    if environment is not None and not 0 < len(environment) <= MAX_ENVIRONMENT:
        fields.fail(
            f"'environment' must be 1 to {MAX_ENVIRONMENT} characters",
            fields.line_of("environment"),
        )
    if environment is not None and mode is not ApprovalMode.ENVIRONMENT:
        fields.fail("'environment' needs approval: environment", fields.line_of("environment"))
    return RevocationSettings(approval_from, limit, mode, environment)
