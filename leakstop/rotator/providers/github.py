"""GitHub (`type: github`): Actions secrets as a Store, and leaked-token revocation as an
Issuer, over GitHub's REST API (github.com, or GitHub Enterprise Server with another
`api_url`).

```yaml
providers:
  github: {type: github, api_url: https://api.github.com}     # token from $GITHUB_TOKEN
secrets:
  - name: ci/deploy-token                  # a value leakstop generates, kept in an Actions secret
    store: {provider: github, repository: acme/api, secret: DEPLOY_TOKEN}
    issuer: {provider: deploy-hook}        # e.g. a webhook that sets it where it is checked
  - name: ci/bot-pat                       # a personal access token that leaked: revoke it
    store: {provider: local}
    issuer: {provider: github}
respond: {rules: {github-pat: revoke}}
```

* As a **store** (`github_store`): GitHub holds what workflows read; a readable journal store
  holds the versions, because GitHub gives no value back. The token needs `secrets: write`
  (fine-grained: "Secrets" read and write on the repository, "Environments" for environment
  secrets, "Organization secrets" for org ones).
* As an **issuer** it cannot make a credential: it only *revokes* a GitHub token through the
  credential revocation API (`github_revoke`), which needs no ownership of the token. The
  machine uses it for `respond: revoke` (and for the old value after a rotation whose new
  token came from elsewhere); `revoke_tokens` serves leaked tokens that are not managed.
* `providers check`: the token is valid, and the public key of every configured place can be
  read (the token may write secrets there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from leakstop.config.options import Options
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ConfigError, ProviderError
from leakstop.rotator.providers.base import ProviderContext, Store, Value
from leakstop.rotator.providers.github_api import GitHubApi
from leakstop.rotator.providers.github_options import GitHubSettings, parse_place, parse_settings
from leakstop.rotator.providers.github_revoke import RevocationResult, Revoker
from leakstop.rotator.providers.github_secrets import ActionsSecrets
from leakstop.rotator.providers.github_store import GitHubSecretsStore

if TYPE_CHECKING:
    from leakstop.rotator.providers.base import Issuer


class GitHubProvider:
    """One configured GitHub. Connects to nothing until a method needs it."""

    #: Revocation only: GitHub tokens are made by people and apps, not by leakstop.
    mints: bool = False

    def __init__(self, name: str, settings: GitHubSettings, environ: Mapping[str, str]) -> None:
        self.name = name
        self.settings = settings
        self.api = GitHubApi(name, settings, environ)
        self._secrets = ActionsSecrets(self.api)

    @classmethod
    def from_settings(cls, context: ProviderContext) -> GitHubProvider:
        """Raises ConfigError (at the provider's file:line) for bad options; connects to
        nothing."""
        return cls(
            context.name,
            parse_settings(context.name, context.options, context.origin),
            context.environ,
        )

    def __repr__(self) -> str:
        return f"GitHubProvider({self.name!r}, {self.settings.api_url!r})"

    @property
    def journal(self) -> str:
        """The store provider that keeps this store's versions (the registry builds it)."""
        return self.settings.journal

    def store_with(self, journal: Store) -> GitHubSecretsStore:
        """The Store of Actions secrets, its versions in `journal`."""
        return GitHubSecretsStore(self.name, self._secrets, journal)

    def revoke_tokens(self, tokens: Iterable[str]) -> list[RevocationResult]:
        """Revoke leaked tokens through this GitHub's revocation API (see github_revoke)."""
        return Revoker(self.api).revoke(tokens)

    def check(self, secrets: Iterable[ManagedSecret]) -> list[str]:
        """Problems, one line each: GitHub cannot be reached, the token is invalid or missing
        (not needed to revoke on github.com), or a configured place's public key cannot be
        read."""
        stored = [s for s in secrets if s.store.provider == self.name]
        has_token = self.api.has_token()
        if not has_token and (stored or self.settings.revoke_authenticated):
            return [f"${self.settings.token_env} is not set"]
        try:
            # Answered with or without a token; with one, only if it is valid.
            self.api.call("GET", "/rate_limit", authenticated=has_token)
        except ProviderError as exc:
            return [str(exc)]
        problems = []
        for secret in stored:
            try:
                place = parse_place(secret.name, secret.store.options, secret.origin)
                self._secrets.public_key(place)
            except (ConfigError, ProviderError) as exc:
                problems.append(f"{secret.name}: {exc}")
        return problems

    # Issuer

    def mint(self, name: str, how: Options) -> Value:
        raise ProviderError(self._cannot_make(name))

    def apply(self, name: str, how: Options, value: Value, previous: Value | None) -> None:
        raise ProviderError(self._cannot_make(name))

    def test(self, name: str, how: Options, value: Value) -> None:
        raise ProviderError(self._cannot_make(name))

    def revoke(self, name: str, how: Options, value: Value) -> None:
        """Revoke the GitHub token `value`. Raises ProviderError unless GitHub accepted it."""
        if how:
            raise ProviderError(f"secret {name!r}: the github issuer takes no options")
        if not isinstance(value, bytes):
            raise ProviderError(f"secret {name!r}: a GitHub token is text, not fields")
        token = value.decode("utf-8", "replace").strip()
        (result,) = self.revoke_tokens([token])
        if not result.submitted:
            raise ProviderError(
                f"github {self.name!r}: {name} ({result.redacted}) not revoked: "
                f"{result.status.value}" + (f": {result.detail}" if result.detail else "")
            )

    def _cannot_make(self, name: str) -> str:
        return (
            f"github {self.name!r} cannot make a credential for {name}: as an issuer it only "
            "revokes leaked tokens (respond: revoke)"
        )


if TYPE_CHECKING:
    # mypy checks here that the provider is an Issuer and its store_with a Store.
    def _is_issuer(provider: GitHubProvider, journal: Store) -> tuple[Issuer, Store]:
        return provider, provider.store_with(journal)
