"""From a value committed to a file to a new version in a cloud store, through the CLI:
`respond` confirms it against the value in a (local HTTPS) Azure Key Vault, `respond --apply`
rotates it there through the real SDK, and `audit query` shows it, with no value anywhere;
`providers check` says what is wrong with a Key Vault and a Secret Manager, one line each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakstop.cli import main
from leakstop.rotator.providers.azure_keyvault import LABEL_TAG
from tests.conftest import GitRepo
from tests.rotator.providers.fake_keyvault import FakeKeyVault
from tests.rotator.providers.fake_secretmanager import FakeSecretManager

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAKED = "Hv4Qz8TnLw2Kx7Rb5Mc3"
AUDIT_KEY = "audit key of the cloud store e2e test"


@pytest.fixture
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKeyVault]:
    fake = FakeKeyVault(tmp_path_factory.mktemp("kv"))
    yield fake
    fake.stop()


def _config(vault: FakeKeyVault, extra: str = "") -> str:
    return (
        "version: 1\nproviders:\n"
        f"  kv: {{type: azure-keyvault, vault_url: '{vault.url}',\n"
        "       auth: {method: token, token_env: KV_ACCESS_TOKEN},\n"
        f"       tls: {{ca_file: '{vault.ca_file}'}}}}\n"
        f"{extra}"
        "secrets:\n  - name: billing/db-password\n"
        "    store: {provider: kv, name: billing-db-password}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )


def test_a_committed_value_is_rotated_in_key_vault_and_audited(
    vault: FakeKeyVault,
    git_repo: GitRepo,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old_version = vault.put("billing-db-password", LEAKED)
    monkeypatch.chdir(git_repo.path)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("KV_ACCESS_TOKEN", vault.token)
    git_repo.write(".leakstop.yaml", _config(vault))
    git_repo.write("deploy/app.env", f'DB_USER=billing_app\nDB_PASSWORD="{LEAKED}"\n')
    git_repo.commit("deploy config")

    assert main(["respond", "--git", "-j", "1", "-f", "json"]) == 0
    plan_text = capsys.readouterr().out
    (entry,) = [e for e in json.loads(plan_text)["plan"] if e["confirmed"]]
    assert (entry["managed_secret"], entry["action"], entry["path"]) == (
        "billing/db-password",
        "rotate",
        "deploy/app.env",
    )
    assert len(vault.secrets["billing-db-password"]) == 1  # the plan touched nothing

    assert main(["respond", "--git", "--apply", "-j", "1", "-f", "json"]) == 0
    apply_text = capsys.readouterr().out
    (result,) = json.loads(apply_text)["results"]
    assert result["outcome"] == "rotated"
    # grace 0: the leaked version is disabled in the same run.
    assert result["steps"] == ["create", "set", "finish", "revoke"]
    new = vault.latest("billing-db-password")
    assert new.tags[LABEL_TAG] == "current"
    assert new.value != LEAKED
    assert vault.version("billing-db-password", old_version).enabled is False

    assert main(["audit", "query", "--secret", "billing/db-password", "-f", "json"]) == 0
    query_text = capsys.readouterr().out
    actions = [r["action"] for r in json.loads(query_text)]
    assert {"rotation_started", "rotation_step", "revoked", "rotation_completed"} <= set(actions)
    assert main(["audit", "verify"]) == 0
    written = b"".join(p.read_bytes() for p in (private_home / "audit").glob("*.jsonl"))
    printed = plan_text + apply_text + query_text + capsys.readouterr().err
    for value in (LEAKED, new.value):
        assert value.encode() not in written
        assert value not in printed


def test_providers_check_names_each_cloud_store_problem_on_one_line(
    vault: FakeKeyVault,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gsm = FakeSecretManager(tmp_path, "billing-prod")
    try:
        vault.put("billing-db-password", LEAKED)
        gsm.put("billing-db", LEAKED.encode())
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("KV_ACCESS_TOKEN", vault.token)
        monkeypatch.setenv("GSM_ACCESS_TOKEN", gsm.token)
        gsm_provider = (
            f"  gsm: {{type: gcp-secretmanager, project: billing-prod, api_endpoint: '{gsm.url}',\n"
            "        auth: {method: token, token_env: GSM_ACCESS_TOKEN},\n"
            f"        tls: {{ca_file: '{gsm.ca_file}'}}}}\n"
        )
        config = _config(vault, gsm_provider) + (
            "  - name: billing/api-key\n    store: {provider: gsm, secret: billing-db}\n"
        )
        (tmp_path / ".leakstop.yaml").write_text(config)
        assert main(["providers", "check"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out == ["✓ kv (azure-keyvault): ok", "✓ gsm (gcp-secretmanager): ok"]

        vault.denied = {"list"}
        gsm.denied = {"access"}
        assert main(["providers", "check"]) == 1
        out = capsys.readouterr().out.splitlines()
        assert len(out) == 2
        assert out[0].startswith("✗ kv (azure-keyvault): billing/db-password: ")
        assert "permission denied" in out[0]
        assert out[1].startswith("✗ gsm (gcp-secretmanager): billing/api-key: ")
        assert "permission denied" in out[1]

        monkeypatch.delenv("KV_ACCESS_TOKEN")
        gsm.stop()
        assert main(["providers", "check"]) == 1
        out = capsys.readouterr().out.splitlines()
        assert "KV_ACCESS_TOKEN, which is not set" in out[0]
        assert "cannot connect" in out[1]
        assert all(LEAKED not in line for line in out)
    finally:
        gsm.stop()
