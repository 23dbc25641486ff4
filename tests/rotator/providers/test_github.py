"""The github provider against a local GitHub (github_server): Actions secrets written as
sealed boxes the server opens with its private key, the journal that keeps their versions,
credential revocation in batches with a rate limit, and `providers check`."""

from __future__ import annotations

import functools
import operator
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.config.options import FrozenMap
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.errors import ConfigError, ProviderConflictError, ProviderError
from leakstop.rotator.machine import Machine, Outcome
from leakstop.rotator.providers.base import CURRENT, PENDING
from leakstop.rotator.providers.github import GitHubProvider
from leakstop.rotator.providers.github_api import GitHubApi
from leakstop.rotator.providers.github_options import GitHubSettings, parse_place
from leakstop.rotator.providers.github_revoke import RevocationStatus, revoke_tokens
from leakstop.rotator.providers.github_secrets import ActionsSecrets
from leakstop.rotator.providers.github_store import GitHubSecretsStore
from leakstop.rotator.providers.local import LocalStoreProvider
from leakstop.store import LocalStore
from tests.rotator.fake_issuer import FileIssuer
from tests.rotator.providers.github_server import TOKEN, FakeGitHub

REPO_BASE = "/repos/acme/api/actions/secrets"
ENV_BASE = "/repos/acme/api/environments/prod eu/secrets"  # as the server decodes it
ORG_BASE = "/orgs/acme/actions/secrets"
WHERE = FrozenMap({"repository": "acme/api", "secret": "DEPLOY_TOKEN"})


def pat(seed: str) -> str:
    """A classic PAT's shape (ghp_ + 36 base62); the checksum is not checked by GitHub here."""
    return "ghp_" + (seed * 36)[:36]


@pytest.fixture
def github(httpserver_ipv4: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver_ipv4)


def provider(github: FakeGitHub, token: str | None = TOKEN, **options: object) -> GitHubProvider:
    settings = GitHubSettings(api_url=github.url, **options)  # type: ignore[arg-type]
    return GitHubProvider("github", settings, {"GITHUB_TOKEN": token} if token else {})


@pytest.fixture
def journal(tmp_path: Path) -> LocalStoreProvider:
    audit_log = AuditLog.open(tmp_path / "audit", b"audit key of the github tests")
    store = LocalStore.init(
        tmp_path,
        "default",
        b"master of the github tests",
        audit_log,
        Context("tester", Source.CLI),
        iterations=1000,
    )
    return LocalStoreProvider(store)


@pytest.fixture
def store(github: FakeGitHub, journal: LocalStoreProvider) -> GitHubSecretsStore:
    return provider(github).store_with(journal)


def test_a_promoted_value_reaches_github_sealed_and_opens_with_the_private_key(
    github: FakeGitHub, store: GitHubSecretsStore
) -> None:
    first = store.put_pending("ci/deploy", WHERE, b"first-value-0123456789", None)
    assert (REPO_BASE, "DEPLOY_TOKEN") not in github.secrets  # pending stays in the journal
    store.promote("ci/deploy", WHERE, first.version, None)
    assert github.value(REPO_BASE, "DEPLOY_TOKEN") == b"first-value-0123456789"
    second = store.put_pending("ci/deploy", WHERE, b"second-value-987654321", first.version)
    assert github.value(REPO_BASE, "DEPLOY_TOKEN") == b"first-value-0123456789"
    assert store.pending("ci/deploy", WHERE).labels == (PENDING,)  # type: ignore[union-attr]
    store.promote("ci/deploy", WHERE, second.version, first.version)
    assert github.value(REPO_BASE, "DEPLOY_TOKEN") == b"second-value-987654321"
    assert CURRENT in store.current("ci/deploy", WHERE).labels  # type: ignore[union-attr]
    assert store.read("ci/deploy", WHERE, first.version) == b"first-value-0123456789"
    # The value crossed the wire only sealed.
    assert not any(
        b"value-0123456789" in body or b"value-987654321" in body for body in github.bodies
    )


def test_environment_and_org_secrets_use_their_own_keys(
    github: FakeGitHub, store: GitHubSecretsStore
) -> None:
    env = FrozenMap({"repository": "acme/api", "environment": "prod eu", "secret": "DB_PASSWORD"})
    org = FrozenMap(
        {
            "org": "acme",
            "secret": "NPM_TOKEN",
            "visibility": "selected",
            "selected_repository_ids": (12, 34),
        }
    )
    for name, where, value in (
        ("ci/env", env, b"environment-value-1"),
        ("ci/org", org, b"org-value-22"),
    ):
        version = store.put_pending(name, where, value, None)
        store.promote(name, where, version.version, None)
    assert github.value(ENV_BASE, "DB_PASSWORD") == b"environment-value-1"
    assert github.value(ORG_BASE, "NPM_TOKEN") == b"org-value-22"
    extra = github.secrets[(ORG_BASE, "NPM_TOKEN")].extra
    assert extra == {"visibility": "selected", "selected_repository_ids": [12, 34]}


def test_a_discarded_pending_value_never_reaches_github(
    github: FakeGitHub, store: GitHubSecretsStore
) -> None:
    version = store.put_pending("ci/deploy", WHERE, b"abandoned-value-000", None)
    store.discard_pending("ci/deploy", WHERE, version.version)
    assert store.pending("ci/deploy", WHERE) is None
    assert (REPO_BASE, "DEPLOY_TOKEN") not in github.secrets


def test_promote_checks_the_journal_first(github: FakeGitHub, store: GitHubSecretsStore) -> None:
    version = store.put_pending("ci/deploy", WHERE, b"some-value-abcdefgh", None)
    with pytest.raises(ProviderConflictError):
        store.promote("ci/deploy", WHERE, version.version, "7")
    assert (REPO_BASE, "DEPLOY_TOKEN") not in github.secrets


def test_promote_refuses_a_version_that_is_not_pending_before_writing_github(
    github: FakeGitHub, store: GitHubSecretsStore
) -> None:
    old = store.put_pending("ci/deploy", WHERE, b"old-revoked-value-01", None)
    store.promote("ci/deploy", WHERE, old.version, None)
    new = store.put_pending("ci/deploy", WHERE, b"new-working-value-02", old.version)
    store.promote("ci/deploy", WHERE, new.version, old.version)
    # A stale caller names a version the journal still holds but that is not pending (the
    # previous one, whose credential is revoked after the grace period), with the right
    # current version: the journal's check-and-set comes after the GitHub write, too late.
    with pytest.raises(ProviderConflictError, match="no longer pending") as raised:
        store.promote("ci/deploy", WHERE, old.version, new.version)
    assert "value" not in str(raised.value)
    # And a version another run discarded (its lease had run out) and replaced with its own.
    stale = store.put_pending("ci/deploy", WHERE, b"discarded-value-0003", new.version)
    store.discard_pending("ci/deploy", WHERE, stale.version)
    replacing = store.put_pending("ci/deploy", WHERE, b"replacing-value-0004", new.version)
    with pytest.raises(ProviderConflictError, match="no longer pending"):
        store.promote("ci/deploy", WHERE, stale.version, new.version)
    assert github.value(REPO_BASE, "DEPLOY_TOKEN") == b"new-working-value-02"
    assert store.pending("ci/deploy", WHERE).version == replacing.version  # type: ignore[union-attr]
    store.promote("ci/deploy", WHERE, replacing.version, new.version)
    assert github.value(REPO_BASE, "DEPLOY_TOKEN") == b"replacing-value-0004"


def test_github_refusing_the_write_keeps_the_rotation_pending(
    github: FakeGitHub, store: GitHubSecretsStore
) -> None:
    github.forbidden.add(REPO_BASE)
    version = store.put_pending("ci/deploy", WHERE, b"blocked-value-12345", None)
    with pytest.raises(ProviderError, match="403") as raised:
        store.promote("ci/deploy", WHERE, version.version, None)
    assert "blocked-value" not in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert store.pending("ci/deploy", WHERE) is not None
    assert store.current("ci/deploy", WHERE) is None


def test_a_bad_token_is_one_line_without_the_token(
    github: FakeGitHub, journal: LocalStoreProvider
) -> None:
    wrong = pat("Wr0ng")
    store = provider(github, token=wrong).store_with(journal)
    version = store.put_pending("ci/deploy", WHERE, b"value-for-bad-token", None)
    with pytest.raises(ProviderError, match="401") as raised:
        store.promote("ci/deploy", WHERE, version.version, None)
    assert wrong not in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_token_says_which_variable(
    github: FakeGitHub, journal: LocalStoreProvider
) -> None:
    store = provider(github, token=None).store_with(journal)
    version = store.put_pending("ci/deploy", WHERE, b"value-without-token", None)
    with pytest.raises(ProviderError, match=r"\$GITHUB_TOKEN is not set"):
        store.promote("ci/deploy", WHERE, version.version, None)


def test_github_down_is_a_provider_error(journal: LocalStoreProvider) -> None:
    settings = GitHubSettings(api_url="http://127.0.0.1:9", timeout=2)
    store = GitHubProvider("github", settings, {"GITHUB_TOKEN": TOKEN}).store_with(journal)
    version = store.put_pending("ci/deploy", WHERE, b"value-github-down-1", None)
    with pytest.raises(ProviderError, match=r"cannot reach http://127\.0\.0\.1:9"):
        store.promote("ci/deploy", WHERE, version.version, None)


# Revocation


def test_tokens_are_revoked_in_batches_of_a_thousand_unauthenticated(github: FakeGitHub) -> None:
    tokens = [pat(f"{i:04d}x") for i in range(2500)]
    results = provider(github).revoke_tokens([*tokens, tokens[0]])
    assert [len(batch) for batch in github.revoked] == [1000, 1000, 500]
    assert functools.reduce(operator.iadd, github.revoked, []) == tokens
    assert len(results) == 2500
    assert all(r.status is RevocationStatus.SUBMITTED for r in results)
    assert all("Authorization" not in headers for headers in github.headers)
    assert results[0].redacted.startswith("ghp_…")
    assert tokens[0] not in results[0].redacted


def test_a_rate_limit_stops_and_reports_when_to_try_again(httpserver_ipv4: HTTPServer) -> None:
    github = FakeGitHub(httpserver_ipv4, revoke_limit=1)
    tokens = [pat(f"{i:04d}y") for i in range(2100)]
    results = revoke_tokens(tokens, github.url, environ={})
    assert github.revoke_requests == 2  # the first batch, then one 429, then nothing
    assert {r.status for r in results[:1000]} == {RevocationStatus.SUBMITTED}
    limited = results[1000:]
    assert {r.status for r in limited} == {RevocationStatus.RATE_LIMITED}
    assert {r.retry_after for r in limited} == {1800.0}
    assert "1800s" in limited[0].detail


def test_only_revocable_kinds_are_sent(github: FakeGitHub) -> None:
    installation = "ghs_" + "A" * 36
    results = provider(github).revoke_tokens([installation, "not-a-token"])
    assert [r.status for r in results] == [RevocationStatus.UNSUPPORTED] * 2
    assert github.revoked == []


def test_github_enterprise_revokes_with_the_token(github: FakeGitHub) -> None:
    # github.com refuses an authenticated revocation (the fake does too): that is a failure.
    results = provider(github, revoke_authenticated=True).revoke_tokens([pat("E")])
    assert results[0].status is RevocationStatus.FAILED
    assert "403" in results[0].detail


def test_the_issuer_revokes_a_managed_leaked_token(github: FakeGitHub) -> None:
    leaked = pat("Leak3d")
    issuer = provider(github)
    issuer.revoke("ci/bot-pat", FrozenMap(), leaked.encode())
    assert github.revoked == [[leaked]]
    with pytest.raises(ProviderError, match="only revokes leaked tokens"):
        issuer.apply("ci/bot-pat", FrozenMap(), b"x", None)


def test_the_issuer_fails_loudly_when_github_rejects(httpserver_ipv4: HTTPServer) -> None:
    github = FakeGitHub(httpserver_ipv4, revoke_limit=0)
    leaked = pat("Limit")
    with pytest.raises(ProviderError, match="rate_limited") as raised:
        provider(github).revoke("ci/bot-pat", FrozenMap(), leaked.encode())
    assert leaked not in str(raised.value)


# providers check


def _managed(name: str, where: FrozenMap) -> ManagedSecret:  # type: ignore[type-arg]
    return ManagedSecret(name=name, store=StoreRef("github", where), issuer=IssuerRef("hook"))


def test_check_reads_every_configured_public_key(github: FakeGitHub) -> None:
    ok = _managed("ci/deploy", WHERE)
    other = FrozenMap({"repository": "acme/web", "secret": "DEPLOY_TOKEN"})
    github.forbidden.add("/repos/acme/web/actions/secrets")
    problems = provider(github).check([ok, _managed("ci/web", other)])
    assert len(problems) == 1
    assert problems[0].startswith("ci/web:")
    assert "403" in problems[0]


def test_check_reports_a_bad_or_missing_token(github: FakeGitHub) -> None:
    assert "401" in provider(github, token=pat("Bad")).check([])[0]
    stored = [_managed("ci/deploy", WHERE)]
    assert provider(github, token=None).check(stored) == ["$GITHUB_TOKEN is not set"]
    # Only revoking, on github.com: no token needed, GitHub reachable is enough.
    assert provider(github, token=None).check([]) == []
    assert provider(github, token=None, revoke_authenticated=True).check([]) == [
        "$GITHUB_TOKEN is not set"
    ]


# Options


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"repository": "acme/api"}, "'secret' is missing"),
        ({"repository": "acme/api", "secret": "GITHUB_X"}, "not start with a digit or GITHUB_"),
        ({"secret": "X"}, "give one of 'repository'"),
        ({"repository": "acme/api", "org": "acme", "secret": "X"}, "give one of 'repository'"),
        ({"repository": "acme", "secret": "X"}, "must be owner/repo"),
        ({"org": "acme", "environment": "prod", "secret": "X"}, "'environment' needs"),
        ({"org": "acme", "secret": "X", "visibility": "selected"}, "goes with"),
        ({"repository": "acme/api", "secret": "X", "visibility": "all"}, "are for org secrets"),
        ({"repository": "acme/api", "secret": "X", "path": "p"}, "unknown option path"),
    ],
)
def test_bad_places_are_config_errors(where: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_place("ci/x", FrozenMap(where))  # type: ignore[arg-type]


def test_a_run_killed_between_github_and_the_journal_is_finished_by_the_next(
    github: FakeGitHub, store: GitHubSecretsStore, tmp_path: Path
) -> None:
    managed = ManagedSecret(
        name="ci/deploy",
        store=StoreRef("github", WHERE),
        issuer=IssuerRef("file"),
        policy=RotationPolicy(interval=timedelta(days=30), grace=timedelta(0)),
    )
    issuer = FileIssuer(tmp_path / "working.json")
    first = store.put_pending("ci/deploy", WHERE, b"old-working-value-01", None)
    store.promote("ci/deploy", WHERE, first.version, None)
    issuer.apply("ci/deploy", FrozenMap(), b"old-working-value-01", None)
    # The dead run: new value pending, applied, tested, written to GitHub; then killed.
    pending = store.put_pending("ci/deploy", WHERE, b"new-working-value-02", first.version)
    issuer.apply("ci/deploy", FrozenMap(), b"new-working-value-02", b"old-working-value-01")
    ActionsSecrets(provider(github).api).write(
        parse_place("ci/deploy", WHERE), b"new-working-value-02"
    )
    audit_log = AuditLog.open(tmp_path / "audit2", b"audit key of the resume test")
    machine = Machine(store, issuer, audit_log, Context("t", Source.CLI), lease=timedelta(0))
    result = machine.rotate(managed)
    assert result.outcome is Outcome.RESUMED, result.error
    assert result.new_version == pending.version
    assert store.current("ci/deploy", WHERE).version == pending.version  # type: ignore[union-attr]
    assert store.pending("ci/deploy", WHERE) is None
    assert github.value(REPO_BASE, "DEPLOY_TOKEN") == b"new-working-value-02"
    assert issuer.working() == {"new-working-value-02"}


def test_a_primary_rate_limit_403_says_when_it_resets(httpserver_ipv4: HTTPServer) -> None:
    httpserver_ipv4.expect_request("/credentials/revoke").respond_with_json(
        {"message": "API rate limit exceeded"},
        status=403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000600"},
    )
    settings = GitHubSettings(api_url=httpserver_ipv4.url_for("").rstrip("/"))
    api = GitHubApi("github", settings, {}, clock=lambda: 1700000000.0)
    (result,) = revoke_tokens([pat("Reset")], api=api)
    assert result.status is RevocationStatus.RATE_LIMITED
    assert result.retry_after == 600.0
    assert "again in 600s" in result.detail
