"""Leaked GitHub tokens revoked through GitHub's credential revocation API.

`POST /credentials/revoke` with `{"credentials": [...]}` (GitHub REST docs, "Revoke a list of
credentials"): it needs no ownership of the tokens, answers 202 when it accepted a batch, 422
when the batch is invalid or "the endpoint has been spammed". Up to 1,000 tokens per request and
60 requests per hour, so tokens go in batches of 1,000 and a rate limit stops the run: the rest
are reported `rate_limited` with when to try again, never retried in a loop. On github.com the
request must be unauthenticated (an authenticated one gets 403); GitHub Enterprise Server
documents it with a token (`revoke_authenticated`, github_options).

GitHub notifies each token's owner; it cannot reactivate a revoked token.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from leakstop.errors import ProviderError
from leakstop.finding import redact
from leakstop.rotator.providers.github_api import GitHubApi, RateLimitedError
from leakstop.rotator.providers.github_options import DEFAULT_API_URL, GitHubSettings

PATH = "/credentials/revoke"
BATCH = 1000
#: The token kinds the API takes (docs: classic and fine-grained PATs, OAuth app tokens, GitHub
#: App user-to-server and refresh tokens); installation tokens (ghs_) expire within an hour.
_REVOCABLE = re.compile(
    r"^(?:gh[pour]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})$"
)


class RevocationStatus(str, enum.Enum):
    #: GitHub accepted the batch (202): it revokes the token and tells its owner.
    SUBMITTED = "submitted"
    #: Not a token kind the API takes; nothing was sent.
    UNSUPPORTED = "unsupported"
    #: GitHub refused the batch (422: invalid, or the endpoint is being spammed).
    REJECTED = "rejected"
    #: Not sent: GitHub's rate limit was hit; `retry_after` says when to try again.
    RATE_LIMITED = "rate_limited"
    #: Not sent or not answered (GitHub down, a 5xx).
    FAILED = "failed"


@dataclass(frozen=True)
class RevocationResult:
    """What happened to one token; it is named by its redaction only."""

    redacted: str
    status: RevocationStatus
    detail: str = ""
    retry_after: float | None = None

    @property
    def submitted(self) -> bool:
        return self.status is RevocationStatus.SUBMITTED


def is_revocable(token: str) -> bool:
    return bool(_REVOCABLE.match(token))


def revoke_tokens(
    tokens: Iterable[str],
    api_url: str = DEFAULT_API_URL,
    *,
    environ: Mapping[str, str] = os.environ,
    api: GitHubApi | None = None,
) -> list[RevocationResult]:
    """Revoke leaked GitHub tokens (for `respond`, unmanaged findings included): one result per
    distinct token, in order. Never raises for GitHub's answers; the caller audits each
    result. `api` (a configured github provider's) wins over `api_url`."""
    if api is None:
        api = GitHubApi("github", GitHubSettings(api_url=api_url.rstrip("/")), environ)
    return Revoker(api).revoke(tokens)


class Revoker:
    """Batches tokens to one GitHub's revocation endpoint."""

    def __init__(self, api: GitHubApi) -> None:
        self._api = api

    def revoke(self, tokens: Iterable[str]) -> list[RevocationResult]:
        distinct = list(dict.fromkeys(tokens))
        results: dict[str, RevocationResult] = {}
        revocable = []
        for token in distinct:
            if is_revocable(token):
                revocable.append(token)
            else:
                results[token] = RevocationResult(
                    _redacted(token),
                    RevocationStatus.UNSUPPORTED,
                    "not a token kind GitHub's revocation API takes",
                )
        stopped: RevocationResult | None = None
        for start in range(0, len(revocable), BATCH):
            batch = revocable[start : start + BATCH]
            if stopped is None:
                outcome = self._post(batch)
                if outcome.status in (RevocationStatus.RATE_LIMITED, RevocationStatus.FAILED):
                    # Stop: every later batch would meet the same limit or outage.
                    stopped = outcome
            else:
                outcome = stopped
            for token in batch:
                results[token] = RevocationResult(
                    _redacted(token), outcome.status, outcome.detail, outcome.retry_after
                )
        return [results[token] for token in distinct]

    def _post(self, batch: Sequence[str]) -> RevocationResult:
        api = self._api
        try:
            response = api.request(
                "POST",
                PATH,
                {"credentials": list(batch)},
                authenticated=api.settings.revoke_authenticated,
            )
        except RateLimitedError as exc:
            return RevocationResult("", RevocationStatus.RATE_LIMITED, str(exc), exc.retry_after)
        except ProviderError as exc:
            return RevocationResult("", RevocationStatus.FAILED, str(exc))
        if response.status == 202:
            return RevocationResult("", RevocationStatus.SUBMITTED)
        error = str(api.refused(response, f"POST {PATH}"))
        if response.status == 422:
            return RevocationResult("", RevocationStatus.REJECTED, error)
        return RevocationResult("", RevocationStatus.FAILED, error)


def _redacted(token: str) -> str:
    prefix = len("github_pat_") if token.startswith("github_pat_") else 4
    return redact(token, prefix if token.startswith(("gh", "github_pat_")) else 0)
