"""Google credentials from the GitHub Actions job's OIDC token: workload identity federation.

What `google-github-actions/auth` sets up, without the action or a credentials file: Google's
STS trades the job's token (audience: the workload identity provider's URL) for a federated
access token, optionally exchanged again for a service account's
(`iamcredentials.generateAccessToken`). google-auth's identity-pool credentials do both, and
ask for a fresh job token whenever they refresh.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakstop.rotator.providers.cloud_options import OptionChecker
from leakstop.rotator.providers.github_oidc import github_oidc_token
from leakstop.rotator.providers.http import url_problem

GCP_OIDC_KEYS = (
    "workload_identity_provider",
    "service_account",
    "audience",
    "token_url",
    "iamcredentials_url",
)
STS_TOKEN_URL = "https://sts.googleapis.com/v1/token"
IAMCREDENTIALS_URL = "https://iamcredentials.googleapis.com"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
_PROVIDER = re.compile(
    r"^projects/\d+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32}$"
)
_SERVICE_ACCOUNT = re.compile(
    r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com$"
)


def check_oidc_options(check: OptionChecker, oidc: Mapping[str, str]) -> None:
    """ConfigError for a malformed provider name, service account or endpoint."""
    provider = oidc.get("workload_identity_provider", "")
    if not _PROVIDER.match(provider):
        raise check.error(
            "auth.workload_identity_provider must be projects/NUMBER/locations/global/"
            f"workloadIdentityPools/POOL/providers/PROVIDER, got {provider!r}"
        )
    account = oidc.get("service_account")
    if account is not None and not _SERVICE_ACCOUNT.match(account):
        raise check.error(f"auth.service_account {account!r} is not a service account e-mail")
    for key in ("token_url", "iamcredentials_url"):
        if key in oidc and (problem := url_problem(oidc[key])) is not None:
            raise check.error(f"auth.{key}: {problem}")


def identity_pool_file_credentials(
    environ: Mapping[str, str], scopes: tuple[str, ...]
) -> Any | None:
    """The identity-pool credentials of the file GOOGLE_APPLICATION_CREDENTIALS names (what
    google-github-actions/auth writes), or None for any other kind of file or none.

    `google.auth.default()` would load it too, but then asks Cloud Resource Manager for the
    project (an extra call, and a permission leakstop does not need: the project is
    configured), and fails where that API cannot be reached."""
    path = environ.get("GOOGLE_APPLICATION_CREDENTIALS", "")
    if not path:
        return None
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # google.auth.default() reports it in its own words
    if not isinstance(info, dict) or info.get("type") != "external_account":
        return None
    if "environment_id" in info.get("credential_source", {}) or "executable" in info.get(
        "credential_source", {}
    ):
        return None  # AWS-sourced or pluggable: google.auth.default() knows those
    from google.auth import identity_pool

    return identity_pool.Credentials.from_info(info, scopes=list(scopes))  # type: ignore[no-untyped-call]


def job_token_credentials(
    oidc: Mapping[str, str],
    environ: Mapping[str, str],
    timeout: float,
    doing: str,
    scopes: tuple[str, ...],
) -> Any:
    """Identity-pool credentials whose subject token is the job's OIDC token."""
    from google.auth import identity_pool

    provider = oidc["workload_identity_provider"]
    # google-github-actions/auth's default audience: the provider's full resource URL.
    audience = oidc.get("audience") or f"https://iam.googleapis.com/{provider}"

    class JobToken(identity_pool.SubjectTokenSupplier):
        def get_subject_token(self, context: Any, request: Any) -> str:
            return github_oidc_token(environ, audience, timeout, doing)

    impersonation = None
    if account := oidc.get("service_account"):
        base = oidc.get("iamcredentials_url", IAMCREDENTIALS_URL).rstrip("/")
        impersonation = f"{base}/v1/projects/-/serviceAccounts/{account}:generateAccessToken"
    return identity_pool.Credentials(  # type: ignore[no-untyped-call]
        audience=f"//iam.googleapis.com/{provider}",
        subject_token_type=JWT_TOKEN_TYPE,
        token_url=oidc.get("token_url", STS_TOKEN_URL),
        subject_token_supplier=JobToken(),
        service_account_impersonation_url=impersonation,
        scopes=list(scopes),
    )
