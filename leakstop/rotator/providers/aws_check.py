"""`leakstop providers check` for an aws provider: who leakstop's credentials are (STS), and
whether they may do what its managed secrets need: list and tag each IAM user's keys,
describe each Secrets Manager secret."""

from __future__ import annotations

from collections.abc import Iterable

from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ConfigError, ProviderError
from leakstop.rotator.providers.aws_iam import IamKeyIssuer, full_message
from leakstop.rotator.providers.aws_options import parse_issuer, parse_place
from leakstop.rotator.providers.aws_secrets import SecretsManagerStore


def check_access(
    provider: str,
    issuer: IamKeyIssuer,
    store: SecretsManagerStore,
    secrets: Iterable[ManagedSecret],
) -> list[str]:
    """Problems, one line each (empty when all is well): options that do not parse (at their
    file:line), credentials STS refuses, users and secrets leakstop may not read, and users
    whose two keys would block the next rotation."""
    try:
        issuer.caller()
    except ProviderError as exc:
        return [str(exc)]
    problems: list[str] = []
    for secret in secrets:
        try:
            if secret.store.provider == provider:
                parse_place(secret.name, secret.store.options, secret.origin)
                store.describe(secret.name, secret.store.options)
            if secret.issuer is not None and secret.issuer.provider == provider:
                spec = parse_issuer(secret.name, secret.issuer.options, secret.origin)
                keys = issuer.keys(spec.user)
                record = issuer.record(spec.user)
                if len(keys) >= 2 and issuer.replaceable(keys, record) is None:
                    problems.append(f"{secret.name}: {full_message(spec.user, keys)}")
        except (ConfigError, ProviderError) as exc:
            problems.append(str(exc))
    return problems
