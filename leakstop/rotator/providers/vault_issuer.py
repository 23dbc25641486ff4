"""Vault as an issuer: AppRole secret-ids and tokens, which Vault mints itself.

* **AppRole** (`issuer: {approle: deployer}`): `mint` generates a secret-id for the role, with
  metadata naming leakstop and the managed secret (Vault copies it onto the tokens logged in
  with it, so audit devices show where a login came from); `test` logs in with the role's
  role-id and the new secret-id on a client of its own, then revokes that test token;
  `revoke` looks the old secret-id up to find its accessor and destroys it by accessor, or by
  value (`secret-id/destroy`) when the policy does not allow the lookup. A role with
  `secret_id_num_uses` loses one use of the new secret-id to that test login.
* **Token** (`issuer: {token_role: ci, ttl: 24h}`): `mint` creates a token from the token
  role; the role must make orphan tokens (`orphan=true`), else the token would die with
  leakstop's own login token, so a non-orphan is revoked at once and refused. `test` looks
  the new token up with itself; `revoke` revokes the old one; `renew` extends a token.

`apply` does nothing: minting made the credential valid. Values are bytes (the secret-id or
token); they reach Vault only in request bodies, never a URL, a log or a message.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from leakstop.errors import ProviderError
from leakstop.rotator.providers.base import Value
from leakstop.rotator.providers.vault_auth import VaultSession
from leakstop.rotator.providers.vault_errors import import_hvac, vault_errors
from leakstop.rotator.providers.vault_options import AppRoleSpec, TokenSpec

log = logging.getLogger(__name__)

#: Secret-id and token metadata: who made it, for which managed secret.
CREATED_BY = "leakstop"


class AppRoleIssuer:
    """Mints, tests and destroys one AppRole's secret-ids. Raises ProviderError."""

    def __init__(self, session: VaultSession) -> None:
        self._session = session

    def mint(self, name: str, spec: AppRoleSpec) -> bytes:
        doing = self._session.doing(f"mint a secret-id for AppRole {spec.role!r}")
        with vault_errors(doing):
            response = self._session.client().auth.approle.generate_secret_id(
                role_name=spec.role,
                metadata={"created_by": CREATED_BY, "leakstop_secret": name},
                cidr_list=list(spec.cidr_list) or None,
                mount_point=spec.mount,
            )
        data = _data(response, doing)
        secret_id, accessor = data.get("secret_id"), data.get("secret_id_accessor")
        if not isinstance(secret_id, str) or not secret_id:
            raise ProviderError(f"{doing}: Vault returned no secret-id")
        log.info(
            "vault %r: minted a secret-id (accessor %s) for AppRole %r",
            self._session.provider,
            accessor,
            spec.role,
        )
        return secret_id.encode("utf-8")

    def test(self, name: str, spec: AppRoleSpec, value: Value) -> None:
        secret_id = _text(value, self._session.doing(f"test AppRole {spec.role!r}"))
        role_id = self.role_id(spec)
        client = self._session.new_client()
        doing = self._session.doing(f"test login as AppRole {spec.role!r} with the new secret-id")
        try:
            with vault_errors(doing, hide=(secret_id, role_id)):
                client.auth.approle.login(
                    role_id=role_id, secret_id=secret_id, mount_point=spec.mount
                )
                # The login proved the secret-id; its token has no further use.
                client.auth.token.revoke_self()
        finally:
            client.adapter.close()

    def revoke(self, name: str, spec: AppRoleSpec, value: Value) -> None:
        secret_id = _text(value, self._session.doing(f"revoke in AppRole {spec.role!r}"))
        approle = self._session.client().auth.approle
        hvac = import_hvac()
        doing = self._session.doing(f"look up the old secret-id of AppRole {spec.role!r}")
        accessor = None
        with vault_errors(doing, hide=(secret_id,)):
            try:
                response = approle.read_secret_id(
                    role_name=spec.role, secret_id=secret_id, mount_point=spec.mount
                )
            except hvac.exceptions.Forbidden:
                response = None  # no lookup allowed: destroy by value below
            else:
                if not isinstance(response, dict) or not response.get("data"):
                    log.info("vault %r: the old secret-id is already gone", self._session.provider)
                    return
                accessor = _data(response, doing).get("secret_id_accessor")
        doing = self._session.doing(f"destroy the old secret-id of AppRole {spec.role!r}")
        with vault_errors(doing, hide=(secret_id,)):
            if isinstance(accessor, str) and accessor:
                approle.destroy_secret_id_accessor(
                    role_name=spec.role, secret_id_accessor=accessor, mount_point=spec.mount
                )
            else:
                approle.destroy_secret_id(
                    role_name=spec.role, secret_id=secret_id, mount_point=spec.mount
                )
        log.info(
            "vault %r: destroyed a secret-id (accessor %s) of AppRole %r",
            self._session.provider,
            accessor or "not looked up",
            spec.role,
        )

    def sweep(
        self, name: str, spec: AppRoleSpec, current: Value | None, older_than: timedelta
    ) -> int:
        """Destroy the secret-ids leakstop minted for `name` that no one holds: newer than the
        current one (so not a previous value still in its grace period), older than
        `older_than` (so not a live run's), and not the current one. A run killed between
        minting and writing the journal leaves such a secret-id; the number destroyed."""
        approle = self._session.client().auth.approle
        hvac = import_hvac()
        doing = self._session.doing(f"look for orphaned secret-ids of AppRole {spec.role!r}")
        floor = None
        keep = None
        with vault_errors(doing):
            if current is not None:
                found = approle.read_secret_id(
                    role_name=spec.role, secret_id=_text(current, doing), mount_point=spec.mount
                )
                if isinstance(found, dict) and found.get("data"):
                    keep = _data(found, doing).get("secret_id_accessor")
                    floor = _when(_data(found, doing).get("creation_time"))
            try:
                listed = approle.list_secret_id_accessors(
                    role_name=spec.role, mount_point=spec.mount
                )
            except hvac.exceptions.InvalidPath:
                return 0  # no secret-ids at all
        cutoff = datetime.now(timezone.utc) - older_than
        swept = 0
        for accessor in _data(listed, doing).get("keys") or []:
            if accessor == keep:
                continue
            with vault_errors(doing):
                info = _data(
                    approle.read_secret_id_accessor(
                        role_name=spec.role, secret_id_accessor=accessor, mount_point=spec.mount
                    ),
                    doing,
                )
            metadata = info.get("metadata") or {}
            made = _when(info.get("creation_time"))
            if metadata.get("created_by") != CREATED_BY or metadata.get("leakstop_secret") != name:
                continue
            if made is None or made > cutoff or (floor is not None and made <= floor):
                continue
            with vault_errors(
                self._session.doing(f"destroy an orphaned secret-id of {spec.role!r}")
            ):
                approle.destroy_secret_id_accessor(
                    role_name=spec.role, secret_id_accessor=accessor, mount_point=spec.mount
                )
            log.info(
                "vault %r: destroyed orphaned secret-id (accessor %s) of AppRole %r",
                self._session.provider,
                accessor,
                spec.role,
            )
            swept += 1
        return swept

    def role_id(self, spec: AppRoleSpec) -> str:
        """The role's role-id (not a secret on its own, but never logged either)."""
        doing = self._session.doing(f"read the role-id of AppRole {spec.role!r}")
        with vault_errors(doing):
            response = self._session.client().auth.approle.read_role_id(
                role_name=spec.role, mount_point=spec.mount
            )
        role_id = _data(response, doing).get("role_id")
        if not isinstance(role_id, str) or not role_id:
            raise ProviderError(f"{doing}: Vault returned no role-id")
        return role_id


class TokenIssuer:
    """Mints tokens from a token role, tests, renews and revokes them. Raises ProviderError."""

    def __init__(self, session: VaultSession) -> None:
        self._session = session

    def mint(self, name: str, spec: TokenSpec) -> bytes:
        doing = self._session.doing(f"create a token from token role {spec.role!r}")
        token_api = self._session.client().auth.token
        with vault_errors(doing):
            response = token_api.create(
                role_name=spec.role,
                ttl=spec.ttl,
                meta={"created_by": CREATED_BY, "leakstop_secret": name},
                display_name=f"leakstop-{name.replace('/', '-')}",
            )
        auth = response.get("auth") if isinstance(response, dict) else None
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if not isinstance(auth, dict) or not isinstance(token, str) or not token:
            raise ProviderError(f"{doing}: Vault returned no token")
        accessor = auth.get("accessor")
        if not auth.get("orphan"):
            with vault_errors(f"{doing}: revoke the non-orphan token", hide=(token,)):
                token_api.revoke_accessor(accessor)
            raise ProviderError(
                f"{doing}: the role makes child tokens, which die with leakstop's own login "
                "token; set orphan=true on the token role"
            )
        log.info("vault %r: created a token (accessor %s)", self._session.provider, accessor)
        return token.encode("utf-8")

    def test(self, name: str, spec: TokenSpec, value: Value) -> None:
        token = _text(value, self._session.doing("test the new token"))
        client = self._session.new_client(token)
        try:
            with vault_errors(self._session.doing("test the new token (lookup-self)"), (token,)):
                client.auth.token.lookup_self()
        finally:
            client.adapter.close()

    def renew(self, name: str, spec: TokenSpec, value: Value) -> None:
        """Extend the token's lease by the role's TTL (or `ttl`)."""
        token = _text(value, self._session.doing("renew a token"))
        with vault_errors(self._session.doing("renew a token"), hide=(token,)):
            self._session.client().auth.token.renew(token=token, increment=spec.ttl)

    def revoke(self, name: str, spec: TokenSpec, value: Value) -> None:
        token = _text(value, self._session.doing("revoke the old token"))
        # Vault answers 204 for a token that is already revoked, so this is safe to repeat.
        with vault_errors(self._session.doing("revoke the old token"), hide=(token,)):
            self._session.client().auth.token.revoke(token=token)
        log.info("vault %r: revoked a token of role %r", self._session.provider, spec.role)


def _text(value: Value, doing: str) -> str:
    if not isinstance(value, bytes):
        raise ProviderError(f"{doing}: the credential must be a single value, not fields")
    try:
        text = value.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ProviderError(f"{doing}: the credential is not UTF-8 text") from None
    if not text:
        raise ProviderError(f"{doing}: the credential is empty")
    return text


def _data(response: Any, doing: str) -> dict[str, Any]:
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, dict):
        raise ProviderError(f"{doing}: unexpected answer from Vault")
    return data


def _when(text: Any) -> datetime | None:
    """A Vault timestamp (RFC 3339 with nanoseconds) as a UTC datetime."""
    if not isinstance(text, str) or not text:
        return None
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(trimmed).astimezone(timezone.utc)
    except ValueError:
        return None
