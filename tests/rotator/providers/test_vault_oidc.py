"""The vault provider logging in as a GitHub Actions job: OpenBao's jwt auth trusts a local
OIDC issuer (found through its discovery document), the role admits one repository and one
audience, and the job's token comes from the runner's endpoint as in a real workflow."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.audit.verify import verify
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import ManagedSecret, StoreRef
from leakstop.errors import ProviderError
from leakstop.rotator.machine import Machine, Outcome
from leakstop.rotator.providers.vault import VaultProvider
from tests.rotator.providers.bao import BaoServer, kv_data, running_bao, where
from tests.rotator.providers.bao_jwt import add_jwt_role, configure_jwt_auth
from tests.rotator.providers.oidc_issuer import Job, OidcIssuer, running_issuer

pytestmark = pytest.mark.slow

REPOSITORY = "acme/billing"
#: What the workflow asks the runner for, and the only audience the role admits.
AUDIENCE = "https://vault.acme.example"
ROLE = "leakstop-billing"
#: A second role that admits GitHub's default audience (the owner's URL).
OWNER_ROLE = "leakstop-owner-audience"
#: A third that admits only jobs running in the protected environment `production`.
APPLY_ROLE = "leakstop-apply"
OLD_PASSWORD = "Tq8wZr3NvK5pXm2LbY7c"
AUDIT_KEY = b"audit key of the vault oidc tests"


@pytest.fixture(scope="module")
def issuer_server() -> Iterator[OidcIssuer]:
    yield from running_issuer()


@pytest.fixture
def issuer(issuer_server: OidcIssuer) -> OidcIssuer:
    """The module's issuer, minting for the default job again."""
    issuer_server.job = Job(repository=REPOSITORY)
    issuer_server.issued_at = None
    issuer_server.audiences.clear()
    return issuer_server


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory, issuer_server: OidcIssuer) -> Iterator[BaoServer]:
    for server in running_bao(tmp_path_factory.mktemp("bao-oidc")):
        configure_jwt_auth(server, issuer_server)
        add_jwt_role(server, ROLE, AUDIENCE, {"repository": REPOSITORY})
        add_jwt_role(server, OWNER_ROLE, "https://github.com/acme", {"repository": REPOSITORY})
        add_jwt_role(
            server, APPLY_ROLE, AUDIENCE, {"repository": REPOSITORY, "environment": "production"}
        )
        yield server


def job_provider(
    bao: BaoServer, issuer: OidcIssuer, role: str = ROLE, audience: str | None = AUDIENCE
) -> VaultProvider:
    """The provider as a job configures it, with only the runner's variables to log in."""
    auth: dict[str, Any] = {"method": "jwt", "role": role}
    if audience is not None:
        auth["audience"] = audience
    return bao.provider({"auth": auth}, issuer.runner_environ())


def seed(bao: BaoServer, path: str) -> None:
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"password": OLD_PASSWORD, "user": "billing"}, mount_point="secret"
    )


def refusal(provider: VaultProvider, path: str = "billing/any") -> str:
    with pytest.raises(ProviderError) as raised:
        provider.current(path, where(path))
    return str(raised.value)


def assert_no_credentials(text: str, issuer: OidcIssuer, *tokens: str) -> None:
    for secret in (*issuer.minted, issuer.request_token, *tokens):
        assert secret not in text
    for token in issuer.minted:
        assert token.split(".")[2] not in text  # not even the signature on its own
    assert not re.search(r"\bs\.[A-Za-z0-9]{24}\b", text)  # an OpenBao service token


def test_a_job_logs_in_with_its_oidc_token_and_rotates_a_kv_secret(
    bao: BaoServer, issuer: OidcIssuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seed(bao, "billing/db")
    provider = job_provider(bao, issuer)
    audit_log = AuditLog.open(tmp_path / "audit", AUDIT_KEY)
    secret = ManagedSecret(
        name="billing/db-password",
        store=StoreRef("vault", where("billing/db")),
        policy=RotationPolicy(),
    )

    with caplog.at_level(logging.DEBUG):
        result = Machine(provider, None, audit_log, Context("ci", Source.ACTION)).rotate(secret)
        login_token = provider._session.client().token
        looked_up = bao.admin.auth.token.lookup(login_token)["data"]
        provider.close()

    assert result.outcome is Outcome.ROTATED, result.error
    stored = kv_data(bao.admin, "billing/db")
    assert stored["password"] != OLD_PASSWORD
    assert len(stored["password"]) >= 20
    assert stored["user"] == "billing"
    # The login is the job's: its token was asked for with the configured audience, and the
    # Vault token carries the role's policy and the job's subject.
    assert issuer.audiences == [AUDIENCE]
    assert looked_up["policies"] == ["billing-rotator", "default"]
    assert looked_up["meta"]["role"] == ROLE
    assert looked_up["display_name"] == f"jwt-repo:{REPOSITORY}:ref:refs/heads/main"
    with pytest.raises(hvac.exceptions.Forbidden):  # close() revoked the login
        bao.admin.auth.token.lookup(login_token)
    verify(tmp_path / "audit", AUDIT_KEY)
    audit_text = "".join(p.read_text() for p in (tmp_path / "audit").glob("*.jsonl"))
    assert "rotation_completed" in audit_text
    for text in (audit_text, caplog.text, repr(provider)):
        assert_no_credentials(text, issuer, login_token)
        assert stored["password"] not in text
        assert OLD_PASSWORD not in text


def test_a_token_for_another_repository_is_refused(bao: BaoServer, issuer: OidcIssuer) -> None:
    issuer.for_job(repository="mallory/billing")

    message = refusal(job_provider(bao, issuer))

    assert message == (
        f"vault 'vault': JWT login as role '{ROLE}' at auth/jwt: request refused: error "
        'validating claims: claim "repository" does not match any associated bound claim values'
    )
    assert len(issuer.minted) >= 1
    assert_no_credentials(message, issuer)


def test_a_token_for_another_audience_is_refused(bao: BaoServer, issuer: OidcIssuer) -> None:
    message = refusal(job_provider(bao, issuer, audience="https://vault.elsewhere.example"))

    assert issuer.audiences == ["https://vault.elsewhere.example"]
    assert message.startswith(f"vault 'vault': JWT login as role '{ROLE}' at auth/jwt: ")
    assert "invalid audience (aud) claim" in message
    assert "\n" not in message
    assert_no_credentials(message, issuer)


def test_the_audience_is_configurable_and_defaults_to_githubs(
    bao: BaoServer, issuer: OidcIssuer
) -> None:
    seed(bao, "billing/audience")
    # No `audience`: the runner mints for the owner's URL, which only the second role admits.
    assert "invalid audience" in refusal(job_provider(bao, issuer, audience=None))
    owner_role = job_provider(bao, issuer, role=OWNER_ROLE, audience=None)
    assert owner_role.current("billing/audience", where("billing/audience")) is not None
    configured = job_provider(bao, issuer, audience=AUDIENCE)
    assert configured.current("billing/audience", where("billing/audience")) is not None

    assert issuer.audiences == [None, None, AUDIENCE]


def test_a_role_bound_to_an_environment_admits_only_jobs_in_it(
    bao: BaoServer, issuer: OidcIssuer
) -> None:
    seed(bao, "billing/environment")

    outside = refusal(job_provider(bao, issuer, role=APPLY_ROLE), "billing/environment")
    issuer.for_job(environment="staging")
    elsewhere = refusal(job_provider(bao, issuer, role=APPLY_ROLE), "billing/environment")
    issuer.for_job(environment="production")
    inside = job_provider(bao, issuer, role=APPLY_ROLE)

    assert outside.endswith('error validating claims: claim "environment" is missing')
    assert 'claim "environment" does not match' in elsewhere
    assert inside.current("billing/environment", where("billing/environment")) is not None
    login = bao.admin.auth.token.lookup(inside._session.client().token)["data"]
    assert login["display_name"] == f"jwt-repo:{REPOSITORY}:environment:production"
    inside.close()


def test_an_expired_token_is_refused(bao: BaoServer, issuer: OidcIssuer) -> None:
    issuer.issued_at = int(time.time()) - 3600  # minted an hour ago, valid for 5 minutes

    message = refusal(job_provider(bao, issuer))

    assert message == (
        f"vault 'vault': JWT login as role '{ROLE}' at auth/jwt: request refused: error "
        "validating token: invalid expiration time (exp) claim: token is expired"
    )
    assert_no_credentials(message, issuer)


def test_a_token_not_signed_by_the_issuer_is_refused(bao: BaoServer, issuer: OidcIssuer) -> None:
    forger = OidcIssuer(
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        kid=issuer.kid,  # the same key id: only the signature tells them apart
        job=issuer.job,
        url=issuer.url,
    )
    forged = forger.mint(AUDIENCE)
    provider = bao.provider(
        {"auth": {"method": "jwt", "role": ROLE, "jwt_env": "JOB_OIDC_TOKEN"}},
        {"JOB_OIDC_TOKEN": forged},
    )

    message = refusal(provider)

    assert message.startswith(f"vault 'vault': JWT login as role '{ROLE}' at auth/jwt: ")
    assert "signature" in message
    assert forged not in message
    assert forged.split(".")[2] not in message


def test_the_runner_endpoint_refusing_says_what_to_check(
    bao: BaoServer, issuer: OidcIssuer
) -> None:
    stale = {**issuer.runner_environ(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "stale-request-token"}
    provider = bao.provider({"auth": {"method": "jwt", "role": ROLE, "audience": AUDIENCE}}, stale)

    message = refusal(provider)

    assert message == (
        "vault 'vault': GitHub Actions OIDC token request: the runner's endpoint answered "
        "HTTP 401 (does the job have 'permissions: id-token: write'?)"
    )
    assert "stale-request-token" not in message
