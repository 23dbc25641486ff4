"""AWS: STS GetCallerIdentity signed with the found key pair. It needs no permission, so any
working key passes, and it changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from leakstop.verify.base import CheckContext, Outcome, Unverifiable, invalid, verified
from leakstop.verify.checks import status_outcome
from leakstop.verify.http import Request
from leakstop.verify.pairing import Credential
from leakstop.verify.sigv4 import SigningKey, sign

STS_HOST = "sts.amazonaws.com"
BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
#: Error codes (docs.aws.amazon.com STS "Common Errors") that mean the pair does not work.
_DEAD = ("InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "AccessDenied")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class AwsCheck:
    name: str = "aws"
    hosts: frozenset[str] = frozenset({STS_HOST})
    clock: Callable[[], datetime] = field(default=_utc_now, compare=False)

    def check(self, credential: Credential, context: CheckContext) -> Outcome:
        key_id = credential.companion_secret("access_key_id")
        if key_id is None:
            raise Unverifiable("needs its access key id (AKIA...) in the same file")
        if key_id.startswith("ASIA"):
            raise Unverifiable("temporary keys (ASIA...) need their session token")
        key = SigningKey(key_id, credential.primary.secret, "us-east-1", "sts")
        url = f"https://{STS_HOST}/"
        headers = sign(
            key,
            "POST",
            url,
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            BODY,
            self.clock(),
        )
        response = context.http.send(Request("POST", url, headers, BODY))
        if response.status == 200:
            return verified(f"{STS_HOST} GetCallerIdentity succeeded")
        code = re.search(rb"<Code>([A-Za-z]{1,64})</Code>", response.body)
        name = code.group(1).decode() if code else ""
        if response.status in (400, 403) and name in _DEAD:
            return invalid(f"{STS_HOST} rejected it ({name})")
        return status_outcome(response)
