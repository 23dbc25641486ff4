"""An issuer that drives any system through a signed HTTP POST (`type: webhook`).

```yaml
providers:
  deploy-hook:
    type: webhook
    url: https://rotate.internal.example/leakstop   # https://, or http:// to 127.0.0.1 only
    hmac_key_env: LEAKSTOP_WEBHOOK_KEY              # the signing key, from the environment
    timeout: 10s
secrets:
  - name: billing/api-key
    store: {provider: local}
    issuer: {provider: deploy-hook, service: billing}   # options go to the receiver as is
```

Each machine step is one POST of a JSON document (`steps`: step, secret name, fingerprints,
the issuer options; for `apply` and `test` also the new `value`; never the old value) with

    X-Leakstop-Timestamp: <unix seconds, also the body's "timestamp">
    X-Leakstop-Signature: sha256=<hex HMAC-SHA256 of the raw body under the key>

A receiver must: compute the HMAC over the raw body and compare it in constant time; refuse a
timestamp more than REPLAY_WINDOW (5 minutes) from its clock, or unlike the body's; and
remember each body's `id` for that window, refusing a repeat. Its HTTP status drives the
machine: 2xx is done, anything else fails the step (ProviderError with the status), and the
machine rolls the rotation back. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakstop.config.options import FrozenMap, Options
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ProviderError
from leakstop.retry_after import retry_after_seconds
from leakstop.rotator.providers.base import ProviderContext, Value
from leakstop.rotator.providers.http import HttpResponse, send, tls_context, url_problem
from leakstop.rotator.providers.option_checks import OptionChecker
from leakstop.rotator.providers.steps import AppliedValues, StepKind, decode_value, step_document

if TYPE_CHECKING:
    from leakstop.rotator.providers.base import Issuer

#: Seconds a receiver should accept a timestamp away from its own clock.
REPLAY_WINDOW = 300
SIGNATURE_HEADER = "X-Leakstop-Signature"
TIMESTAMP_HEADER = "X-Leakstop-Timestamp"
_KEYS = ("url", "hmac_key_env", "fingerprint_key_env", "timeout", "ca_file")


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    hmac_key_env: str
    #: The key of the values' fingerprints; default: the signing key.
    fingerprint_key_env: str | None = None
    timeout: float = 10.0
    ca_file: str | None = None


def parse_settings(context: ProviderContext) -> WebhookSettings:
    check = OptionChecker(f"provider {context.name!r}", context.origin)
    options = context.options
    check.keys(options, _KEYS)
    url = check.string(options, "url")
    if not url:
        raise check.error("'url' is missing (where each step is POSTed)")
    problem = url_problem(url)
    if problem is not None:
        raise check.error(f"'url': {problem}")
    key_env = check.env_name(options, "hmac_key_env", None)
    if key_env is None:
        raise check.error("'hmac_key_env' is missing (the variable holding the signing key)")
    return WebhookSettings(
        url=url,
        hmac_key_env=key_env,
        fingerprint_key_env=check.env_name(options, "fingerprint_key_env", None),
        timeout=check.timeout(options.get("timeout"), 10.0, maximum=300.0),
        ca_file=check.string(options, "ca_file"),
    )


def _when_to_retry(response: HttpResponse) -> str:
    """What a 429 or 503's `Retry-After` said, for the error line: the machine does not
    retry (a rotation is rolled back and the next run starts anew), the user or the
    schedule does, and should know when."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    wait = retry_after_seconds(headers.get("retry-after"))
    return f"; it takes requests again in {wait:.0f}s" if wait is not None else ""


def sign(key: bytes, body: bytes) -> str:
    """The X-Leakstop-Signature header's value for `body`."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class WebhookIssuer:
    """POSTs each step to one URL. Raises ProviderError (one line: step, secret, status)."""

    mints: bool = False

    def __init__(
        self,
        name: str,
        settings: WebhookSettings,
        environ: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.settings = settings
        self._environ = environ
        self._clock = clock
        self._applied: AppliedValues | None = None

    @classmethod
    def from_settings(cls, context: ProviderContext) -> WebhookIssuer:
        return cls(context.name, parse_settings(context), context.environ)

    def __repr__(self) -> str:
        return f"WebhookIssuer({self.name!r}, {self.settings.url!r})"

    def mint(self, name: str, how: Options) -> Value:
        raise ProviderError(f"webhook {self.name!r} applies values; it does not mint them")

    def apply(self, name: str, how: Options, value: Value, previous: Value | None) -> None:
        applied = self._applied_values()
        if applied.is_rollback(name, previous):
            # The machine puts the old value back: name it, never send it.
            self._post(StepKind.ROLLBACK, name, how, value, other=previous)
            return
        # Remembered before it is sent: an apply that fails is rolled back too.
        applied.remember(name, value)
        self._post(StepKind.APPLY, name, how, value, other=previous, send_value=True)

    def test(self, name: str, how: Options, value: Value) -> None:
        self._post(StepKind.TEST, name, how, value, send_value=True)

    def revoke(self, name: str, how: Options, value: Value) -> None:
        self._post(StepKind.REVOKE, name, how, value)

    def check(self, secrets: Iterable[ManagedSecret]) -> list[str]:
        """Reachable, and the receiver accepts a signed `check` step (2xx)."""
        try:
            self._post(StepKind.CHECK, "", FrozenMap(), None)
        except ProviderError as exc:
            return [str(exc)]
        return []

    def _post(
        self,
        step: StepKind,
        secret: str,
        how: Options,
        value: Value | None,
        other: Value | None = None,
        send_value: bool = False,
    ) -> None:
        key = self._key(self.settings.hmac_key_env)
        document = step_document(
            step, secret, how, self._fingerprint_key(), value, other, self._clock
        )
        if send_value and value is not None and step.carries_value:
            document.update(decode_value(value))
        body = json.dumps(document, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "leakstop",
            SIGNATURE_HEADER: sign(key, body),
            TIMESTAMP_HEADER: str(document["timestamp"]),
        }
        what = f"webhook {self.name!r}"
        context = tls_context(self.settings.ca_file)
        response = send(
            what, self.settings.url, "POST", headers, body, self.settings.timeout, context
        )
        if not 200 <= response.status < 300:
            about = f" of {secret}" if secret else ""
            raise ProviderError(
                f"{what}: {step.value}{about} answered HTTP {response.status}"
                + _when_to_retry(response)
            )

    def _applied_values(self) -> AppliedValues:
        if self._applied is None:
            self._applied = AppliedValues(self._fingerprint_key())
        return self._applied

    def _fingerprint_key(self) -> bytes:
        return self._key(self.settings.fingerprint_key_env or self.settings.hmac_key_env)

    def _key(self, variable: str) -> bytes:
        key = self._environ.get(variable, "")
        if not key:
            raise ProviderError(f"webhook {self.name!r}: ${variable} is not set")
        return key.encode("utf-8")


if TYPE_CHECKING:

    def _is_issuer(issuer: WebhookIssuer) -> Issuer:
        return issuer
