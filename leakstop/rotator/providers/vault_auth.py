"""Logging in to Vault: one hvac client per provider, made and logged in on first use.

Methods: `token` (the token in `$VAULT_TOKEN`, or the variable `token_env` names), `approle`
(role-id and secret-id from the environment) and `jwt` (a JWT from a variable, a file, or
GitHub Actions' OIDC endpoint: what a workflow with `permissions: id-token: write` logs in
with, the Vault role bound to claims such as `repository` and `ref`).

Nothing is read from the ambient Vault set-up: hvac would otherwise take a token from
`~/.vault-token` and a client certificate from `VAULT_CLIENT_CERT`; leakstop uses only what its
config names. Tokens from a login are revoked by `close()`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakstop.errors import ProviderError
from leakstop.rotator.providers.github_oidc import github_oidc_token, oidc_available
from leakstop.rotator.providers.vault_errors import import_hvac, vault_errors
from leakstop.rotator.providers.vault_options import APPROLE, JWT, TOKEN, VaultSettings

log = logging.getLogger(__name__)


class VaultSession:
    """One provider's connection: an hvac client, logged in when first asked for.

    Raises ProviderError when a credential is missing from the environment or the login is
    refused; the message names the variable or the auth mount, never the credential.
    """

    def __init__(self, provider: str, settings: VaultSettings, environ: Mapping[str, str]):
        self.provider = provider
        self.settings = settings
        self._environ = environ
        self._client: Any = None

    def __repr__(self) -> str:
        return f"VaultSession({self.provider!r}, {self.settings.url!r})"

    def doing(self, action: str) -> str:
        """The prefix of an error message about `action`."""
        return f"vault {self.provider!r}: {action}"

    def client(self) -> Any:
        """The logged-in hvac client."""
        if self._client is None:
            if self.settings.tls.skip_verify:
                log.warning(
                    "vault %r: TLS certificate verification is off (tls.skip_verify): anyone "
                    "on the network path to %s can read leakstop's token",
                    self.provider,
                    self.settings.url,
                )
            client = self.new_client()
            self._login(client)
            self._client = client
        return self._client

    def new_client(self, token: str = "") -> Any:
        """A client with the provider's URL, TLS and namespace and only `token` (none: for a
        login), e.g. to prove a freshly minted credential works on its own."""
        hvac = import_hvac()
        tls = self.settings.tls
        for option, path in (
            ("tls.ca_file", tls.ca_file),
            ("tls.client_cert_file", tls.client_cert_file),
            ("tls.client_key_file", tls.client_key_file),
        ):
            if path is not None and not Path(path).is_file():
                raise ProviderError(self.doing(f"{option} {path!r} is not a readable file"))
        verify: bool | str = False if tls.skip_verify else (tls.ca_file or True)
        # An empty tuple, not None: for None hvac falls back to $VAULT_CLIENT_CERT.
        cert = (tls.client_cert_file, tls.client_key_file) if tls.client_cert_file else ()
        return hvac.Client(
            url=self.settings.url,
            # "" rather than None, which would make hvac read $VAULT_TOKEN or ~/.vault-token.
            token=token,
            verify=verify,
            cert=cert,
            timeout=self.settings.timeout,
            namespace=self.settings.namespace,
        )

    def close(self) -> None:
        """Revoke the token a login made (not a configured token) and drop the connection."""
        client, self._client = self._client, None
        if client is None:
            return
        if self.settings.auth.method != TOKEN:
            try:
                with vault_errors(self.doing("revoke leakstop's login token")):
                    client.auth.token.revoke_self()
            except ProviderError as exc:
                # The token expires with its TTL anyway; a failed clean-up is not a failure.
                log.warning("%s", exc)
        client.adapter.close()

    def _login(self, client: Any) -> None:
        auth = self.settings.auth
        if auth.method == TOKEN:
            client.token = self._variable(auth.token_env)
        elif auth.method == APPROLE:
            role_id = self._variable(auth.role_id_env)
            secret_id = self._variable(auth.secret_id_env)
            with vault_errors(
                self.doing(f"AppRole login at auth/{auth.mount}"), hide=(role_id, secret_id)
            ):
                client.auth.approle.login(
                    role_id=role_id, secret_id=secret_id, mount_point=auth.mount
                )
        elif auth.method == JWT:
            jwt = self._jwt()
            with vault_errors(
                self.doing(f"JWT login as role {auth.role!r} at auth/{auth.mount}"), hide=(jwt,)
            ):
                client.auth.jwt.jwt_login(role=auth.role, jwt=jwt, path=auth.mount)
        else:  # parse_settings admits no other method
            raise AssertionError(auth.method)
        log.debug("vault %r: logged in (%s)", self.provider, auth.method)

    def _variable(self, name: str) -> str:
        value = self._environ.get(name, "").strip()
        if not value:
            raise ProviderError(
                self.doing(
                    f"the environment variable {name} is not set "
                    f"(auth.method: {self.settings.auth.method})"
                )
            )
        return value

    def _jwt(self) -> str:
        auth = self.settings.auth
        if auth.jwt_env:
            return self._variable(auth.jwt_env)
        if auth.jwt_file:
            try:
                jwt = Path(auth.jwt_file).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ProviderError(
                    self.doing(f"cannot read auth.jwt_file {auth.jwt_file!r}: {type(exc).__name__}")
                ) from exc
            if not jwt:
                raise ProviderError(self.doing(f"auth.jwt_file {auth.jwt_file!r} is empty"))
            return jwt
        if oidc_available(self._environ):
            return self._github_oidc_token()
        raise ProviderError(
            self.doing(
                "no JWT to log in with: set auth.jwt_env or auth.jwt_file, or run in GitHub "
                "Actions with 'permissions: id-token: write'"
            )
        )

    def _github_oidc_token(self) -> str:
        return github_oidc_token(
            self._environ,
            self.settings.auth.audience,
            self.settings.timeout,
            f"vault {self.provider!r}",
        )
