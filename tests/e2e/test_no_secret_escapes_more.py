"""No secret escapes, part two (issue 17): what test_no_secret_escapes.py does not run — the
local store's master-key rotation, backup and restore, an emergency revocation that waits for
a second person and is approved, a Microsoft Teams notifier, and a rotation in (a local HTTPS)
Azure Key Vault through the real SDK — with debug logging, then every byte written is searched
with the same machinery (tests/e2e/secret_search.py).

Key Vault itself is the one place its values may go; `store get` is asked to print one.

Part three (below): PostgreSQL, an IAM key in Secrets Manager, a plain Secrets Manager secret,
Google Secret Manager, the webhook issuer and the command issuer, rotated by one respond."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.rotator.providers.azure_keyvault import LABEL_TAG
from leakstop.store import LocalStore
from tests.conftest import GitRepo
from tests.e2e.secret_search import SecretSearch, Witness, snapshot
from tests.e2e.test_no_secret_escapes import Recorder, World, empty_home, live_in
from tests.pg_server import ADMIN_PASSWORD, Postgres
from tests.rotator.providers.fake_keyvault import FakeKeyVault
from tests.rotator.providers.fake_secretmanager import FakeSecretManager
from tests.rotator.providers.moto_aws import MotoServer, running_moto, use_credentials
from tests.rotator.providers.webhook_receiver import Receiver

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
    home = empty_home(tmp_path, monkeypatch)
    env = live_in(
        home,
        git_repo.path,
        monkeypatch,
        MASTER_KEY,
        AUDIT_KEY,
        KV_ACCESS_TOKEN=keyvault.token,
        TEAMS_WEBHOOK=teams.url(TEAMS_PATH),
        LOGNAME="first-person",
    )
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


# Part three: the issuers and cloud stores test_no_secret_escapes.py does not reach — a
# PostgreSQL role password, an IAM access key kept in Secrets Manager, a plain Secrets Manager
# secret, Google Secret Manager, the webhook issuer and the command issuer — rotated in one
# `respond --apply`, with an HTTP audit sink and a notifier (servers that must never see a
# value). Each issuer receives the new value by design (PostgreSQL as a SCRAM verifier, the
# webhook receiver and the credential program on their channels); what they record besides is
# searched for everything else.

PG_OLD = "Pg7Lw2Qx9Rt4Vm8Kz3Nb"
SM_OLD = "Sm4Tq8Wz2Lx6Rp9Kv3Hd"
GSM_OLD = "Gs9Vb3Nx7Qm2Lt5Rw8Kp"
HOOK_OLD = "Wh6Rk2Tz8Lq4Xn9Vm3Pb"
TOOL_OLD = "Cm3Xq7Lv2Rz9Tn5Wk8Hb"
HOOK_KEY = "hook-signing-key-Zt4Qw8Lp2Rx"
GSM_TOKEN = "ya29.gsm-token-Nv6Kd3Tq9Lm"
SINK_KEY = "sink-key-Rb5Wq1Lz7Xt3"
NOTIFY_PATH = "/notify/Jk2Vx8Qm4Lt7"
SERVICE = Path(__file__).parents[1] / "data" / "providers" / "credential_service.py"


def _issuers_config(
    moto_url: str, gsm: FakeSecretManager, argv: str, hook_url: str, sink_url: str
) -> str:
    return f"""version: 1
providers:
  db: {{type: postgres, dsn_env: DB_ADMIN_DSN}}
  aws: {{type: aws, region: us-east-1, endpoint_url: '{moto_url}', test_wait: 2}}
  gsm: {{type: gcp-secretmanager, project: billing-prod, api_endpoint: '{gsm.url}',
        auth: {{method: token, token_env: GSM_ACCESS_TOKEN}}, tls: {{ca_file: '{gsm.ca_file}'}}}}
  hook: {{type: webhook, url: '{hook_url}', hmac_key_env: HOOK_KEY}}
  tool: {{type: command, command: {argv}, timeout: 30s}}
secrets:
  - name: billing/db-password
    store: {{provider: local}}
    issuer: {{provider: db, role: billing_app, database: app}}
    policy: {{interval: 30d, grace: 0s}}
  - name: ci/deployer-key
    store: {{provider: aws, secret_id: ci/deployer}}
    issuer: {{provider: aws, iam_user: deployer}}
    policy: {{interval: 90d, grace: 0s}}
  - name: reports/api-key
    store: {{provider: aws, secret_id: reports/api-key}}
    policy: {{interval: 30d, grace: 0s}}
  - name: billing/gsm-key
    store: {{provider: gsm, secret: billing-db}}
    policy: {{interval: 30d, grace: 0s}}
  - name: shop/hook-key
    store: {{provider: local}}
    issuer: {{provider: hook, service: shop}}
    policy: {{interval: 30d, grace: 0s}}
  - name: ops/tool-password
    store: {{provider: local}}
    issuer: {{provider: tool, cluster: eu}}
    policy: {{interval: 30d, grace: 0s}}
audit:
  sinks:
    - {{type: http, url: '{sink_url}', key_env: SINK_KEY}}
notifications:
  - name: ops
    type: webhook
    url_env: OPS_WEBHOOK
    events: [rotation_failed, rotation_finished, revocation, leak_confirmed, expiring, anomaly]
"""


@dataclass
class Issuers:
    world: World
    moto: MotoServer
    gsm: FakeSecretManager
    receiver: Receiver
    sink: Recorder
    notifier: Recorder
    tool_state: Path
    tool_seen: Path
    store: LocalStore
    #: Where PostgreSQL's log stood when leakstop started (the test's own CREATE ROLE is before).
    pg_log_start: int


@pytest.fixture
def issuers(
    git_repo: GitRepo,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    pg: Postgres,
    httpserver_ipv4: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> Iterator[Issuers]:
    home = empty_home(tmp_path, monkeypatch)
    # The issuers' own storage lives outside the searched folders: it holds values by design.
    outside = tmp_path_factory.mktemp("issuers-own")
    # The local servers run in this process: their access log (werkzeug's, to stderr once
    # -vv sets logging up) names the URL they were called at, which is theirs to know.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    pg.role("billing_app", password=PG_OLD)
    gsm = FakeSecretManager(outside, "billing-prod", token=GSM_TOKEN)
    sink, notifier = Recorder("audit sink"), Recorder("notifier")
    try:
        for moto in running_moto(outside):
            use_credentials(monkeypatch, moto.environ(), outside)
            moto.user("deployer")
            leaked = moto.new_key("deployer")
            moto.client("secretsmanager").create_secret(
                Name="ci/deployer", SecretString=json.dumps(leaked.value())
            )
            moto.client("secretsmanager").create_secret(Name="reports/api-key", SecretString=SM_OLD)
            gsm.put("billing-db", GSM_OLD.encode())
            receiver = Receiver(httpserver_ipv4, HOOK_KEY.encode(), {HOOK_OLD.encode()})
            tool_state, tool_seen = outside / "tool-working.json", outside / "tool-seen.jsonl"
            tool_state.write_text(json.dumps([TOOL_OLD]))
            argv = json.dumps([sys.executable, str(SERVICE), str(tool_state), str(tool_seen)])
            config = _issuers_config(moto.url, gsm, argv, receiver.url, sink.url("/audit"))
            git_repo.write(".leakstop.yaml", config)
            git_repo.commit("config")
            git_repo.write(
                "deploy/all.env",
                f'DB_PASSWORD="{PG_OLD}"\n'
                f"AWS_ACCESS_KEY_ID={leaked.access_key_id}\n"
                f"AWS_SECRET_ACCESS_KEY={leaked.secret_access_key}\n"
                f'REPORTS_API_KEY="{SM_OLD}"\nGSM_API_KEY="{GSM_OLD}"\n'
                f'SHOP_API_KEY="{HOOK_OLD}"\nTOOL_PASSWORD="{TOOL_OLD}"\n',
            )
            git_repo.commit("leak")
            env = live_in(
                home,
                git_repo.path,
                monkeypatch,
                MASTER_KEY,
                AUDIT_KEY,
                DB_ADMIN_DSN=pg.dsn(),
                GSM_ACCESS_TOKEN=GSM_TOKEN,
                HOOK_KEY=HOOK_KEY,
                SINK_KEY=SINK_KEY,
                OPS_WEBHOOK=notifier.url(NOTIFY_PATH),
            )
            audit_log = AuditLog.open(home / "leakstop" / "audit", AUDIT_KEY.encode())
            store = LocalStore.init(
                home / "leakstop",
                "default",
                MASTER_KEY.encode(),
                audit_log,
                Context("ops", Source.CLI),
                iterations=1000,
            )
            for name, value in (
                ("billing/db-password", PG_OLD),
                ("shop/hook-key", HOOK_OLD),
                ("ops/tool-password", TOOL_OLD),
            ):
                store.write(name, value.encode(), expected_version=None)
            secrets = {
                "postgres password": PG_OLD,
                "postgres admin password": ADMIN_PASSWORD,
                "aws secret key (leaked)": leaked.secret_access_key,
                "aws secret key (leakstop's own)": moto.admin.secret_access_key,
                "secrets manager value": SM_OLD,
                "google secret manager value": GSM_OLD,
                "google access token": GSM_TOKEN,
                "webhook issuer value": HOOK_OLD,
                "webhook signing key": HOOK_KEY,
                "command issuer value": TOOL_OLD,
                "master key": MASTER_KEY,
                "audit key": AUDIT_KEY,
                "audit sink key": SINK_KEY,
                "notifier url path": NOTIFY_PATH,
            }
            world = World(git_repo, home, env, Witness(), secrets, capfd)
            yield Issuers(
                world,
                moto,
                gsm,
                receiver,
                sink,
                notifier,
                tool_state,
                tool_seen,
                store,
                pg_log_start=len(pg.log()),
            )
    finally:
        gsm.stop()
        sink.stop()
        notifier.stop()


def _rotated_values(issuers: Issuers) -> dict[str, str]:
    """The values the rotation made, read from where they live (never from leakstop's output)."""
    sm = issuers.moto.client("secretsmanager")
    current = {"VersionStage": "AWSCURRENT"}
    deployer = json.loads(sm.get_secret_value(SecretId="ci/deployer", **current)["SecretString"])
    found = {
        "aws secret key (rotated)": deployer["secret_access_key"],
        "secrets manager value (rotated)": sm.get_secret_value(
            SecretId="reports/api-key", **current
        )["SecretString"],
        "google secret manager value (rotated)": issuers.gsm.payload(
            "billing-db", issuers.gsm.secrets["billing-db"].aliases["current"]
        ).decode(),
    }
    for name in ("billing/db-password", "shop/hook-key", "ops/tool-password"):
        value = issuers.store.read(name)
        assert isinstance(value, bytes)
        found[f"{name} (rotated)"] = value.decode()
    return found


def test_postgres_aws_google_webhook_and_command_rotations_let_no_secret_escape(
    issuers: Issuers, tmp_path: Path, pg: Postgres, capfd: pytest.CaptureFixture[str]
) -> None:
    world = issuers.world
    roots = [tmp_path, world.home]
    before = snapshot(roots)
    try:
        world.ok("providers check", "providers", "check", "-vv")
        world.run(
            "respond plan -f json",
            "respond",
            "--git",
            "--no-verify",
            "-vv",
            "-j",
            "1",
            "-f",
            "json",
        )
        out = world.ok(
            "respond --apply",
            "respond",
            "--git",
            "--no-verify",
            "--apply",
            "-vv",
            "-j",
            "1",
            "-f",
            "json",
        )
        outcomes = {r["secret"]: r["outcome"] for r in json.loads(out)["results"]}
        assert outcomes == dict.fromkeys(
            (
                "billing/db-password",
                "ci/deployer-key",
                "reports/api-key",
                "billing/gsm-key",
                "shop/hook-key",
                "ops/tool-password",
            ),
            "rotated",
        ), out
        world.run(
            "rotate --apply (postgres, again)", "rotate", "billing/db-password", "--apply", "-vv"
        )
        world.run("rotate (tool, plan)", "rotate", "ops/tool-password", "-vv")
        world.ok("audit verify", "audit", "verify", "-vv")
        world.run("audit query -f json", "audit", "query", "-f", "json", "-vv")
    finally:
        with capfd.disabled():
            print(
                "\n" + "\n".join(f"{r.label}: {r.code} ({r.seconds:.1f} s)" for r in world.matrix)
            )
    rotated = _rotated_values(issuers)
    assert not pg.logs_in("billing_app", PG_OLD)
    assert pg.logs_in("billing_app", rotated["billing/db-password (rotated)"])
    world.secrets.update(rotated)
    written = world.witness.add_files(roots, {**before, **world.planted})
    assert written, "no command wrote a file: the file capture is broken"
    assert issuers.sink.requests, "nothing reached the audit sink: the search would prove nothing"
    assert issuers.notifier.requests, "nothing reached the notifier"
    for server in (issuers.sink, issuers.notifier):
        for index, request in enumerate(server.requests):
            world.witness.add(f"HTTP request {index} to the {server.name}", request)
    # PostgreSQL's statement log: the issuer sends a SCRAM verifier, never the password.
    world.witness.add("PostgreSQL's statement log", pg.log()[issuers.pg_log_start :])
    search = SecretSearch(world.secrets)
    hits = world.witness.hits(search)
    # The issuers themselves: the new value reaches the webhook receiver and the credential
    # program by design (on apply and test); nothing else may, and never an old value.
    by_design = {"shop/hook-key (rotated)", "ops/tool-password (rotated)"}
    others = SecretSearch({k: v for k, v in world.secrets.items() if k not in by_design})
    for index, body in enumerate(issuers.receiver.bodies):
        hits += others.find(f"webhook issuer request {index}", body)
    # The program runs in the user's environment (their AWS keys, tokens), as any tool they
    # run would: only leakstop's own keys are withheld, and no value may be in argv, stdin or
    # the environment.
    withheld = {
        "postgres password",
        "aws secret key (leaked)",
        "secrets manager value",
        "google secret manager value",
        "webhook issuer value",
        "command issuer value",
        "master key",
        "audit key",
    }
    in_environment = SecretSearch(
        {
            k: v
            for k, v in world.secrets.items()
            if (k in withheld or k.endswith("(rotated)")) and k not in by_design
        }
    )
    runs = [json.loads(line) for line in issuers.tool_seen.read_text().splitlines()]
    assert runs, "the credential program never ran: the search would prove nothing"
    for index, given in enumerate(runs):
        place = f"credential program run {index}"
        hits += others.find(
            f"{place}: argv and stdin", json.dumps(given["argv"] + [given["stdin"]]).encode()
        )
        hits += in_environment.find(f"{place}: environment", json.dumps(given["env"]).encode())
    assert not hits, "secrets escaped:\n" + "\n".join(map(str, hits))
