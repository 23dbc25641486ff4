"""The `Verifier` protocol and what a verifier gets to work with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from leakstop.finding import Finding
from leakstop.verify.http import GuardedHttp
from leakstop.verify.model import Status
from leakstop.verify.pairing import Credential


@dataclass(frozen=True)
class Outcome:
    """A verifier's conclusion; the runner adds the verifier's name."""

    status: Status
    #: One line, never the secret.
    reason: str


def verified(reason: str) -> Outcome:
    return Outcome(Status.VERIFIED, reason)


def invalid(reason: str) -> Outcome:
    return Outcome(Status.INVALID, reason)


def unknown(reason: str) -> Outcome:
    return Outcome(Status.UNKNOWN, reason)


class Unverifiable(Exception):
    """The credential cannot be checked (a missing part, no read-only API): ends as unknown
    with this one-line reason."""


@dataclass(frozen=True)
class CheckContext:
    """What a verifier may use besides the credential."""

    #: HTTP limited to the verifier's declared hosts.
    http: GuardedHttp
    #: The lines around a finding in its file on disk (None for history findings or an
    #: unreadable file): for parts no rule reports, such as an Azure account name.
    nearby_text: Callable[[Finding], str | None]
    #: Seconds a non-HTTP check (a database connect) may take.
    timeout: float = 10.0


class Verifier(Protocol):
    """Turns one credential into read-only requests to its issuer and reads the answer."""

    @property
    def name(self) -> str: ...

    @property
    def hosts(self) -> frozenset[str]:
        """Every host the verifier may contact: exact names, or `*.suffix` for one label."""
        ...

    def check(self, credential: Credential, context: CheckContext) -> Outcome:
        """The outcome for `credential`. May raise Unverifiable, or let the HTTP layer's
        HostNotAllowedError / TransportError through (the runner makes them unknown)."""
        ...
