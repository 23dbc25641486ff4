"""Azure Key Vault and Google Secret Manager from GitHub Actions with no stored cloud
credential: `auth.method: github-oidc` asks the runner for the job's OIDC token and federates it
(Entra ID's client assertion; Google STS, then service account impersonation) through the real
SDKs (azure-identity/MSAL, google-auth). The exchanges are local stand-ins that check the token
as the clouds do (tests/rotator/providers/fake_federation.py): minted by the local GitHub
issuer, for the cloud's audience, for the trusted repository or environment."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakstop.cli import main
from tests.conftest import GitRepo
from tests.rotator.providers.fake_federation import (
    FakeEntra,
    FakeGoogleFederation,
    combined,
    jwt_claims,
)
from tests.rotator.providers.fake_keyvault import TENANT, FakeKeyVault
from tests.rotator.providers.fake_secretmanager import FakeSecretManager
from tests.rotator.providers.https_server import HttpsServer
from tests.rotator.providers.oidc_issuer import OidcIssuer, running_issuer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPOSITORY = "acme/billing"
CLIENT_ID = "6f1c2a9e-3b7d-4e58-a0c4-9d2b7e1f5a38"
WIF = "projects/418230117/locations/global/workloadIdentityPools/github/providers/acme"
SERVICE_ACCOUNT = "leakstop-rotator@billing-prod.iam.gserviceaccount.com"
LEAKED = "Qm7Vt2Lx9Rb4Kc8Wn3Hs"
SECRET_CONFIG = (
    "secrets:\n  - name: billing/db-password\n"
    "    store: {provider: cloud, NAME_KEY: billing-db-password}\n"
    "    policy: {interval: 30d, grace: 0s}\n"
)


@pytest.fixture
def issuer() -> Iterator[OidcIssuer]:
    for running in running_issuer():
        running.for_job(repository=REPOSITORY, environment="leakstop-apply")
        yield running


@pytest.fixture
def job_environ(issuer: OidcIssuer, monkeypatch: pytest.MonkeyPatch, git_repo: GitRepo) -> None:
    for name, value in issuer.runner_environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", "audit key of the cloud oidc tests")
    monkeypatch.chdir(git_repo.path)


@pytest.fixture
def key_vault(tmp_path: Path, issuer: OidcIssuer) -> Iterator[tuple[FakeKeyVault, FakeEntra]]:
    vault = FakeKeyVault(tmp_path, token=f"kv-{secrets.token_hex(16)}")
    entra = FakeEntra(
        issuer,
        TENANT,
        CLIENT_ID,
        subject=f"repo:{REPOSITORY}:environment:leakstop-apply",
        access_token=vault.token,
        base_url=vault.url,
    )
    # Entra ID and the vault answer on one local HTTPS server (one test CA).
    vault.server.route = combined(entra.route, vault.route)
    yield vault, entra
    vault.stop()


def _azure_config(vault: FakeKeyVault) -> str:
    return (
        "version: 1\nproviders:\n"
        f"  cloud: {{type: azure-keyvault, vault_url: '{vault.url}',\n"
        f"          auth: {{method: github-oidc, tenant_id: {TENANT}, client_id: {CLIENT_ID},\n"
        f"                 authority_host: '{vault.url}'}},\n"
        f"          tls: {{ca_file: '{vault.ca_file}'}}}}\n"
    ) + SECRET_CONFIG.replace("NAME_KEY", "name")


@pytest.mark.usefixtures("job_environ")
def test_key_vault_rotation_with_the_jobs_oidc_token(
    key_vault: tuple[FakeKeyVault, FakeEntra],
    issuer: OidcIssuer,
    git_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vault, entra = key_vault
    vault.put("billing-db-password", LEAKED)
    git_repo.write(".leakstop.yaml", _azure_config(vault))

    assert main(["providers", "check"]) == 0
    assert capsys.readouterr().out.splitlines() == ["✓ cloud (azure-keyvault): ok"]
    assert main(["rotate", "billing/db-password", "--apply"]) == 0
    out, err = capsys.readouterr()

    new = vault.latest("billing-db-password")
    assert new.value != LEAKED
    # Entra ID was shown the job's own token, minted for its audience.
    assert entra.assertions
    assert all(a in issuer.minted for a in entra.assertions)
    assert {jwt_claims(a)["aud"] for a in entra.assertions} == {"api://AzureADTokenExchange"}
    for value in (LEAKED, new.value, vault.token, *issuer.minted):
        assert value not in out + err


@pytest.mark.usefixtures("job_environ")
def test_key_vault_refuses_a_job_of_another_repository_in_one_line(
    key_vault: tuple[FakeKeyVault, FakeEntra],
    issuer: OidcIssuer,
    git_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    vault, _entra = key_vault
    vault.put("billing-db-password", LEAKED)
    issuer.for_job(repository="mallory/fork", environment=None)
    git_repo.write(".leakstop.yaml", _azure_config(vault))
    assert main(["providers", "check"]) == 1
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("✗ cloud (azure-keyvault): ")
    assert "AADSTS700213" in line
    assert not any(token in line for token in issuer.minted)


@pytest.fixture
def secret_manager(
    tmp_path: Path, issuer: OidcIssuer
) -> Iterator[tuple[FakeSecretManager, FakeGoogleFederation, HttpsServer]]:
    gsm = FakeSecretManager(tmp_path, "billing-prod", token=f"ya29.sa-{secrets.token_hex(12)}")
    federation = FakeGoogleFederation(
        issuer, WIF, REPOSITORY, SERVICE_ACCOUNT, access_token=gsm.token
    )
    # STS on plain http://127.0.0.1: leakstop allows http only to the loopback interface.
    sts = HttpsServer(combined(federation.route), tmp_path, tls=False)
    yield gsm, federation, sts
    sts.stop()
    gsm.stop()


def _gcp_config(gsm: FakeSecretManager, sts: HttpsServer, auth: str | None = None) -> str:
    """The provider with workload identity federation through `sts`, or with `auth`."""
    federation = (
        f"{{method: github-oidc, workload_identity_provider: '{WIF}',\n"
        f"                 service_account: '{SERVICE_ACCOUNT}',\n"
        f"                 token_url: '{sts.url}/v1/token', iamcredentials_url: '{sts.url}'}}"
    )
    return (
        "version: 1\nproviders:\n"
        f"  cloud: {{type: gcp-secretmanager, project: billing-prod, api_endpoint: '{gsm.url}',\n"
        f"          auth: {auth or federation},\n"
        f"          tls: {{ca_file: '{gsm.ca_file}'}}}}\n"
    ) + SECRET_CONFIG.replace("NAME_KEY", "secret")


@pytest.mark.usefixtures("job_environ")
def test_secret_manager_rotation_with_workload_identity_federation(
    secret_manager: tuple[FakeSecretManager, FakeGoogleFederation, HttpsServer],
    issuer: OidcIssuer,
    git_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gsm, federation, sts = secret_manager
    first = gsm.put("billing-db-password", LEAKED.encode())
    git_repo.write(".leakstop.yaml", _gcp_config(gsm, sts))

    assert main(["providers", "check"]) == 0
    assert capsys.readouterr().out.splitlines() == ["✓ cloud (gcp-secretmanager): ok"]
    assert main(["rotate", "billing/db-password", "--apply"]) == 0
    out, err = capsys.readouterr()

    newest = max(version.number for version in gsm.secrets["billing-db-password"].versions)
    assert newest > first
    assert gsm.payload("billing-db-password", newest) != LEAKED.encode()
    # STS was shown the job's token for the provider's audience, as the action would send it.
    assert federation.exchanges
    for exchange in federation.exchanges:
        assert jwt_claims(exchange["subject_token"])["aud"] == f"https://iam.googleapis.com/{WIF}"
    printed = out + err
    new_value = gsm.payload("billing-db-password", newest).decode()
    for value in (LEAKED, new_value, gsm.token, federation.federated_token, *issuer.minted):
        assert value not in printed


@pytest.mark.usefixtures("job_environ")
def test_secret_manager_refuses_a_job_of_another_repository_in_one_line(
    secret_manager: tuple[FakeSecretManager, FakeGoogleFederation, HttpsServer],
    issuer: OidcIssuer,
    git_repo: GitRepo,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gsm, _federation, sts = secret_manager
    gsm.put("billing-db-password", LEAKED.encode())
    issuer.for_job(repository="mallory/fork", environment=None)
    git_repo.write(".leakstop.yaml", _gcp_config(gsm, sts))
    assert main(["providers", "check"]) == 1
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("✗ cloud (gcp-secretmanager): ")
    assert "Google STS refused the workload identity token" in line
    assert "attribute condition" in line
    assert not any(token in line for token in issuer.minted)


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        (
            "{type: azure-keyvault, vault_url: 'https://kv.vault.azure.net',"
            " auth: {method: github-oidc, client_id: x}}",
            "auth.method github-oidc needs auth.tenant_id",
        ),
        (
            "{type: azure-keyvault, vault_url: 'https://kv.vault.azure.net', auth: {method:"
            " github-oidc, tenant_id: t, client_id: c, authority_host: 'http://login.example'}}",
            "auth.authority_host must be an https URL",
        ),
        (
            "{type: gcp-secretmanager, project: billing-prod,"
            " auth: {method: github-oidc, workload_identity_provider: 'pools/github'}}",
            "auth.workload_identity_provider must be projects/NUMBER",
        ),
        (
            "{type: gcp-secretmanager, project: billing-prod, auth: {method: github-oidc,"
            f" workload_identity_provider: '{WIF}', token_url: 'http://sts.example/v1/token'}}}}",
            "would send credentials in clear text",
        ),
        (
            "{type: gcp-secretmanager, project: billing-prod, auth: {method: github-oidc,"
            f" workload_identity_provider: '{WIF}', tenant_id: t}}}}",
            "unknown option auth.tenant_id",
        ),
    ],
)
def test_bad_oidc_options_are_one_line_at_the_provider(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    provider: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".leakstop.yaml").write_text(
        f"version: 1\nproviders:\n  cloud: {provider}\n" + SECRET_CONFIG.replace("NAME_KEY", "x")
    )
    assert main(["providers", "check"]) == 1
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("✗ cloud (")
    assert ".leakstop.yaml:3" in line
    assert message in line


def test_a_token_is_decoded_the_way_the_fakes_read_it() -> None:
    body = base64.urlsafe_b64encode(json.dumps({"aud": "x"}).encode()).rstrip(b"=").decode()
    assert jwt_claims(f"h.{body}.s") == {"aud": "x"}


@pytest.mark.usefixtures("job_environ")
def test_the_credentials_file_google_github_actions_auth_writes_works_with_the_default_chain(
    secret_manager: tuple[FakeSecretManager, FakeGoogleFederation, HttpsServer],
    issuer: OidcIssuer,
    git_repo: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The documented path: the action writes an external_account file (credential_source:
    the runner's token URL) and points GOOGLE_APPLICATION_CREDENTIALS at it; leakstop's
    `auth: {method: default}` finds it through Application Default Credentials."""
    gsm, federation, sts = secret_manager
    gsm.put("billing-db-password", LEAKED.encode())
    audience = f"https://iam.googleapis.com/{WIF}"
    credentials = {
        "type": "external_account",
        "audience": f"//iam.googleapis.com/{WIF}",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": f"{sts.url}/v1/token",
        "service_account_impersonation_url": f"{sts.url}/v1/projects/-/serviceAccounts/"
        f"{SERVICE_ACCOUNT}:generateAccessToken",
        "credential_source": {
            "url": f"{issuer.request_url}&audience={audience}",
            "headers": {"Authorization": f"Bearer {issuer.request_token}"},
            "format": {"type": "json", "subject_token_field_name": "value"},
        },
    }
    (tmp_path / "gha-creds.json").write_text(json.dumps(credentials))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "gha-creds.json"))
    git_repo.write(".leakstop.yaml", _gcp_config(gsm, sts, auth="{method: default}"))

    assert main(["rotate", "billing/db-password", "--apply"]) == 0
    out, err = capsys.readouterr()
    newest = max(version.number for version in gsm.secrets["billing-db-password"].versions)
    assert gsm.payload("billing-db-password", newest) != LEAKED.encode()
    assert federation.exchanges
    assert issuer.audiences[-1] == audience
    assert issuer.request_token not in out + err
