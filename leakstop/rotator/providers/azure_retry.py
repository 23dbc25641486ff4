"""How leakstop retries Key Vault calls: azure-core's RetryPolicy with two bounds.

* A `Retry-After` longer than `MAX_RETRY_AFTER` is not waited for: azure-core sleeps whatever
  the server says (a 429 with `Retry-After: 3600` held a rotation for two hours, with its
  pending version in the vault). The call fails at once and the error says when Key Vault
  takes requests again.
* Setting a secret (`PUT /secrets/{name}`) is not retried after the request may have reached
  Key Vault (no answer in time, a dropped connection, a 5xx): every PUT makes a new version,
  so a retried one left two pending versions and the second looked like another writer's.
  A 429 or an answer with `Retry-After` (Key Vault did not take the request) is retried.
* A tag update (`PATCH /secrets/{name}/{version}`) is retried like a read: it sets absolute
  tags and an enabled flag, so doing it twice is doing it once (azure-core retries a PATCH
  only on 500, 503 and 504; a 502 from a gateway failed a promotion).
"""

from __future__ import annotations

from typing import Any

#: Seconds leakstop waits at most for a `Retry-After` before one retry.
MAX_RETRY_AFTER = 10.0
#: Retries after the first attempt (azure-core counts them as `retry_total`).
RETRIES = 2
#: azure-core's default without PUT, with PATCH (see the module docstring).
_RETRIED_METHODS = frozenset({"HEAD", "GET", "PATCH", "DELETE", "OPTIONS", "TRACE"})


def retry_policy(max_wait: float = MAX_RETRY_AFTER) -> Any:
    """An azure-core RetryPolicy for SecretClient(retry_policy=...)."""
    from azure.core.pipeline.policies import RetryPolicy

    class BoundedRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
        def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
            options.setdefault("retry_on_methods", _RETRIED_METHODS)
            settings: dict[str, Any] = super().configure_retries(options)
            return settings

        def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
            wait = self.get_retry_after(response)
            if wait is not None and wait > max_wait:
                return False
            return bool(super().is_retry(settings, response))

    return BoundedRetryPolicy(retry_total=RETRIES)
