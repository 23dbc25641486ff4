"""What a live check concluded about one credential."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(str, enum.Enum):
    #: The issuer accepted the credential: it works now.
    VERIFIED = "verified"
    #: The issuer rejected it (revoked, expired, never valid).
    INVALID = "invalid"
    #: No conclusion: the issuer was unreachable, rate-limited, or offers no read-only check.
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of one live check. Never holds the secret."""

    status: Status
    #: One line saying why (an HTTP status, "timed out"), without the secret.
    reason: str
    #: The verifier's name in `verify.registry.VERIFIERS`.
    verifier: str

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status.value, "reason": self.reason, "verifier": self.verifier}
