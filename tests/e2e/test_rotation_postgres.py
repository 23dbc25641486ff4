"""From a password committed to a file to a replaced credential, against a real PostgreSQL:
`respond` plans, `respond --apply` rotates through the machine (create, set, apply, test,
finish, revoke), the old password is refused and the new one logs in, and the audit log tells
the whole story without a value in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.cli import main
from leakstop.store import LocalStore
from tests.conftest import GitRepo
from tests.pg_server import Postgres

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAKED = "Xq7vLp2ZrT9wQm4kBy3N"
MASTER = "master key of the rotation e2e test"


def test_a_committed_password_is_confirmed_rotated_and_revoked(
    pg: Postgres,
    git_repo: GitRepo,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = pg.role("billing_app", password=LEAKED)
    monkeypatch.chdir(git_repo.path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", "audit key of the rotation e2e test")
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn())
    audit_log = AuditLog.open(private_home / "audit", b"audit key of the rotation e2e test")
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("ops", Source.CLI),
        iterations=1000,
    )
    store.write("billing/db-password", LEAKED.encode(), expected_version=None)
    git_repo.write(
        ".leakstop.yaml",
        "version: 1\nproviders:\n  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
        "secrets:\n  - name: billing/db-password\n    store: {provider: local}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
        "    policy: {interval: 30d, grace: 0s}\n",
    )
    git_repo.write("deploy/app.env", f'DB_USER=billing_app\nDB_PASSWORD="{LEAKED}"\n')
    git_repo.commit("deploy config")

    assert main(["respond", "--git", "-j", "1", "-f", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    (entry,) = [e for e in plan["plan"] if e["confirmed"]]
    assert (entry["managed_secret"], entry["action"], entry["path"]) == (
        "billing/db-password",
        "rotate",
        "deploy/app.env",
    )
    assert pg.logs_in(role, LEAKED)  # the plan touched nothing

    assert main(["respond", "--git", "--apply", "-j", "1", "-f", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["outcome"] == "rotated"
    assert result["steps"] == ["create", "set", "apply", "test", "finish", "revoke"]
    new = store.read("billing/db-password")
    assert isinstance(new, bytes)
    assert not pg.logs_in(role, LEAKED)
    assert pg.logs_in(role, new.decode())

    assert main(["audit", "query", "--secret", "billing/db-password", "-f", "json"]) == 0
    actions = [r["action"] for r in json.loads(capsys.readouterr().out)]
    assert {"rotation_started", "rotation_step", "rotation_completed", "revoked"} <= set(actions)
    assert main(["audit", "verify"]) == 0
    written = b"".join(p.read_bytes() for p in (private_home / "audit").glob("*.jsonl"))
    assert LEAKED.encode() not in written
    assert new not in written


def test_providers_check_says_what_is_wrong_one_line_each(
    pg: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = pg.role("checked_app", password=LEAKED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    audit_log = AuditLog.open(private_home / "audit", None)
    LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("ops", Source.CLI),
        iterations=1000,
    )
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
        "secrets:\n  - name: billing/db-password\n    store: {provider: local}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
        "  - name: other/db-password\n    store: {provider: local}\n"
        "    issuer: {provider: billing-db, role: nobody_has_this_role, database: app}\n"
    )
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn())
    assert main(["providers", "check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ local (org default): ok"
    assert out[1].startswith("✗ billing-db (postgres): ")
    assert "nobody_has_this_role" in out[1]
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn(password="wrong password"))
    assert main(["providers", "check"]) == 1
    text = capsys.readouterr().out
    assert "✗ billing-db (postgres)" in text
    assert "wrong password" not in text


def test_vault_store_and_postgres_issuer_end_to_end(
    pg: Postgres,
    git_repo: GitRepo,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's scenario: the password lives in OpenBao (KV v2) and in PostgreSQL; a copy
    committed to a file is confirmed, rotated in both, and the old one stops working."""
    from tests.rotator.providers.bao import BaoServer, kv_data

    role = pg.role("vault_app", password=LEAKED)
    bao_server = BaoServer(tmp_path_factory.mktemp("bao"))
    try:
        bao_server.admin.secrets.kv.v2.create_or_update_secret(
            path="billing/db", secret={"password": LEAKED, "user": role}, mount_point="secret"
        )
        monkeypatch.chdir(git_repo.path)
        monkeypatch.setenv("VAULT_TOKEN", bao_server.root_token)
        monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn())
        git_repo.write(
            ".leakstop.yaml",
            "version: 1\nproviders:\n"
            f"  vault: {{type: vault, url: '{bao_server.url}', auth: {{method: token}}}}\n"
            "  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
            "secrets:\n  - name: billing/db-password\n"
            "    store: {provider: vault, mount: secret, path: billing/db, key: password}\n"
            f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
            "    policy: {interval: 30d}\n",
        )
        git_repo.write("config/database.yml", f"production:\n  password: {LEAKED}\n")
        git_repo.commit("database config")

        assert main(["providers", "check"]) == 0
        capsys.readouterr()
        assert main(["respond", "-j", "1"]) == 0
        plan = capsys.readouterr().out
        assert "confirmed: the current value of billing/db-password" in plan
        assert main(["respond", "--apply", "-j", "1"]) == 0
        out = capsys.readouterr().out
        assert "billing/db-password: rotated (version 1 → 2)" in out
        stored = kv_data(bao_server.admin, "billing/db")
        assert stored["user"] == role  # other fields kept
        assert stored["password"] != LEAKED
        assert not pg.logs_in(role, LEAKED)
        assert pg.logs_in(role, stored["password"])
        assert main(["audit", "query", "--secret", "billing/db-password"]) == 0
        table = capsys.readouterr().out
        assert "rotation_completed" in table
        assert "revoked" in table
        assert bao_server.root_token not in table
    finally:
        bao_server.stop()


def _killed_rotation(home: str, dsn: str, role: str, step: str) -> None:
    """A `leakstop rotate --apply` whose process is SIGKILLed right after `step`."""
    import os
    import signal

    from leakstop.config.options import FrozenMap
    from leakstop.config.rotation import RotationPolicy
    from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
    from leakstop.rotator.machine import Machine, Step
    from leakstop.rotator.providers.base import ProviderContext
    from leakstop.rotator.providers.local import LocalStoreProvider
    from leakstop.rotator.providers.postgres import PostgresIssuer

    audit_log = AuditLog.open(Path(home) / "audit", None)
    store = LocalStore.open(
        Path(home), "default", MASTER.encode(), audit_log, Context("k", Source.CLI)
    )
    issuer = PostgresIssuer.from_settings(
        ProviderContext("billing-db", FrozenMap({"dsn_env": "DSN"}), {"DSN": dsn})
    )
    secret = ManagedSecret(
        name="billing/db-password",
        store=StoreRef("local"),
        issuer=IssuerRef("billing-db", FrozenMap({"role": role, "database": "app"})),
        policy=RotationPolicy(),
    )

    def die(done: Step) -> None:
        if done.value == step:
            os.kill(os.getpid(), signal.SIGKILL)

    Machine(
        LocalStoreProvider(store), issuer, audit_log, Context("k", Source.CLI), after_step=die
    ).rotate(secret)


@pytest.mark.parametrize(
    ("step", "next_run"),
    [
        ("create", "Rotated"),
        ("set", "Finished a rotation"),
        ("apply", "Finished a rotation"),
        ("test", "Finished a rotation"),
        ("finish", "Rotated"),
        ("revoke", "Rotated"),
    ],
)
def test_killed_at_every_step_against_postgres_the_next_command_recovers(
    pg: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step: str,
    next_run: str,
) -> None:
    """After a kill at any step there is one password that logs in, and the next
    `leakstop rotate --apply --resume` leaves the store's current value as that password."""
    import multiprocessing
    import signal

    role = pg.role(f"killed_{step}", password=LEAKED)
    audit_log = AuditLog.open(private_home / "audit", None)
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("ops", Source.CLI),
        iterations=1000,
    )
    store.write("billing/db-password", LEAKED.encode(), expected_version=None)
    child = multiprocessing.get_context("fork").Process(
        target=_killed_rotation, args=(str(private_home), pg.dsn(), role, step)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    # Right after the kill, one credential works.
    candidates = {LEAKED} | {
        v.decode()
        for v in (
            store.read("billing/db-password", version=n.number)
            for n in store.versions("billing/db-password")
            if n.state == "active"
        )
        if isinstance(v, bytes)
    }
    assert sum(pg.logs_in(role, c) for c in candidates) == 1

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn())
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
        "secrets:\n  - name: billing/db-password\n    store: {provider: local}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
    )
    assert main(["rotate", "billing/db-password", "--apply", "--resume"]) == 0
    assert next_run in capsys.readouterr().out
    current = store.read("billing/db-password")
    assert isinstance(current, bytes)
    assert pg.logs_in(role, current.decode())
    assert not pg.logs_in(role, LEAKED)
    assert main(["audit", "verify"]) == 0


def test_respond_policy_revokes_without_replacement_or_only_notifies(
    pg: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = pg.role("emergency_app", password=LEAKED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn())
    audit_log = AuditLog.open(private_home / "audit", None)
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("ops", Source.CLI),
        iterations=1000,
    )
    store.write("billing/db-password", LEAKED.encode(), expected_version=None)
    config = (
        "version: 1\nproviders:\n  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
        "secrets:\n  - name: billing/db-password\n    store: {provider: local}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
        "respond:\n  confirmed: RESPONSE\n"
    )
    (tmp_path / "app.env").write_text(f'DB_PASSWORD="{LEAKED}"\n')

    (tmp_path / ".leakstop.yaml").write_text(config.replace("RESPONSE", "notify"))
    # `notify` sends, and touches nothing; with no notifier configured the response failed.
    assert main(["respond", "--apply", "-j", "1", "-f", "json"]) == 1
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["outcome"] == "failed"
    assert "add one to `notifications:` in the config" in result["error"]
    assert pg.logs_in(role, LEAKED)  # nothing was done to it

    (tmp_path / ".leakstop.yaml").write_text(config.replace("RESPONSE", "revoke"))
    assert main(["respond", "-j", "1"]) == 0
    assert "revoke the leaked value of billing/db-password at billing-db" in capsys.readouterr().out
    # A high-severity finding: the emergency revocation waits for a second person, as
    # `leakstop revoke` does (revocation: approval_from defaults to high).
    monkeypatch.setenv("LOGNAME", "alice")
    assert main(["respond", "--apply", "-j", "1", "-f", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["outcome"] == "pending approval"
    request_id = result["error"].split("leakstop approve ")[1].split()[0]
    assert pg.logs_in(role, LEAKED)  # nothing is revoked before the approval
    assert main(["approve", request_id, "--by", "alice"]) == 2  # not by the requester
    capsys.readouterr()
    monkeypatch.setenv("LOGNAME", "bob")
    assert main(["approve", request_id, "--by", "bob"]) == 0
    assert f"Revocation {request_id}: done (approved by bob)" in capsys.readouterr().out
    assert not pg.logs_in(role, LEAKED)  # revoked, with no replacement

    # With approval only from critical, the same response runs at once.
    role_2 = pg.role("emergency_app_2", password=LEAKED)
    store.write("billing/db-password", LEAKED.encode(), expected_version=1)
    (tmp_path / ".leakstop.yaml").write_text(
        config.replace("RESPONSE", "revoke").replace(role, role_2)
        + "revocation: {approval_from: critical}\n"
    )
    assert main(["respond", "--apply", "-j", "1", "-f", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["outcome"] == "revoked"
    assert not pg.logs_in(role_2, LEAKED)
    assert main(["audit", "verify"]) == 0
