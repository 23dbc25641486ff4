"""`leakstop revoke`, `revoke-all`, `approve`, `reject` and `revocations` against a real local
store and audit log (secrets made by `generate`, no issuer: revoking disables the version)."""

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

MASTER = "master key of the revoke tests"
AUDIT_KEY = "audit key of the revoke tests"
VALUES = {
    "billing/api-key": b"bk_Jq4Wc8Zr2Tn6Vx1Lp9Hs3Df7Gm5Ky0",
    "billing/webhook": b"wh_Nd2Pb7Qs5Rx9Cv3Mz8Ft1Gk6Hj4Lw0",
    "search/api-key": b"sk_Tu5Ya1Ei9Ow3Pq7As2Df6Gh8Jk4Lz0",
    "search/backup-key": b"sk_Bn3Mv7Cx1Zl9Kj5Hg2Fd8Sa4Qw6Er0",
}
CONFIG = """version: 1
secrets:
  - name: billing/api-key
    store: {provider: local}
    tags: {type: api-key}
  - name: billing/webhook
    store: {provider: local}
  - name: search/api-key
    store: {provider: local}
    tags: {type: api-key}
  - name: search/backup-key
    store: {provider: local}
    tags: {type: api-key}
"""


@pytest.fixture
def store(private_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("LOGNAME", "alice")
    (tmp_path / ".leakstop.yaml").write_text(CONFIG)
    audit_log = AuditLog.open(private_home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(
        private_home, "default", MASTER.encode(), audit_log, Context("t", Source.API),
        iterations=1000,
    )  # fmt: skip
    for name, value in VALUES.items():
        store.write(name, value, expected_version=None)
    return store


def as_person(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The user the audit context sees (getpass reads LOGNAME first)."""
    monkeypatch.setenv("LOGNAME", name)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    assert main([*argv, "-f", "json"]) == 0, capsys.readouterr().err
    loaded = json.loads(capsys.readouterr().out)
    assert isinstance(loaded, dict)
    return loaded


def is_readable(store: LocalStore, name: str) -> bool:
    try:
        store.read(name)
    except StoreError:
        return False
    return True


def audit_text(private_home: Path) -> str:
    return "".join(p.read_text() for p in sorted((private_home / "audit").glob("*.jsonl")))


def test_a_dry_run_plans_and_changes_nothing(
    store: LocalStore, capsys: pytest.CaptureFixture[str], private_home: Path
) -> None:
    before = audit_text(private_home)
    code = main(["revoke", "billing/api-key", "--reason", "leaked", "--severity", "low"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Plan (nothing changed; --apply to act): revoke billing/api-key\n")
    assert "billing/api-key version 1: no issuer" in out
    assert "Approval: not needed; --apply revokes at once." in out
    assert audit_text(private_home) == before  # (reading it below is a record)
    assert is_readable(store, "billing/api-key")

    main(["revoke", "billing/api-key", "--reason", "leaked", "--severity", "high"])
    assert "Approval: needed (severity high is at or above high)" in capsys.readouterr().out


def test_below_the_threshold_it_revokes_at_once(
    store: LocalStore, capsys: pytest.CaptureFixture[str], private_home: Path
) -> None:
    request = run_json(
        capsys, "revoke", "billing/api-key", "--reason", "departure", "--severity", "medium",
        "--apply",
    )  # fmt: skip

    assert request["status"] == "done"
    assert request["approval_needed"] is None
    assert request["requester"] == "alice"
    assert request["outcomes"] == {"default/billing/api-key": {"revoked": True, "errors": []}}
    assert not is_readable(store, "billing/api-key")
    (version,) = store.versions("billing/api-key")
    assert (version.state, version.labels) == ("revoked", ())
    assert is_readable(store, "billing/webhook")  # only what was named
    text = audit_text(private_home)
    assert '"action":"revocation_requested"' in text
    assert '"action":"version_disabled"' in text
    assert VALUES["billing/api-key"].decode() not in text


def test_at_or_above_the_threshold_it_waits_for_another_person(
    store: LocalStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
) -> None:
    argv = ["revoke", "billing/api-key", "--reason", "leaked", "--severity", "critical"]
    assert main([*argv, "--apply"]) == 0
    out = capsys.readouterr().out
    assert "pending approval (severity critical is at or above high)" in out
    assert "leakstop approve rv-" in out
    (request,) = json.loads(_revocations(capsys, "--status", "pending"))
    request_id = request["id"]
    assert is_readable(store, "billing/api-key")  # nothing happened yet

    # The requester cannot approve, neither by name nor by running the command.
    assert main(["approve", request_id, "--by", "alice"]) == 2
    assert "cannot approve their own request" in capsys.readouterr().err
    assert main(["approve", request_id, "--by", "bob"]) == 2
    assert "cannot approve their own request" in capsys.readouterr().err
    assert is_readable(store, "billing/api-key")

    as_person(monkeypatch, "bob")
    approved = run_json(capsys, "approve", request_id, "--by", "bob")
    assert approved["status"] == "done"
    assert (approved["decided_by"], approved["via"]) == ("bob", "person")
    assert not is_readable(store, "billing/api-key")

    # Deciding again, or an unknown id: one line, exit 2.
    assert main(["approve", request_id, "--by", "carol"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"request {request_id} is done by bob, not pending" in err
    assert main(["reject", "rv-0000000000", "--by", "carol"]) == 2
    assert "no revocation request rv-0000000000" in capsys.readouterr().err

    actions = [
        r["action"]
        for r in _records(capsys, "--secret", "billing/api-key")
        if r["action"] not in ("secret_read", "secret_updated")
    ]
    assert actions[-4:] == ["approval_requested", "approval_granted", "revoked", "version_disabled"]
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()


def test_a_rejected_request_revokes_nothing(
    store: LocalStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["revoke", "billing/webhook", "--reason", "policy", "--severity", "high", "--apply"])
    capsys.readouterr()
    (request,) = json.loads(_revocations(capsys))
    as_person(monkeypatch, "bob")

    rejected = run_json(
        capsys, "reject", request["id"], "--by", "bob", "--reason", "the value was a test one"
    )

    assert rejected["status"] == "rejected"
    assert rejected["decision_reason"] == "the value was a test one"
    assert is_readable(store, "billing/webhook")
    assert main(["approve", request["id"], "--by", "carol"]) == 2
    assert "is rejected by bob, not pending" in capsys.readouterr().err
    assert json.loads(_revocations(capsys, "--status", "pending")) == []


def test_revoke_all_by_tag_waits_when_it_touches_more_than_the_limit(
    store: LocalStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    argv = ["revoke-all", "--type", "api-key", "--reason", "compromised", "--severity", "low"]
    plan = run_json(capsys, *argv)
    assert [t["secret"] for t in plan["targets"]] == [
        "billing/api-key",
        "search/api-key",
        "search/backup-key",
    ]
    assert plan["approval_needed"] is None  # 3 is not more than the default 3

    (tmp_path / ".leakstop.yaml").write_text(
        CONFIG + "revocation:\n  approval_from: critical\n  max_without_approval: 2\n"
    )
    pending = run_json(capsys, *argv, "--apply")
    assert pending["status"] == "pending"
    assert pending["approval_needed"] == "3 secrets is more than max_without_approval (2)"
    assert all(is_readable(store, name) for name in VALUES)

    as_person(monkeypatch, "bob")
    done = run_json(capsys, "approve", pending["id"], "--by", "bob")
    assert done["status"] == "done"
    assert [is_readable(store, name) for name in VALUES] == [False, True, False, False]
    text = _revocations(capsys, "-f", "text")
    assert f"Revocation {pending['id']}: done (approved by bob)" in text


def test_revoking_the_version_asked_for_not_a_newer_one(
    store: LocalStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["revoke", "billing/api-key", "--reason", "leaked", "--severity", "high", "--apply"])
    capsys.readouterr()
    (request,) = json.loads(_revocations(capsys))
    store.write("billing/api-key", b"bk_rotated-in-the-meantime-000", expected_version=1)

    as_person(monkeypatch, "bob")
    run_json(capsys, "approve", request["id"], "--by", "bob")

    assert store.read("billing/api-key") == b"bk_rotated-in-the-meantime-000"
    assert [v.state for v in store.versions("billing/api-key")] == ["revoked", "active"]


def test_by_the_fingerprint_a_scan_reported(
    store: LocalStore, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "app.env").write_text(f"SEARCH_API_KEY={VALUES['search/api-key'].decode()}\n")
    assert main(["scan", "-f", "json", "-j", "1", "app.env"]) == 1
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    wanted = finding["fingerprint"]

    plan = run_json(
        capsys, "revoke", "--fingerprint", wanted, "--reason", "leaked", "--severity", "low"
    )

    assert [t["secret"] for t in plan["targets"]] == ["search/api-key"]
    assert plan["scope"] == f"fingerprint:{wanted}"
    assert (
        main(["revoke", "--fingerprint", "0" * 32, "--reason", "leaked", "--severity", "low"]) == 2
    )
    assert "no managed secret's current value has fingerprint" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["revoke", "billing/nope"], "billing/nope is not a managed secret in the config"),
        (["revoke-all", "--type", "postgres"], "no managed secret has type postgres"),
        (["revoke", "billing/api-key", "--fingerprint", "ab"], "not allowed with argument"),
    ],
)
def test_user_errors_are_one_line(
    store: LocalStore, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--reason", "leaked", "--severity", "low"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_missing_reason_or_severity_is_refused(
    store: LocalStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["revoke", "billing/api-key", "--severity", "low"]) == 2
    assert "--reason" in capsys.readouterr().err
    assert main(["revoke", "billing/api-key", "--reason", "leaked", "--severity", "info"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_in_github_actions_a_protected_environment_is_the_approval(
    store: LocalStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    (tmp_path / ".leakstop.yaml").write_text(
        CONFIG + "revocation:\n  approval: environment\n  environment: leakstop-revoke\n"
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_ACTOR", "octo-dev")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_dispatch")
    argv = ["revoke", "billing/api-key", "--reason", "leaked", "--severity", "critical", "--apply"]

    monkeypatch.delenv("LEAKSTOP_APPROVAL_ENVIRONMENT", raising=False)
    assert main(argv) == 2
    assert "needs LEAKSTOP_APPROVAL_ENVIRONMENT" in capsys.readouterr().err
    monkeypatch.setenv("LEAKSTOP_APPROVAL_ENVIRONMENT", "staging")
    assert main(argv) == 2
    assert "only that Environment's reviewers" in capsys.readouterr().err
    monkeypatch.setenv("LEAKSTOP_APPROVAL_ENVIRONMENT", "leakstop-revoke")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    assert main(argv) == 2
    # Refused before anything is read: every acting command is guarded in Actions.
    assert "revoke --apply never runs for pull_request events" in capsys.readouterr().err
    assert is_readable(store, "billing/api-key")

    monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_dispatch")
    done = run_json(capsys, *argv)

    assert done["status"] == "done"
    assert (done["requester"], done["via"]) == ("octo-dev", "environment")
    assert done["decided_by"] == "environment:leakstop-revoke"
    assert not is_readable(store, "billing/api-key")


def _revocations(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    fmt = [] if "-f" in argv else ["-f", "json"]
    assert main(["revocations", *argv, *fmt]) == 0
    return capsys.readouterr().out


def _records(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:  # type: ignore[type-arg]
    assert main(["audit", "query", *argv, "-f", "json"]) == 0
    loaded = json.loads(capsys.readouterr().out)
    assert isinstance(loaded, list)
    return loaded


def test_no_value_reaches_any_output_or_the_audit_log(
    store: LocalStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
) -> None:
    seen = []

    def run(*argv: str) -> int:
        code = main(list(argv))
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        return code

    for fmt in ("text", "json"):
        run(
            "revoke-all", "--type", "api-key", "--reason", "leaked", "--severity", "high", "-f", fmt
        )
    run("revoke-all", "--type", "api-key", "--reason", "leaked", "--severity", "high", "--apply")
    run("revoke", "billing/webhook", "--reason", "policy", "--severity", "low", "--apply")
    run("revocations", "-f", "json")
    (pending,) = [r for r in json.loads(seen[-1]) if r["status"] == "pending"]
    run("approve", pending["id"], "--by", "alice")  # refused: alice asked for it
    as_person(monkeypatch, "bob")
    run("approve", pending["id"], "--by", "bob")
    for fmt in ("text", "json"):
        run("revocations", "-f", fmt)
    run("audit", "query", "-f", "json")

    assert "Revocation rv-" in "".join(seen)
    everything = "".join(seen) + audit_text(private_home)
    for value in VALUES.values():
        assert value.decode() not in everything
        assert value.decode()[3:15] not in everything  # nor a piece of one
