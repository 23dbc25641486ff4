"""Provider `type:` → the module that builds it. Adding a system: its module, one line here, a
test file. Modules are imported when a provider of their type is used: hvac, psycopg, boto3 and
the other cloud SDKs are extras, and their imports cost start-up time no scan should pay."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.config import Config
from leakstop.config.providers import LOCAL, find_provider
from leakstop.errors import ProviderError
from leakstop.rotator.providers.base import Issuer, ProviderContext, Store


def _vault(context: ProviderContext) -> Any:
    from leakstop.rotator.providers.vault import VaultProvider

    return VaultProvider.from_settings(context)


def _postgres(context: ProviderContext) -> Any:
    from leakstop.rotator.providers.postgres import PostgresIssuer

    return PostgresIssuer.from_settings(context)


def _github(context: ProviderContext) -> Any:
    from leakstop.rotator.providers.github import GitHubProvider

    return GitHubProvider.from_settings(context)


def _webhook(context: ProviderContext) -> Any:
    from leakstop.rotator.providers.webhook import WebhookIssuer

    return WebhookIssuer.from_settings(context)


def _command(context: ProviderContext) -> Any:
    from leakstop.rotator.providers.command import CommandIssuer

    return CommandIssuer.from_settings(context)


def _azure_keyvault(context: ProviderContext) -> Any:
    from leakstop.rotator.providers.azure_keyvault import KeyVaultStore

    return KeyVaultStore.from_settings(context)


def _gcp_secretmanager(context: ProviderContext) -> Any:
    from leakstop.rotator.providers.gcp_secretmanager import SecretManagerStore

    return SecretManagerStore.from_settings(context)


def _aws(context: ProviderContext) -> Any:
    from leakstop.rotator.providers.aws import AwsProvider

    return AwsProvider.from_settings(context)


#: Remote systems by type: each builds an object that is a Store, an Issuer, or both.
BUILDERS: dict[str, Callable[[ProviderContext], Any]] = {
    "vault": _vault,
    "postgres": _postgres,
    "github": _github,
    "webhook": _webhook,
    "command": _command,
    "azure-keyvault": _azure_keyvault,
    "gcp-secretmanager": _gcp_secretmanager,
    "aws": _aws,
}
#: Which part each type can play (checked when a secret names a provider).
STORES = frozenset({LOCAL, "vault", "github", "azure-keyvault", "gcp-secretmanager", "aws"})
ISSUERS = frozenset({"vault", "postgres", "github", "webhook", "command", "aws"})
#: Stores that give values back, so they can journal one that cannot (github).
_READABLE = frozenset({LOCAL, "vault"})


class Providers:
    """The configured providers of one run, each built once, on first use."""

    def __init__(
        self,
        config: Config,
        audit_log: AuditLog,
        context: Context,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.config = config
        self.audit_log = audit_log
        self.context = context
        self.environ = environ
        self._built: dict[str, Any] = {}
        # Parallel rotations share one Providers: each provider is still built once.
        self._building = threading.RLock()

    def store(self, name: str, org: str) -> Store:
        settings = self.config.provider(name)
        if settings.type == LOCAL:
            return self._local(name, org)
        if settings.type not in STORES:
            raise ProviderError(f"provider {name} ({settings.type}) cannot store secrets")
        built = self._build(name)
        journal = getattr(built, "journal", None)
        if isinstance(journal, str):
            # A store GitHub-like systems cannot read back keeps its versions in a readable one.
            kind = find_provider(self.config.providers, journal)
            if journal == name or kind is None or kind.type not in _READABLE:
                raise ProviderError(
                    f"provider {name}: its journal {journal!r} must be a readable store "
                    f"({', '.join(sorted(_READABLE))})"
                )
            journaled: Store = built.store_with(self.store(journal, org))
            return journaled
        store: Store = built
        return store

    def issuer(self, name: str) -> Issuer:
        settings = self.config.provider(name)
        if settings.type not in ISSUERS:
            raise ProviderError(
                f"provider {name} ({settings.type}) cannot issue credentials in this release"
            )
        built: Issuer = self._build(name)
        return built

    def built(self) -> Mapping[str, Any]:
        return dict(self._built)

    def build(self, name: str) -> Any:
        """The provider `name` itself (for `providers check`)."""
        settings = self.config.provider(name)
        if settings.type == LOCAL:
            return None
        return self._build(name)

    def _build(self, name: str) -> Any:
        with self._building:
            return self._build_once(name)

    def _build_once(self, name: str) -> Any:
        if name not in self._built:
            settings = self.config.provider(name)
            builder = BUILDERS.get(settings.type)
            if builder is None:
                raise ProviderError(
                    f"provider {name}: type {settings.type} is not available in this release"
                )
            self._built[name] = builder(
                ProviderContext(name, settings.options, self.environ, settings.origin)
            )
        return self._built[name]

    def _local(self, name: str, org: str) -> Store:
        key = f"{name}@{org}"
        with self._building:
            return self._local_once(name, org, key)

    def _local_once(self, name: str, org: str, key: str) -> Store:
        from leakstop.home import home
        from leakstop.rotator.providers.local import LocalStoreProvider
        from leakstop.store import LocalStore
        from leakstop.store.masterkey import master_key

        if key not in self._built:
            context = self.context.in_org(org)
            store = LocalStore.open(
                home(self.environ), org, master_key(org, self.environ), self.audit_log, context
            )
            self._built[key] = LocalStoreProvider(store, name)
        built: Store = self._built[key]
        return built
