"""A rotation whose journal is in OpenBao, SIGKILLed right after every step: the next
`leakstop rotate --apply --resume`, from another process and with no local state, finishes it or
starts again, and at every moment one credential works and Vault's current version is it.

Two shapes, both against real servers: a PostgreSQL password kept in Vault KV v2 (leakstop
makes the value, the issuer applies it) and an AppRole secret-id kept in Vault KV v2 (Vault
mints it)."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leakstop.cli import main
from tests.pg_server import Postgres
from tests.rotator.providers.bao import BaoServer, journal_fields, kv_data, running_bao

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAKED = "Vk3rTq8ZpL2wXm5nBy7J"


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    for server in running_bao(tmp_path_factory.mktemp("bao")):
        admin = server.admin
        admin.sys.enable_auth_method("approle")
        admin.auth.approle.create_or_update_approle("deployer", token_policies=["default"])
        yield server


def _killed(url: str, token: str, secret_yaml: dict[str, Any], environ: dict[str, str], step: str):  # type: ignore[no-untyped-def]
    """In a child process: the machine as `rotate --apply` builds it, SIGKILLed after `step`."""
    from leakstop.audit.context import Context
    from leakstop.audit.record import Source
    from leakstop.audit.setup import open_log
    from leakstop.config import load_config
    from leakstop.rotator.machine import Machine, Step
    from leakstop.rotator.providers.registry import Providers

    os.environ.update(environ)
    config = load_config(Path(".leakstop.yaml"), with_rules=False)
    audit_log = open_log(config.audit)
    context = Context("killed-run", Source.CLI)
    providers = Providers(config, audit_log, context)
    (secret,) = config.secrets

    def die(done: Step) -> None:
        if done.value == step:
            os.kill(os.getpid(), signal.SIGKILL)

    store = providers.store(secret.store.provider, secret.org)
    issuer = providers.issuer(secret.issuer.provider) if secret.issuer else None
    Machine(store, issuer, audit_log, context, after_step=die).rotate(secret, reason="test")


def _run_killed(step: str, environ: dict[str, str]) -> None:
    child = multiprocessing.get_context("fork").Process(
        target=_killed, args=("", "", {}, environ, step)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL


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
def test_a_postgres_password_in_vault_killed_at_every_step(
    bao: BaoServer,
    pg: Postgres,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step: str,
    next_run: str,
) -> None:
    role = pg.role(f"vault_killed_{step}", password=LEAKED)
    path = f"billing/killed-{step}"
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"password": LEAKED, "user": role}, mount_point="secret"
    )
    monkeypatch.chdir(tmp_path)
    environ = {"VAULT_TOKEN": bao.root_token, "BILLING_DB_ADMIN_DSN": pg.dsn()}
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  vault: {{type: vault, url: '{bao.url}', auth: {{method: token}}}}\n"
        "  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
        "secrets:\n  - name: billing/db-password\n"
        f"    store: {{provider: vault, mount: secret, path: {path}, key: password}}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )
    _run_killed(step, environ)

    # Right after the kill: exactly one of the values anyone holds logs in.
    pending = journal_fields(bao.admin, path)
    candidates = {LEAKED, kv_data(bao.admin, path)["password"]} | (
        {pending["password"]} if pending else set()
    )
    assert sum(pg.logs_in(role, c) for c in candidates) == 1
    if step in ("set", "apply", "test"):
        assert pending is not None  # the journal says a rotation is in flight
    else:
        assert pending is None

    assert main(["rotate", "billing/db-password", "--apply", "--resume"]) == 0
    assert next_run in capsys.readouterr().out
    current = kv_data(bao.admin, path)
    assert journal_fields(bao.admin, path) is None
    assert current["user"] == role  # the other fields kept
    assert pg.logs_in(role, current["password"])
    assert not pg.logs_in(role, LEAKED)
    assert main(["audit", "verify"]) == 0


@pytest.mark.parametrize(
    ("step", "next_run"),
    [
        ("create", "Rotated"),
        ("set", "Finished a rotation"),
        ("test", "Finished a rotation"),
        ("finish", "Rotated"),
        ("revoke", "Rotated"),
    ],
)
def test_an_approle_secret_id_in_vault_killed_at_every_step(
    bao: BaoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step: str,
    next_run: str,
) -> None:
    approle = bao.admin.auth.approle
    role_id = approle.read_role_id("deployer")["data"]["role_id"]
    first = approle.generate_secret_id("deployer")["data"]["secret_id"]
    path = name = f"ci/deployer-{step}"
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"secret_id": first}, mount_point="secret"
    )
    monkeypatch.chdir(tmp_path)
    environ = {"VAULT_TOKEN": bao.root_token}
    monkeypatch.setenv("VAULT_TOKEN", bao.root_token)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  vault: {{type: vault, url: '{bao.url}', auth: {{method: token}}}}\n"
        f"secrets:\n  - name: {name}\n"
        f"    store: {{provider: vault, mount: secret, path: {path}, key: secret_id}}\n"
        "    issuer: {provider: vault, approle: deployer}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )
    _run_killed(step, environ)

    def logs_in(secret_id: str) -> bool:
        import hvac

        try:
            bao.client().auth.approle.login(role_id=role_id, secret_id=secret_id)
        except hvac.exceptions.InvalidRequest:
            return False
        return True

    pending = journal_fields(bao.admin, path)
    stored = kv_data(bao.admin, path)["secret_id"]
    if step == "finish":
        # Promoted, killed before the old one was revoked (grace 0): the finish record says
        # it is due, and the next run revokes it before rotating again.
        assert stored != first
        assert logs_in(first)
    assert logs_in(stored)
    if pending is not None:
        assert step in ("set", "test")
        assert logs_in(pending["secret_id"])

    assert main(["rotate", name, "--apply", "--resume"]) == 0
    out = capsys.readouterr().out
    assert next_run in out
    # Killed after finish, before the revoke: the finish record said the old value was due.
    assert ("revoked an old value whose grace period was over" in out) == (step == "finish")
    current = kv_data(bao.admin, path)["secret_id"]
    assert journal_fields(bao.admin, path) is None
    assert logs_in(current)
    assert not logs_in(first)
    # No secret-id leakstop minted for this secret works but the current one.
    accessors = approle.list_secret_id_accessors("deployer")["data"]["keys"]
    working_of_ours = []
    for accessor in accessors:
        info = approle.read_secret_id_accessor("deployer", accessor)["data"]
        if (info.get("metadata") or {}).get("leakstop_secret") == name:
            working_of_ours.append(accessor)
    assert len(working_of_ours) == 1
    assert main(["audit", "verify"]) == 0
