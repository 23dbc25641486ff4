"""`leakstop providers check` for a vault provider: reachable, logged in, and allowed what its
managed secrets need, asked of Vault itself (`sys/capabilities-self`, which the `default`
policy allows) rather than guessed from policy text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ConfigError, ProviderError
from leakstop.rotator.providers.vault_auth import VaultSession
from leakstop.rotator.providers.vault_errors import vault_errors
from leakstop.rotator.providers.vault_options import (
    AppRoleSpec,
    KvPlace,
    TokenSpec,
    parse_issuer,
    parse_place,
)

_READ_WRITE = ("read", "create", "update")


def check_access(session: VaultSession, secrets: Iterable[ManagedSecret]) -> list[str]:
    """Problems, one line each (empty when all is well): options of `secrets` that use this
    provider which do not parse (at their file:line), a Vault that cannot be reached or
    refuses the login, and capabilities leakstop's token lacks on the paths they need."""
    problems: list[str] = []
    needs: dict[str, tuple[set[str], set[str]]] = {}  # path -> (capabilities, secret names)
    for secret in secrets:
        try:
            for path, capabilities in _paths(session.provider, secret):
                wanted, names = needs.setdefault(path, (set(), set()))
                wanted.update(capabilities)
                names.add(secret.name)
        except ConfigError as exc:
            problems.append(str(exc))
    response: Any = None
    try:
        client = session.client()
        with vault_errors(session.doing("look up leakstop's own token")):
            client.auth.token.lookup_self()
        if needs:
            with vault_errors(session.doing("ask Vault for the token's capabilities")):
                response = client.adapter.post(
                    "/v1/sys/capabilities-self", json={"paths": sorted(needs)}
                )
    except ProviderError as exc:
        return [*problems, str(exc)]
    granted = _granted(response)
    for path, (wanted, names) in sorted(needs.items()):
        have = granted.get(path, set())
        if "root" in have:
            continue
        missing = wanted if "deny" in have else wanted - have
        if missing:
            problems.append(
                session.doing(
                    f"leakstop's token lacks {', '.join(sorted(missing))} on {path} "
                    f"(needed by {', '.join(sorted(names))})"
                )
            )
    return problems


def _paths(provider: str, secret: ManagedSecret) -> list[tuple[str, tuple[str, ...]]]:
    paths: list[tuple[str, tuple[str, ...]]] = []
    if secret.store.provider == provider:
        place = parse_place(secret.name, secret.store.options, secret.origin)
        paths += _store_paths(place)
    if secret.issuer is not None and secret.issuer.provider == provider:
        spec = parse_issuer(secret.name, secret.issuer.options, secret.origin)
        paths += _issuer_paths(spec)
    return paths


def _store_paths(place: KvPlace) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (f"{place.mount}/data/{place.path}", _READ_WRITE),
        (f"{place.mount}/metadata/{place.path}", _READ_WRITE),
        # The sibling that holds a pending value (vault_store): written, read, deleted whole.
        (f"{place.mount}/data/{place.pending_path}", _READ_WRITE),
        (f"{place.mount}/metadata/{place.pending_path}", ("read", "delete")),
    ]


def _issuer_paths(spec: AppRoleSpec | TokenSpec) -> list[tuple[str, tuple[str, ...]]]:
    if isinstance(spec, AppRoleSpec):
        role = f"auth/{spec.mount}/role/{spec.role}"
        return [
            (f"{role}/secret-id", ("update",)),
            (f"{role}/role-id", ("read",)),
            (f"{role}/secret-id/lookup", ("update",)),
            (f"{role}/secret-id-accessor/destroy", ("update",)),
        ]
    return [
        (f"auth/token/create/{spec.role}", ("update",)),
        ("auth/token/revoke", ("update",)),
    ]


def _granted(response: Any) -> dict[str, set[str]]:
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, dict):
        return {}
    return {
        str(path): {str(c) for c in capabilities}
        for path, capabilities in data.items()
        if isinstance(capabilities, list)
    }
