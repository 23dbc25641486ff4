"""An emergency revocation against a real PostgreSQL, through the CLI: `revoke ... --severity
critical --apply` only opens a pending request (the password still logs in); the requester
cannot approve it; another person's `approve` revokes it (the password no longer logs in) and
disables its version in the store; the audit log verifies and holds no password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.cli import main
from leakstop.errors import StoreError
from leakstop.store import LocalStore
from tests.pg_server import Postgres

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAKED = "Rv4mKp8QzW2nTx6LbJ9s"
MASTER = "master key of the revocation e2e test"
AUDIT_KEY = "audit key of the revocation e2e test"


def test_a_critical_revocation_waits_for_another_person_then_the_password_is_dead(
    pg: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = pg.role("revoked_app", password=LEAKED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn())
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("LOGNAME", "alice")
    audit_log = AuditLog.open(private_home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(
        private_home, "default", MASTER.encode(), audit_log, Context("ops", Source.CLI),
        iterations=1000,
    )  # fmt: skip
    store.write("billing/db-password", LEAKED.encode(), expected_version=None)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
        "secrets:\n  - name: billing/db-password\n    store: {provider: local}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
        "revocation: {approval_from: high}\n"
    )
    assert pg.logs_in(role, LEAKED)
    log_start = len(pg.log())  # the test's own CREATE ROLE put the password in clear before

    argv = ["revoke", "billing/db-password", "--reason", "leaked", "--severity", "critical"]
    assert main([*argv, "--apply", "-f", "json"]) == 0
    request = json.loads(capsys.readouterr().out)
    assert request["status"] == "pending"
    assert pg.logs_in(role, LEAKED)  # nothing is done before the approval

    assert main(["approve", request["id"], "--by", "alice"]) == 2
    assert "cannot approve their own request" in capsys.readouterr().err
    assert pg.logs_in(role, LEAKED)

    monkeypatch.setenv("LOGNAME", "bob")
    assert main(["approve", request["id"], "--by", "bob"]) == 0
    out = capsys.readouterr().out
    assert f"Revocation {request['id']}: done (approved by bob)" in out
    assert "billing/db-password (org default) version 1: revoked" in out

    assert not pg.logs_in(role, LEAKED)
    with pytest.raises(StoreError, match="no current version"):
        store.read("billing/db-password")
    assert main(["approve", request["id"], "--by", "carol"]) == 2
    assert "not pending" in capsys.readouterr().err

    assert main(["revocations", "--status", "done", "-f", "json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["requester"], listed["decided_by"]) == (
        request["id"],
        "alice",
        "bob",
    )
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()
    for day_file in (private_home / "audit").glob("*.jsonl"):
        assert LEAKED not in day_file.read_text()
    server_log = pg.log()[log_start:]
    assert f'ALTER ROLE "{role}"' in server_log  # the server log did see the revocation
    assert LEAKED not in server_log


def test_a_failed_revocation_is_one_line_and_recorded_as_failed(
    pg: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = pg.role("unreachable_app", password=LEAKED)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("LOGNAME", "alice")
    # The admin DSN points at a port nothing listens on: the database is "down".
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn().replace(f"port={pg.port}", "port=9"))
    audit_log = AuditLog.open(private_home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(
        private_home, "default", MASTER.encode(), audit_log, Context("ops", Source.CLI),
        iterations=1000,
    )  # fmt: skip
    store.write("billing/db-password", LEAKED.encode(), expected_version=None)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
        "secrets:\n  - name: billing/db-password\n    store: {provider: local}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
    )

    code = main(
        ["revoke", "billing/db-password", "--reason", "leaked", "--severity", "low", "--apply"]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("leakstop: error: revocation rv-")
    assert err.count("\n") == 1
    assert LEAKED not in err
    assert pg.logs_in(role, LEAKED)
    assert store.read("billing/db-password") == LEAKED.encode()  # not disabled: not revoked
    assert main(["revocations", "--status", "failed", "-f", "json"]) == 0
    (failed,) = json.loads(capsys.readouterr().out)
    assert failed["outcomes"]["default/billing/db-password"]["revoked"] is False
