"""Amazon Web Services (`type: aws`): a Store over Secrets Manager and an Issuer of IAM access
keys, through boto3 (the `aws` extra, imported on first use).

```yaml
providers:
  aws: {type: aws, region: us-east-1}
secrets:
  - name: ci/deployer-key
    store: {provider: aws, secret_id: ci/deployer}      # or {provider: local}
    issuer: {provider: aws, iam_user: deployer}
    policy: {interval: 90d, grace: 24h}
```

The new pair is stored as `{"access_key_id": ..., "secret_access_key": ...}`. Leakstop's own
credentials come from boto3's default chain (the environment, a profile, GitHub OIDC web
identity); what they must be allowed:

```text
sts:GetCallerIdentity
iam:ListAccessKeys, iam:CreateAccessKey, iam:UpdateAccessKey, iam:DeleteAccessKey,
iam:ListUserTags, iam:TagUser                       on arn:aws:iam::ACCOUNT:user/deployer
secretsmanager:DescribeSecret, ListSecretVersionIds, GetSecretValue, PutSecretValue,
UpdateSecretVersionStage (CreateSecret to create it)  on the secret
```

The pieces, one job each: `aws_options` (options, checked), `aws_session` (boto3 clients),
`aws_secrets` (the Store and its labels), `aws_iam` (the Issuer, and when a key may be
deleted), `aws_check` (`providers check`), `aws_errors` (exceptions as one-line errors).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from leakstop.config.options import Options
from leakstop.config.secrets import ManagedSecret
from leakstop.rotator.providers.aws_check import check_access
from leakstop.rotator.providers.aws_errors import import_boto3
from leakstop.rotator.providers.aws_iam import IamKeyIssuer
from leakstop.rotator.providers.aws_options import AwsSettings, parse_issuer, parse_settings
from leakstop.rotator.providers.aws_secrets import SecretsManagerStore
from leakstop.rotator.providers.aws_session import AwsSession
from leakstop.rotator.providers.base import ProviderContext, StoredVersion, Value

if TYPE_CHECKING:
    from leakstop.rotator.providers.base import Issuer, Store

#: What an AWS access key id looks like (the prefixes of long-term and temporary keys).
_KEY_ID_PREFIXES = ("AKIA", "ASIA", "A3T", "ABIA", "ACCA")


class AwsProvider:
    """One configured AWS account and region. Connects to nothing until a method needs AWS.
    Every method raises ProviderError (one line, no credential), and ProviderConflictError
    when a check-and-set loses."""

    #: IAM makes the access key; leakstop does not generate it.
    mints: bool = True

    def __init__(
        self, name: str, settings: AwsSettings, environ: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        self._session = AwsSession(name, settings, os.environ if environ is None else environ)
        self._store = SecretsManagerStore(self._session)
        self._iam = IamKeyIssuer(self._session)

    @classmethod
    def from_settings(cls, context: ProviderContext) -> AwsProvider:
        """The provider from its config options. Raises ConfigError (at the provider's
        file:line) for bad options, ProviderError without boto3; does not connect."""
        import_boto3()  # one line naming the extra now, not an ImportError mid-rotation
        return cls(
            context.name,
            parse_settings(context.name, context.options, context.environ, context.origin),
            context.environ,
        )

    def __repr__(self) -> str:
        return f"AwsProvider({self.name!r}, {self.settings.region!r})"

    def check(self, secrets: Iterable[ManagedSecret]) -> list[str]:
        """Problems with this provider for `secrets` (those using others are skipped)."""
        return check_access(self.name, self._iam, self._store, secrets)

    # Store

    def current(self, name: str, where: Options) -> StoredVersion | None:
        return self._store.current(name, where)

    def pending(self, name: str, where: Options) -> StoredVersion | None:
        return self._store.pending(name, where)

    def read(self, name: str, where: Options, version: str | None = None) -> Value:
        return self._store.read(name, where, version)

    def put_pending(
        self, name: str, where: Options, value: Value, expected_current: str | None
    ) -> StoredVersion:
        return self._store.put_pending(name, where, value, expected_current)

    def promote(
        self, name: str, where: Options, version: str, expected_current: str | None
    ) -> None:
        self._store.promote(name, where, version, expected_current)

    def discard_pending(self, name: str, where: Options, version: str) -> None:
        self._store.discard_pending(name, where, version)

    # Issuer

    def mint(self, name: str, how: Options) -> Value:
        return self._iam.mint(parse_issuer(name, how))

    def apply(self, name: str, how: Options, value: Value, previous: Value | None) -> None:
        """Nothing to do: minting made the key valid."""
        parse_issuer(name, how)

    def test(self, name: str, how: Options, value: Value) -> None:
        self._iam.test(parse_issuer(name, how), value)

    def revoke(self, name: str, how: Options, value: Value) -> None:
        self._iam.revoke(parse_issuer(name, how), value)

    def key_ids(self, name: str, how: Options) -> frozenset[str]:
        """The ids of the managed IAM user's access keys, active or not."""
        return frozenset(k.key_id for k in self._iam.keys(parse_issuer(name, how).user))

    def owns(self, name: str, how: Options, found: str) -> bool:
        """Whether `found` (a finding's secret) is an access key id of the managed user: a
        leaked pair is confirmed by its key id. Only ids are compared; a value that does not
        look like one is not sent anywhere."""
        if not found.startswith(_KEY_ID_PREFIXES) or len(found) != 20:
            return False
        return found in self.key_ids(name, how)


if TYPE_CHECKING:
    # mypy checks here that the provider is both a Store and an Issuer.
    def _is_store_and_issuer(provider: AwsProvider) -> tuple[Store, Issuer]:
        return provider, provider
