"""`leakstop providers check` for an aws provider: who leakstop's credentials are (STS), and
whether they may do what its managed secrets need: list and tag each IAM user's keys,
describe each Secrets Manager secret."""

from __future__ import annotations

from collections.abc import Iterable

from leakstop.config.options import Options
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
    problems: list[str] = []
    users: dict[str, str] = {}  # IAM user -> the managed secret that rotates its keys
    places: dict[str, Options] = {}  # managed secret -> its store options
    for secret in secrets:
        try:
            if secret.store.provider == provider:
                parse_place(secret.name, secret.store.options, secret.origin)
                places[secret.name] = secret.store.options
            if secret.issuer is not None and secret.issuer.provider == provider:
                spec = parse_issuer(secret.name, secret.issuer.options, secret.origin)
                users.setdefault(spec.user, secret.name)
        except ConfigError as exc:
            problems.append(str(exc))
    try:
        issuer.caller()
    except ProviderError as exc:
        return [*problems, str(exc)]
    for name, where in places.items():
        try:
            store.describe(name, where)
        except ProviderError as exc:
            problems.append(str(exc))
    for user, name in users.items():
        try:
            keys = issuer.keys(user)
            if len(keys) >= 2 and issuer.replaceable(keys, issuer.record(user)) is None:
                problems.append(f"{name}: {full_message(user, keys)}")
        except ProviderError as exc:
            problems.append(str(exc))
    return problems
