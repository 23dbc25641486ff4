"""Source hosting and CI: GitHub, GitLab, Bitbucket, CircleCI, Travis CI, Buildkite,
Terraform Cloud."""

from __future__ import annotations

from leakstop.verify.base import CheckContext
from leakstop.verify.checks import HttpCheck, by_status, simple
from leakstop.verify.http import Request
from leakstop.verify.pairing import Credential

GITHUB_API = "https://api.github.com"


def _github_request(credential: Credential, context: CheckContext) -> Request:
    token = credential.primary.secret
    # docs.github.com REST: an installation token (ghs_) is no user, so GET /user fails for
    # it; GET /installation/repositories is the call made for installation tokens.
    path = "/installation/repositories?per_page=1" if token.startswith("ghs_") else "/user"
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    return Request("GET", GITHUB_API + path, headers)


GITHUB = HttpCheck(
    "github",
    frozenset({"api.github.com"}),
    _github_request,
    # 403 is a rate limit or a missing scope on a working token: not a rejection.
    by_status(invalid_statuses=(401,)),
)

VERIFIERS = (
    GITHUB,
    # docs.gitlab.com "Personal access tokens API": GET /personal_access_tokens/self.
    simple(
        "gitlab",
        "https://gitlab.com/api/v4/personal_access_tokens/self",
        "PRIVATE-TOKEN",
        "{secret}",
        read=by_status(invalid_statuses=(401,)),
    ),
    # CircleCI API v2: GET /me with the Circle-Token header.
    simple("circleci", "https://circleci.com/api/v2/me", "Circle-Token", "{secret}"),
    # Travis CI API v3: GET /user, "Authorization: token ...".
    simple(
        "travis-ci",
        "https://api.travis-ci.com/user",
        template="token {secret}",
        extra={"Travis-API-Version": "3"},
    ),
    # Buildkite REST: GET /v2/access-token describes the token used.
    simple("buildkite", "https://api.buildkite.com/v2/access-token"),
    # Terraform Cloud: GET /api/v2/account/details.
    simple(
        "terraform-cloud",
        "https://app.terraform.io/api/v2/account/details",
        extra={"Content-Type": "application/vnd.api+json"},
    ),
    # Pulumi Cloud REST: GET /api/user, "Authorization: token ...".
    simple("pulumi", "https://api.pulumi.com/api/user", template="token {secret}"),
)
