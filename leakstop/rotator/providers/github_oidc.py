"""The job's OIDC token in GitHub Actions, for providers that trade it for cloud credentials.

A job with `permissions: id-token: write` gets `ACTIONS_ID_TOKEN_REQUEST_URL` (already carrying
`?api-version=2.0`) and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; `GET $URL&audience=AUD` with
`Authorization: bearer $TOKEN` answers `{"value": "<jwt>"}` (GitHub docs, "Configuring OpenID
Connect in cloud providers"). The token lives minutes, so it is asked for when a provider logs
in, never stored, printed or audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from leakstop.errors import ProviderError
from leakstop.rotator.providers.http import send, tls_context

REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
GITHUB_OIDC = "github-oidc"


def oidc_available(environ: Mapping[str, str]) -> bool:
    """True in a GitHub Actions job allowed to ask for its OIDC token."""
    return bool(environ.get(REQUEST_URL, "").strip() and environ.get(REQUEST_TOKEN, "").strip())


def token_request_url(environ: Mapping[str, str], audience: str | None) -> str:
    """The runner's token URL, asking for `audience` (GitHub's default audience without)."""
    url = environ[REQUEST_URL].strip()
    if not audience:
        return url
    return url + ("&" if "?" in url else "?") + urlencode({"audience": audience})


def github_oidc_token(
    environ: Mapping[str, str], audience: str | None, timeout: float, doing: str
) -> str:
    """The job's OIDC token for `audience`. ProviderError (one line starting with `doing`, no
    token in it) outside a job with `id-token: write` or when the runner refuses."""
    if not oidc_available(environ):
        raise ProviderError(
            f"{doing}: not in a GitHub Actions job that may ask for its OIDC token "
            f"({REQUEST_URL} and {REQUEST_TOKEN} are not set: give the job "
            "'permissions: id-token: write')"
        )
    bearer = environ[REQUEST_TOKEN].strip()
    response = send(
        f"{doing}: GitHub Actions OIDC token request",
        token_request_url(environ, audience),
        "GET",
        {"Authorization": f"bearer {bearer}", "Accept": "application/json"},
        None,
        timeout,
        tls_context(None),
    )
    if response.status != 200:
        # 401/403: the request token is stale or the job lacks `id-token: write`.
        raise ProviderError(
            f"{doing}: GitHub Actions OIDC token request: the runner's endpoint answered HTTP "
            f"{response.status} (does the job have 'permissions: id-token: write'?)"
        )
    body = response.json()
    token = body.get("value") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ProviderError(f"{doing}: the GitHub Actions OIDC endpoint returned no token")
    return token
