"""Azure Storage account keys: a List Containers request signed with Shared Key
(learn.microsoft.com "Authorize with Shared Key"). It reads at most one container name."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime

from leakstop.verify.base import CheckContext, Outcome, Unverifiable, invalid, verified
from leakstop.verify.checks import status_outcome
from leakstop.verify.http import Request
from leakstop.verify.pairing import Credential

API_VERSION = "2021-08-06"
_ACCOUNT = re.compile(
    r"(?:AccountName=|(?i:storage[_-]?account(?:[_-]?name)?)[\"']?\s*[:=]\s*[\"']?)"
    r"([a-z0-9]{3,24})\b"
)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def shared_key_signature(account: str, key: bytes, headers: dict[str, str], query: str) -> str:
    """The Shared Key signature of a GET on the account's root with `query` (`comp=list`)."""
    canonical_headers = "".join(
        f"{name.lower()}:{value}\n"
        for name, value in sorted(headers.items(), key=lambda item: item[0].lower())
        if name.lower().startswith("x-ms-")
    )
    params = sorted(part.split("=", 1) for part in query.split("&") if part)
    resource = f"/{account}/" + "".join(f"\n{k.lower()}:{v}" for k, v in params)
    # VERB, then 11 standard headers, all empty for this GET (Date travels as x-ms-date).
    string_to_sign = "GET\n" + "\n" * 11 + canonical_headers + resource
    digest = hmac.new(key, string_to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class AzureStorageCheck:
    name: str = "azure-storage"
    hosts: frozenset[str] = frozenset({"*.blob.core.windows.net"})
    clock: Callable[[], datetime] = field(default=_utc_now, compare=False)

    def check(self, credential: Credential, context: CheckContext) -> Outcome:
        match = _ACCOUNT.search(context.nearby_text(credential.primary) or "")
        if match is None:
            raise Unverifiable("needs the storage account name near the key")
        account = match.group(1)
        try:
            key = base64.b64decode(credential.primary.secret, validate=True)
        except binascii.Error:
            raise Unverifiable("the key is not base64") from None
        query = "comp=list&maxresults=1"
        headers = {"x-ms-date": format_datetime(self.clock(), usegmt=True)}
        headers["x-ms-version"] = API_VERSION
        signature = shared_key_signature(account, key, headers, query)
        headers["Authorization"] = f"SharedKey {account}:{signature}"
        host = f"{account}.blob.core.windows.net"
        response = context.http.send(Request("GET", f"https://{host}/?{query}", headers))
        if response.status == 200:
            return verified(f"{host} accepted it (HTTP 200)")
        if response.status == 403 and b"AuthenticationFailed" in response.body:
            return invalid(f"{host} rejected it (AuthenticationFailed)")
        return status_outcome(response, invalid_statuses=())
