"""The github provider's options and each secret's `store:` place in GitHub, checked.

```yaml
providers:
  github:
    type: github
    api_url: https://api.github.com     # GitHub Enterprise Server: https://HOST/api/v3
    token_env: GITHUB_TOKEN             # default; the token is read from there, never the file
    journal: local                      # the readable store that keeps versions (github_store)
    timeout: 30s
    ca_file: /etc/ssl/ghes-ca.pem       # GitHub Enterprise Server with a private CA
secrets:
  - name: ci/deploy-token
    store: {provider: github, repository: acme/api, secret: DEPLOY_TOKEN}
  - name: ci/prod-deploy-token
    store: {provider: github, repository: acme/api, environment: production, secret: DEPLOY_TOKEN}
  - name: ci/npm-token
    store: {provider: github, org: acme, secret: NPM_TOKEN, visibility: private}
```

Errors are ConfigError at the place the provider or secret was configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from leakstop.config.options import FrozenMap, Options, Origin
from leakstop.rotator.providers.http import url_problem
from leakstop.rotator.providers.option_checks import OptionChecker

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_TIMEOUT = 30.0
_PROVIDER_KEYS = ("api_url", "token_env", "journal", "timeout", "ca_file", "revoke_authenticated")
_PLACE_KEYS = (
    "repository",
    "environment",
    "org",
    "secret",
    "visibility",
    "selected_repository_ids",
    "journal",
)
#: GitHub's rules for secret names: letters, digits, `_`; not starting with a digit or GITHUB_.
_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
_OWNER_REPO = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
_ORG = re.compile(r"^[A-Za-z0-9-]{1,39}$")
VISIBILITIES = ("all", "private", "selected")


@dataclass(frozen=True)
class GitHubSettings:
    """One `type: github` provider, checked. Holds the name of the token's variable only."""

    api_url: str = DEFAULT_API_URL
    token_env: str = "GITHUB_TOKEN"
    #: The store provider (default `local`) that keeps the versions GitHub cannot give back.
    journal: str = "local"
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    #: Send the token with credential revocations: github.com refuses authenticated ones
    #: (403), GitHub Enterprise Server documents them with a token; default by `api_url`.
    revoke_authenticated: bool = False


@dataclass(frozen=True)
class SecretPlace:
    """Where one Actions secret lives: a repository, one of its environments, or an org."""

    secret: str
    repository: str | None = None
    environment: str | None = None
    org: str | None = None
    visibility: str = "private"
    selected_repository_ids: tuple[int, ...] = ()
    #: The secret's place in the journal store (Vault: mount, path, key); empty for `local`.
    journal: Options = field(default_factory=FrozenMap)

    @property
    def base(self) -> str:
        """The API path the secrets (and their public key) of this place are under."""
        if self.org is not None:
            return f"/orgs/{self.org}/actions/secrets"
        if self.environment is not None:
            env = quote(self.environment, safe="")
            return f"/repos/{self.repository}/environments/{env}/secrets"
        return f"/repos/{self.repository}/actions/secrets"

    def __str__(self) -> str:
        if self.org is not None:
            return f"org {self.org} secret {self.secret}"
        if self.environment is not None:
            return f"{self.repository} environment {self.environment} secret {self.secret}"
        return f"{self.repository} secret {self.secret}"


def parse_settings(provider: str, options: Options, origin: Origin) -> GitHubSettings:
    """The provider's options, checked. Raises ConfigError (at `origin`)."""
    check = OptionChecker(f"provider {provider!r}", origin)
    check.keys(options, _PROVIDER_KEYS)
    api_url = check.string(options, "api_url") or DEFAULT_API_URL
    problem = url_problem(api_url)
    if problem is not None:
        raise check.error(f"'api_url': {problem}")
    authenticated = check.boolean(options, "revoke_authenticated")
    api_url = api_url.rstrip("/")
    return GitHubSettings(
        api_url=api_url,
        token_env=check.env_name(options, "token_env", "GITHUB_TOKEN") or "GITHUB_TOKEN",
        journal=check.string(options, "journal") or "local",
        timeout=check.timeout(options.get("timeout"), DEFAULT_TIMEOUT),
        ca_file=check.string(options, "ca_file"),
        revoke_authenticated=(
            api_url != DEFAULT_API_URL if authenticated is None else authenticated
        ),
    )


def parse_place(secret: str, where: Options, origin: Origin | None = None) -> SecretPlace:
    """A secret's `store:` options in GitHub, checked. Raises ConfigError."""
    check = OptionChecker(f"secret {secret!r}: store", origin)
    fail = check.error
    check.keys(where, _PLACE_KEYS)
    name = check.string(where, "secret")
    if not name:
        raise fail("'secret' is missing (the Actions secret's name, e.g. DEPLOY_TOKEN)")
    if not _SECRET_NAME.match(name) or name.upper().startswith("GITHUB_"):
        raise fail(
            f"'secret' {name!r} must be letters, digits and _, not start with a digit or GITHUB_"
        )
    repository = check.string(where, "repository")
    org = check.string(where, "org")
    environment = check.string(where, "environment")
    if (repository is None) == (org is None):
        raise fail("give one of 'repository' (owner/repo) and 'org'")
    if repository is not None and not _OWNER_REPO.match(repository):
        raise fail(f"'repository' must be owner/repo, got {repository!r}")
    if org is not None and not _ORG.match(org):
        raise fail(f"'org' must be an organisation's login, got {org!r}")
    if environment is not None and (org is not None or not environment.strip()):
        raise fail("'environment' needs 'repository' and a non-empty name")
    visibility = check.string(where, "visibility")
    ids = where.get("selected_repository_ids", ())
    if org is None and (visibility is not None or ids):
        raise fail("'visibility' and 'selected_repository_ids' are for org secrets")
    visibility = visibility or "private"
    if visibility not in VISIBILITIES:
        raise fail(f"'visibility' must be one of {', '.join(VISIBILITIES)}, got {visibility!r}")
    if not isinstance(ids, tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise fail("'selected_repository_ids' must be a list of repository ids (numbers)")
    if (visibility == "selected") != bool(ids):
        raise fail("visibility 'selected' goes with 'selected_repository_ids', and only it")
    journal = where.get("journal", FrozenMap())
    if not isinstance(journal, FrozenMap):
        raise fail("'journal' must be a mapping (the secret's place in the journal store)")
    return SecretPlace(
        secret=name,
        repository=repository,
        environment=environment,
        org=org,
        visibility=visibility,
        selected_repository_ids=tuple(int(i) for i in ids if isinstance(i, int)),
        journal=journal,
    )
