"""The Vault server (OpenBao, not leakstop) killed mid-rotation and started again on the same
data: between two steps, and during a step with the request in flight (the write reached the
server, the answer never came back). The run that meets the dead server ends in one line
and exit 2; `leakstop rotate --apply --resume` after the restart finishes or starts again;
at every point one password logs in, the store's value is it once the rotation is over, and
the audit chain is whole with every step of the faulted run on record.

The secret is a PostgreSQL password kept in Vault KV v2 (leakstop makes the value, the
PostgreSQL issuer applies it), so the server that dies holds the journal, not the credential.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakstop.cli import main
from leakstop.rotator.machine import Step
from tests.faults.bao_persistent import PersistentBao
from tests.faults.fault_proxy import Fault, FaultProxy
from tests.faults.server_faults import assert_one_clear_line, rotate, steps_recorded
from tests.pg_server import ADMIN_PASSWORD, Postgres
from tests.rotator.providers.bao import journal_fields, kv_data

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LEAKED = "Vk3rTq8ZpL2wXm5nBy7J-killed-server"
NAME = "billing/db-password"
AUDIT_KEY = "audit-key-of-the-server-fault-tests"


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PersistentBao]:
    server = PersistentBao(tmp_path_factory.mktemp("bao-raft"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def running(bao: PersistentBao) -> Iterator[PersistentBao]:
    """The server, up at the start of the test and again at its end, whatever it did."""
    if not bao.is_running:
        bao.start()
    yield bao
    if not bao.is_running:
        bao.start()


def _pending(bao: PersistentBao, path: str) -> str | None:
    fields = journal_fields(bao.admin, path)
    return None if fields is None else str(fields["password"])


def _configure(
    bao: PersistentBao,
    pg: Postgres,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    tag: str,
    url: str,
) -> tuple[str, str]:
    """A role with the leaked password, kept in Vault at a path of its own; the config in the
    working directory points leakstop at Vault through `url`. Returns (role, path)."""
    role = pg.role(f"bao_down_{tag}", password=LEAKED)
    path = f"billing/down-{tag}"
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"password": LEAKED, "user": role}, mount_point="secret"
    )
    monkeypatch.chdir(home)
    monkeypatch.setenv("VAULT_TOKEN", bao.root_token)
    monkeypatch.setenv("BILLING_DB_ADMIN_DSN", pg.dsn())
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    (home / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  vault: {{type: vault, url: '{url}', timeout: 5, auth: {{method: token}}}}\n"
        "  billing-db: {type: postgres, dsn_env: BILLING_DB_ADMIN_DSN}\n"
        f"secrets:\n  - name: {NAME}\n"
        f"    store: {{provider: vault, mount: secret, path: {path}, key: password}}\n"
        f"    issuer: {{provider: billing-db, role: {role}, database: app}}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )
    return role, path


def _one_password_works(pg: Postgres, role: str, candidates: set[str]) -> str:
    working = [c for c in candidates if pg.logs_in(role, c)]
    assert len(working) == 1, f"{len(working)} of the known passwords log in"
    return working[0]


def _after_restart_resume_finishes(
    bao: PersistentBao,
    pg: Postgres,
    role: str,
    path: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    next_run: str,
) -> None:
    bao.start()
    run = rotate(NAME, capsys, monkeypatch)
    assert run.code == 0, run
    assert next_run in run.out
    current = kv_data(bao.admin, path)
    assert _pending(bao, path) is None
    assert current["user"] == role  # the other fields kept
    assert pg.logs_in(role, current["password"])
    assert not pg.logs_in(role, LEAKED)
    assert LEAKED not in run.out + run.err
    assert main(["audit", "verify"]) == 0
    trail = steps_recorded(private_home, NAME)
    assert trail[-1] == ("rotation_completed", "resumed" if "Finished" in next_run else "rotated")


#: Step after which the server dies → what the run that meets the dead server does, and what
#: the run after the restart says.
BETWEEN_STEPS = [
    # The pending write cannot be made: nothing changed anywhere.
    ("create", "failed", "Rotated"),
    # The journal is in Vault; PostgreSQL takes and tests the new password; promotion fails.
    ("set", "failed", "Finished a rotation"),
    ("apply", "failed", "Finished a rotation"),
    ("test", "failed", "Finished a rotation"),
    # Promoted before the server died: revoking the old password needs only PostgreSQL.
    ("finish", "rotated", "Rotated"),
    ("revoke", "rotated", "Rotated"),
]


@pytest.mark.parametrize(("step", "first_run", "next_run"), BETWEEN_STEPS)
def test_vault_killed_between_steps_then_restarted(
    running: PersistentBao,
    pg: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step: str,
    first_run: str,
    next_run: str,
) -> None:
    bao = running
    role, path = _configure(bao, pg, tmp_path, monkeypatch, f"after_{step}", bao.url)
    seen: list[str] = []

    def kill_vault(done: Step) -> None:
        seen.append(done.value)
        if done.value == step:
            bao.kill(signal.SIGKILL)

    run = rotate(NAME, capsys, monkeypatch, after=kill_vault)
    assert not bao.is_running
    if first_run == "failed":
        assert_one_clear_line(
            run,
            [LEAKED, bao.root_token, ADMIN_PASSWORD, AUDIT_KEY],
            says=f"rotation of {NAME} failed",
        )
        assert "cannot connect" in run.err
    else:
        assert run.code == 0, run
    # While Vault is down the password PostgreSQL takes is the old one, or the new one the
    # journal holds (read once Vault is back); the audit log has every step that was done.
    trail = steps_recorded(private_home, NAME)
    assert [s for a, s in trail if a == "rotation_step"] == [s for s in seen if s != "revoke"]
    assert (("revoked", "") in trail) == ("revoke" in seen)
    assert trail[-1][0] == ("rotation_failed" if first_run == "failed" else "rotation_completed")

    # A run while Vault is down: one line, nothing changed.
    down = rotate(NAME, capsys, monkeypatch)
    assert_one_clear_line(down, [LEAKED, bao.root_token], says="cannot connect")

    bao.start()
    pending = _pending(bao, path)
    stored = kv_data(bao.admin, path)["password"]
    works = _one_password_works(pg, role, {LEAKED, stored} | ({pending} if pending else set()))
    if step in ("set", "apply", "test"):
        assert pending is not None
        assert works == pending
    else:
        assert pending is None
        assert works == stored
    bao.kill(signal.SIGKILL)
    _after_restart_resume_finishes(bao, pg, role, path, capsys, monkeypatch, private_home, next_run)


#: A request that reached Vault and was done, whose answer never came back: the server died
#: with it in flight. (method, request path) → whether the journal outlives the restart, and
#: what the run after the restart says.
JOURNAL, PATH = (
    r"/v1/secret/(data|metadata)/billing/down-[a-z_]+\.leakstop-pending$",
    (r"/v1/secret/data/billing/down-[a-z_]+$"),
)
IN_FLIGHT = [
    # The journal record is written; the run never hears of it.
    pytest.param("POST", JOURNAL, True, "Finished a rotation", id="journal-write"),
    # Promotion wrote the new version to the path (readers see it); the journal is still
    # there, so `current` names the pending version.
    pytest.param("POST", PATH, True, "Finished a rotation", id="promote-write"),
    # Promotion wrote the path and its labels and deleted the journal: it was all done.
    pytest.param("DELETE", JOURNAL, False, "Rotated", id="journal-delete"),
]


@pytest.mark.parametrize(("method", "request_path", "journal_kept", "next_run"), IN_FLIGHT)
def test_vault_killed_with_a_request_in_flight_then_restarted(
    running: PersistentBao,
    pg: Postgres,
    tmp_path: Path,
    private_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    method: str,
    request_path: str,
    journal_kept: bool,
    next_run: str,
) -> None:
    bao = running
    proxy = FaultProxy(bao.url, tmp_path)
    request.addfinalizer(proxy.stop)
    tag = request.node.callspec.id.replace("-", "_")
    role, path = _configure(bao, pg, tmp_path, monkeypatch, f"inflight_{tag}", proxy.url)
    proxy.inject(Fault(method, request_path, kind="drop", then=bao.kill))

    run = rotate(NAME, capsys, monkeypatch)
    assert proxy.hits, "the fault never fired"
    assert not bao.is_running
    assert_one_clear_line(
        run, [LEAKED, bao.root_token, ADMIN_PASSWORD, AUDIT_KEY], says=f"rotation of {NAME}"
    )
    assert main(["audit", "verify"]) == 0
    assert steps_recorded(private_home, NAME)[-1][0] == "rotation_failed"

    bao.start()
    pending = _pending(bao, path)
    assert (pending is not None) == journal_kept
    _one_password_works(
        pg, role, {LEAKED, kv_data(bao.admin, path)["password"]} | {pending or LEAKED}
    )
    bao.kill(signal.SIGKILL)
    _after_restart_resume_finishes(bao, pg, role, path, capsys, monkeypatch, private_home, next_run)
