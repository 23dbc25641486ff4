"""No secret escapes, part two (issue 17): what test_no_secret_escapes.py does not run — the
local store's master-key rotation, backup and restore, an emergency revocation that waits for
a second person and is approved, a Microsoft Teams notifier, and a rotation in (a local HTTPS)
Azure Key Vault through the real SDK — with debug logging, then every byte written is searched
with the same machinery (tests/e2e/secret_search.py).

Key Vault itself is the one place its values may go; `store get` is asked to print one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakstop.rotator.providers.azure_keyvault import LABEL_TAG
from tests.conftest import GitRepo
from tests.e2e.secret_search import SecretSearch, Witness, snapshot
from tests.e2e.test_no_secret_escapes import Recorder, World
from tests.rotator.providers.fake_keyvault import FakeKeyVault

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOCAL_VALUE = "acme_Nw4Tz8Qp2Lx6Vb9Kr3Hm7Js1Df5Gc0Ye"
KV_VALUE = "Xq2Lm8Vt4Rz6Np9Wk3Bj"
MASTER_KEY = "master-key-Ub6Yt3Rw9Pq1Zx"
NEW_MASTER_KEY = "new-master-key-Hc8Lv2Nd5Tg7"
AUDIT_KEY = "audit-key-Wr5Ky9Qm3Fb7Tp"
TEAMS_PATH = "/webhookb2/Fz3Qx8Lr5Vn1Ht"


@pytest.fixture
def keyvault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeKeyVault]:
    fake = FakeKeyVault(tmp_path_factory.mktemp("kv"))
    yield fake
    fake.stop()


@pytest.fixture
def teams() -> Iterator[Recorder]:
    server = Recorder("teams")
    yield server
    server.stop()


def _config(keyvault: FakeKeyVault) -> str:
    return f"""version: 1
providers:
  kv: {{type: azure-keyvault, vault_url: '{keyvault.url}',
       auth: {{method: token, token_env: KV_ACCESS_TOKEN}}, tls: {{ca_file: '{keyvault.ca_file}'}}}}
secrets:
  - name: billing/api-key
    store: {{provider: local}}
    generate: {{length: 32, prefix: acme_}}
    policy: {{interval: 1d, grace: 0s}}
  - name: billing/db-password
    store: {{provider: kv, name: billing-db-password}}
    policy: {{interval: 30d, grace: 0s}}
revocation: {{approval_from: high}}
notifications:
  - name: ops
    type: teams
    url_env: TEAMS_WEBHOOK
    events: [rotation_failed, rotation_finished, revocation, leak_confirmed, expiring, anomaly]
"""


@pytest.fixture
def world(
    git_repo: GitRepo,
    tmp_path: Path,
    keyvault: FakeKeyVault,
    teams: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> World:
    keyvault.put("billing-db-password", KV_VALUE)
    git_repo.write(".leakstop.yaml", _config(keyvault))
    git_repo.commit("config")
    git_repo.write("billing.env", f'ACME_API_KEY={LOCAL_VALUE}\nDB_PASSWORD="{KV_VALUE}"\n')
    git_repo.commit("leak")
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    for key in os.environ:
        if key.startswith(("LEAKSTOP_", "GITHUB_", "AWS_", "AZURE_", "RUNNER_")):
            monkeypatch.delenv(key)
    env = dict(
        HOME=str(home),
        TMPDIR=str(home / "tmp"),
        XDG_CACHE_HOME=str(home / ".cache"),
        LEAKSTOP_HOME=str(home / "leakstop"),
        LEAKSTOP_CACHE_DIR=str(home / "cache"),
        LEAKSTOP_MASTER_KEY=MASTER_KEY,
        LEAKSTOP_AUDIT_KEY=AUDIT_KEY,
        KV_ACCESS_TOKEN=keyvault.token,
        TEAMS_WEBHOOK=teams.url(TEAMS_PATH),
        LOGNAME="first-person",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(git_repo.path)
    secrets = {
        "local store value": LOCAL_VALUE,
        "key vault value": KV_VALUE,
        "key vault token": keyvault.token,
        "master key": MASTER_KEY,
        "new master key": NEW_MASTER_KEY,
        "audit key": AUDIT_KEY,
        "teams webhook path": TEAMS_PATH,
    }
    return World(git_repo, home, env, Witness(), secrets, capfd)


def _store_keys_and_backups(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.ok("store init", "store", "init", "-vv")
    code, _out, err = world.run(
        "store set (stdin)", "store", "set", "billing/api-key", "-vv", stdin=LOCAL_VALUE
    )
    assert code == 0, err
    world.ok("store backup", "store", "backup", "--name", "before", "-vv")
    monkeypatch.setenv("LEAKSTOP_NEW_MASTER_KEY", NEW_MASTER_KEY)
    world.ok("store rotate-key", "store", "rotate-key", "-vv")
    monkeypatch.delenv("LEAKSTOP_NEW_MASTER_KEY")
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", NEW_MASTER_KEY)
    world.ok("store check (new key)", "store", "check", "-vv")
    world.run("store restore --dry-run", "store", "restore", "before", "--dry-run", "-vv")
    world.run("store restore", "store", "restore", "before", "-vv")
    world.run("store check (after restore)", "store", "check", "-vv")
    code, value, _err = world.run("store get (asked)", "store", "get", "billing/api-key")
    if code == 0:
        world.asked["stdout of store get (asked)"] = value


def _revoke_and_approve(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.run(
        "revoke --apply (high: waits)",
        "revoke",
        "billing/api-key",
        "--reason",
        "leaked",
        "--severity",
        "high",
        "--apply",
        "-vv",
    )
    listed = world.ok("revocations -f json", "revocations", "-f", "json", "-vv")
    requests = json.loads(listed)
    ids = [r["id"] for r in (requests if isinstance(requests, list) else requests["requests"])]
    assert ids, listed
    monkeypatch.setenv("LOGNAME", "second-person")
    world.ok("approve (second person)", "approve", ids[0], "--by", "second-person", "-vv")
    world.run("revocations (after)", "revocations", "-vv")


def test_store_keys_backups_approvals_teams_and_key_vault_let_no_secret_escape(
    world: World,
    keyvault: FakeKeyVault,
    teams: Recorder,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roots = [tmp_path, world.home]
    before = snapshot(roots)
    try:
        _store_keys_and_backups(world, monkeypatch)
        world.ok("notify test (teams)", "notify", "test", "-vv")
        world.run("respond plan", "respond", "--git", "-vv", "-j", "1", "-f", "json")
        world.ok("respond --apply (key vault)", "respond", "--git", "--apply", "-vv", "-j", "1")
        rotated = keyvault.latest("billing-db-password")
        assert rotated.tags[LABEL_TAG] == "current"
        assert rotated.value != KV_VALUE
        world.secrets["key vault value, rotated"] = rotated.value
        _revoke_and_approve(world, monkeypatch)
        world.ok("audit verify", "audit", "verify", "-vv")
        world.run("audit query -f json", "audit", "query", "-f", "json", "-vv")
        assert teams.requests, "the Teams notifier sent nothing: the search would prove nothing"
    finally:
        with capfd.disabled():
            print(
                "\n" + "\n".join(f"{r.label}: {r.code} ({r.seconds:.1f} s)" for r in world.matrix)
            )
    written = world.witness.add_files(roots, {**before, **world.planted})
    assert written, "no command wrote a file: the file capture is broken"
    for index, request in enumerate(teams.requests):
        world.witness.add(f"HTTP request {index} to Teams", request)
    search = SecretSearch(world.secrets)
    for place, data in world.asked.items():
        assert search.find(place, data.encode()), f"{place} printed no secret though asked"
    world.witness.captured = [(p, d) for p, d in world.witness.captured if p not in world.asked]
    hits = world.witness.hits(search)
    assert not hits, "secrets escaped:\n" + "\n".join(map(str, hits))
