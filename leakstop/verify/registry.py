"""Every verifier by name: a rule's `verify: {verifier: NAME}` refers to one of these."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from leakstop.verify import (
    ai,
    business_apis,
    cloud,
    commerce,
    developer_apis,
    messaging,
    registries,
    tools,
    vcs,
)
from leakstop.verify.aws import AwsCheck
from leakstop.verify.azure_storage import AzureStorageCheck
from leakstop.verify.base import Verifier
from leakstop.verify.database import PostgresCheck
from leakstop.verify.google import VERIFIERS as GOOGLE


def _by_name(*groups: tuple[Verifier, ...]) -> Mapping[str, Verifier]:
    table: dict[str, Verifier] = {}
    for group in groups:
        for verifier in group:
            if verifier.name in table:
                raise AssertionError(f"two verifiers named {verifier.name}")
            table[verifier.name] = verifier
    return MappingProxyType(table)


VERIFIERS: Mapping[str, Verifier] = _by_name(
    (AwsCheck(), AzureStorageCheck(), PostgresCheck()),
    GOOGLE,
    vcs.VERIFIERS,
    ai.VERIFIERS,
    messaging.VERIFIERS,
    cloud.VERIFIERS,
    commerce.VERIFIERS,
    registries.VERIFIERS,
    tools.VERIFIERS,
    developer_apis.VERIFIERS,
    business_apis.VERIFIERS,
)
