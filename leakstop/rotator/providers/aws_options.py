"""The aws provider's options, checked into frozen dataclasses.

```yaml
providers:
  aws:
    type: aws
    region: us-east-1            # else $AWS_REGION / $AWS_DEFAULT_REGION
    endpoint_url: http://127.0.0.1:5000   # optional (LocalStack, moto); else $AWS_ENDPOINT_URL
    timeout: 30s                 # per request
    test_wait: 20s               # how long a new key may take to work (IAM: eventually consistent)
    auth:                        # optional; default: boto3's default chain
      method: github-oidc        # trade the job's OIDC token for the role's credentials (STS)
      role_arn: arn:aws:iam::123456789012:role/leakstop-rotator
      audience: sts.amazonaws.com                 # default
      session_name: leakstop                      # default
secrets:
  - name: ci/deployer-key
    store: {provider: aws, secret_id: ci/deployer, key: credentials}   # key: optional
    issuer: {provider: aws, iam_user: deployer, retire: delete}        # or retire: deactivate
```

No credential is ever an option: leakstop's own AWS credentials come from boto3's default
chain (environment, `AWS_PROFILE`, web identity, instance roles), or with `auth.method:
github-oidc` from STS AssumeRoleWithWebIdentity with the GitHub Actions job's OIDC token. Errors are
ConfigError at the place the provider or secret was configured (`Origin`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from leakstop.config.options import FrozenMap, Options, Origin
from leakstop.rotator.providers.option_checks import OptionChecker

DEFAULT_TIMEOUT = 30.0
#: IAM reports a new key at once, but STS may refuse it for some seconds (AWS documents IAM
#: as eventually consistent; a few seconds is typical).
DEFAULT_TEST_WAIT = 20.0
DELETE, DEACTIVATE = "delete", "deactivate"

_PROVIDER_KEYS = ("region", "endpoint_url", "timeout", "test_wait", "auth")
DEFAULT_CHAIN, GITHUB_OIDC = "default", "github-oidc"
_AUTH_KEYS = {
    DEFAULT_CHAIN: ("method",),
    GITHUB_OIDC: ("method", "role_arn", "audience", "session_name"),
}
#: The audience AWS documents for GitHub's OIDC provider (configure-aws-credentials' default).
DEFAULT_AUDIENCE = "sts.amazonaws.com"
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
#: STS's rule for RoleSessionName.
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
_STORE_KEYS = ("secret_id", "key")
_ISSUER_KEYS = ("iam_user", "retire")
#: AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`.
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")
#: IAM user names (IAM's own rule): letters, digits and `+=,.@_-`, at most 64.
_IAM_USER = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
#: A Secrets Manager name (letters, digits and `/_+=.@-`, at most 512) or its ARN.
_SECRET_ID = re.compile(r"^(?:arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:)?[\w/+=.@-]{1,512}$")


@dataclass(frozen=True)
class AwsAuth:
    """How leakstop gets its own AWS credentials: boto3's default chain, or the role
    `role_arn` assumed with the GitHub Actions job's OIDC token."""

    method: str = DEFAULT_CHAIN
    role_arn: str | None = None
    audience: str = DEFAULT_AUDIENCE
    session_name: str = "leakstop"


@dataclass(frozen=True)
class AwsSettings:
    """One `type: aws` provider, checked."""

    region: str
    #: Where boto3 sends every request instead of AWS (None: AWS, or $AWS_ENDPOINT_URL).
    endpoint_url: str | None = None
    #: Seconds per request.
    timeout: float = DEFAULT_TIMEOUT
    #: Seconds a new access key is retried with STS before its test fails.
    test_wait: float = DEFAULT_TEST_WAIT
    auth: AwsAuth = AwsAuth()


@dataclass(frozen=True)
class SecretPlace:
    """A managed secret's `store:` in Secrets Manager."""

    #: The secret's name or ARN.
    secret_id: str
    #: A field of the JSON object in SecretString that holds the value; None: the whole
    #: SecretString (a JSON object is a structured value, other text is bytes).
    key: str | None = None

    def __str__(self) -> str:
        return self.secret_id + (f"#{self.key}" if self.key else "")


@dataclass(frozen=True)
class IamKeySpec:
    """`issuer: {iam_user: deployer}`: leakstop rotates that IAM user's access keys."""

    user: str
    #: What revoking an old key does once its replacement is proven: `delete` it, or only
    #: `deactivate` it (someone deletes it later; it still counts toward the two-keys limit).
    retire: str = DELETE


def parse_settings(
    provider: str, options: Options, environ: Mapping[str, str], origin: Origin
) -> AwsSettings:
    """The provider's options, checked. Raises ConfigError (at `origin`)."""
    check = OptionChecker(f"provider {provider!r}", origin)
    check.keys(options, _PROVIDER_KEYS)
    region = (
        check.string(options, "region")
        or environ.get("AWS_REGION")
        or environ.get("AWS_DEFAULT_REGION")
    )
    if not region:
        raise check.error(
            "'region' is missing and neither AWS_REGION nor AWS_DEFAULT_REGION is set"
        )
    if not _REGION.match(region):
        raise check.error(f"'region' {region!r} is not an AWS region name such as us-east-1")
    endpoint = check.string(options, "endpoint_url")
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise check.error(
                f"'endpoint_url' must be an http:// or https:// URL, got {endpoint!r}"
            )
    return AwsSettings(
        region=region,
        endpoint_url=endpoint,
        timeout=check.seconds(options.get("timeout"), "timeout", DEFAULT_TIMEOUT, 600),
        test_wait=check.seconds(options.get("test_wait"), "test_wait", DEFAULT_TEST_WAIT, 600),
        auth=_parse_auth(check, options.get("auth")),
    )


def _parse_auth(check: OptionChecker, value: object) -> AwsAuth:
    if value is None:
        return AwsAuth()
    if not isinstance(value, FrozenMap):
        raise check.error("'auth' must be a mapping such as {method: github-oidc, role_arn: ...}")
    method = check.string(value, "method") or DEFAULT_CHAIN
    if method not in _AUTH_KEYS:
        raise check.error(f"auth.method must be one of {', '.join(_AUTH_KEYS)}, got {method!r}")
    for key in value:
        if key not in _AUTH_KEYS[method]:
            known = ", ".join(f"auth.{name}" for name in _AUTH_KEYS[method])
            raise check.error(
                f"unknown option auth.{key} for auth.method {method} (known: {known})"
            )
    if method == DEFAULT_CHAIN:
        return AwsAuth()
    role_arn = check.string(value, "role_arn")
    if not role_arn:
        raise check.error("auth.method github-oidc needs auth.role_arn (the role to assume)")
    if not _ROLE_ARN.match(role_arn):
        raise check.error(f"auth.role_arn {role_arn!r} is not an IAM role ARN")
    session_name = check.string(value, "session_name") or "leakstop"
    if not _SESSION_NAME.match(session_name):
        raise check.error("auth.session_name must be 2-64 letters, digits or +=,.@_-")
    audience = check.string(value, "audience") or DEFAULT_AUDIENCE
    return AwsAuth(GITHUB_OIDC, role_arn, audience, session_name)


def parse_place(secret: str, where: Options, origin: Origin | None = None) -> SecretPlace:
    """A secret's `store:` options (secret_id, key), checked. Raises ConfigError."""
    check = OptionChecker(f"secret {secret!r}: store", origin or Origin())
    check.keys(where, _STORE_KEYS)
    secret_id = check.string(where, "secret_id")
    if not secret_id:
        raise check.error("'secret_id' is missing (the secret's name or ARN in Secrets Manager)")
    if not _SECRET_ID.match(secret_id):
        raise check.error(
            f"'secret_id' {secret_id!r} is not a Secrets Manager name (letters, digits and "
            "/_+=.@-) or ARN"
        )
    key = check.string(where, "key")
    if key is not None and not key:
        raise check.error("'key' must not be empty")
    return SecretPlace(secret_id, key)


def parse_issuer(secret: str, how: Options, origin: Origin | None = None) -> IamKeySpec:
    """A secret's `issuer:` options (iam_user, retire), checked. Raises ConfigError."""
    check = OptionChecker(f"secret {secret!r}: issuer", origin or Origin())
    check.keys(how, _ISSUER_KEYS)
    user = check.string(how, "iam_user")
    if not user:
        raise check.error("'iam_user' is missing (the IAM user whose access keys rotate)")
    if not _IAM_USER.match(user):
        raise check.error(f"'iam_user' {user!r} is not an IAM user name")
    retire = check.string(how, "retire") or DELETE
    if retire not in (DELETE, DEACTIVATE):
        raise check.error(f"'retire' must be {DELETE} or {DEACTIVATE}, got {retire!r}")
    return IamKeySpec(user, retire)
