"""`leakstop respond --dry-run`: the plan, in text and Markdown, never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakstop.cli import main
from tests.conftest import AWS_KEY_ID, GITHUB_TOKEN


@pytest.fixture
def leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEAKSTOP_CONFIG", raising=False)
    (tmp_path / "a.env").write_text(f"TOKEN={GITHUB_TOKEN}\naws_access_key_id={AWS_KEY_ID}\n")
    (tmp_path / "b.env").write_text(f"TOKEN={GITHUB_TOKEN}\n")
    return tmp_path


def test_dry_run_plans_one_response_per_secret(
    leaks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["respond", "--dry-run", "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Response plan (dry run): 2 distinct secrets, 0 confirmed\n")
    assert "revoke through GitHub's credential revocation API" in out
    assert "create a new IAM access key" in out
    assert "(not confirmed: reported only)" in out
    assert GITHUB_TOKEN not in out
    assert AWS_KEY_ID not in out


def test_markdown_plan(leaks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["respond", "--dry-run", "--no-verify", "-f", "markdown", "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## leakstop response plan (dry run)\n")
    assert "| `github-pat` | `a.env:1` |" in out
    assert out.count("| not confirmed: reported only |") == 2
    assert GITHUB_TOKEN not in out


def test_nothing_to_respond_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.txt").write_text("hello\n")
    assert main(["respond", "--dry-run"]) == 0
    assert capsys.readouterr().out == "Nothing to respond to: no findings.\n"


def test_a_plan_is_the_default_and_apply_with_dry_run_is_refused(
    leaks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["respond", "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Response plan (dry run): 2 distinct secrets, 0 confirmed\n")
    assert "(not confirmed: reported only)" in out
    assert main(["respond", "--apply", "--dry-run"]) == 2
    assert "not both" in capsys.readouterr().err


MASTER = "master key of the respond tests"


def test_a_leaked_managed_secret_is_confirmed_then_rotated_with_apply(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.audit.record import Source
    from leakstop.store import LocalStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    audit_log = AuditLog.open(private_home / "audit", None)
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("t", Source.API),
        iterations=1000,
    )
    leaked = b"acme_Zq8Xv3Lm9Tr2Kw7pNb4sHd6fQw2Er5Ty"
    store.write("billing/api-key", leaked, expected_version=None)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nsecrets:\n  - name: billing/api-key\n    store: {provider: local}\n"
        "    generate: {length: 32, prefix: acme_}\n"
    )
    (tmp_path / "app.env").write_text(f"ACME_API_KEY={leaked.decode()}\nTOKEN={GITHUB_TOKEN}\n")

    assert main(["respond", "-j", "1", "-f", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    confirmed = [e for e in plan["plan"] if e["confirmed"]]
    assert [(e["managed_secret"], e["action"]) for e in confirmed] == [
        ("billing/api-key", "rotate")
    ]
    assert store.read("billing/api-key") == leaked  # a dry run changes nothing

    assert main(["respond", "--apply", "-j", "1", "-f", "json"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert [(r["secret"], r["outcome"]) for r in outcome["results"]] == [
        ("billing/api-key", "rotated")
    ]
    new = store.read("billing/api-key")
    assert isinstance(new, bytes)
    assert new != leaked
    assert new.startswith(b"acme_")
    assert main(["audit", "query", "--secret", "billing/api-key", "-f", "json"]) == 0
    actions = [r["action"] for r in json.loads(capsys.readouterr().out)]
    assert "rotation_completed" in actions
    assert main(["audit", "query", "--action", "finding_confirmed", "-f", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["details"]["managed_secret"] == "billing/api-key"
    written = b"".join(p.read_bytes() for p in (private_home / "audit").glob("*.jsonl"))
    assert leaked not in written
    assert new not in written


def test_expect_digest_needs_apply_and_a_sha256(
    leaks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["respond", "--expect-digest", "ab" * 32]) == 2
    assert capsys.readouterr().err.strip().endswith("--expect-digest needs --apply")
    assert main(["respond", "--apply", "--expect-digest", "not-a-digest"]) == 2
    assert "not a SHA-256 in hex" in capsys.readouterr().err


def test_plan_out_holds_the_digest_and_apply_refuses_another_plan(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from leakstop.audit.context import Context
    from leakstop.audit.log import AuditLog
    from leakstop.audit.record import Action, Source
    from leakstop.store import LocalStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    audit_log = AuditLog.open(private_home / "audit", None)
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("t", Source.API),
        iterations=1000,
    )
    leaked = b"acme_Pd4Rk8Wm2Xq6Tn9Lb3Hv7Js5Gf1Cz0Ey"
    store.write("billing/api-key", leaked, expected_version=None)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nsecrets:\n  - name: billing/api-key\n    store: {provider: local}\n"
        "    generate: {length: 32, prefix: acme_}\n"
    )
    (tmp_path / "app.env").write_text(f"ACME_API_KEY={leaked.decode()}\n")
    plan_file = tmp_path / "out" / "plan.json"

    assert main(["respond", "-j", "1", "--no-verify", "--plan-out", str(plan_file)]) == 0
    capsys.readouterr()
    text = plan_file.read_text()
    assert leaked.decode() not in text
    document = json.loads(text)
    assert document["version"] == 1
    assert [e["managed_secret"] for e in document["plan"] if e["confirmed"]] == ["billing/api-key"]

    other = "0" * 64
    assert main(["respond", "--apply", "-j", "1", "--no-verify", "--expect-digest", other]) == 2
    err = capsys.readouterr().err
    assert "the plan is not the approved one" in err
    assert "Traceback" not in err
    assert store.read("billing/api-key") == leaked
    # The refusal is on the record: which approval was offered for which plan.
    records = AuditLog.open(private_home / "audit", None).records()
    (record,) = [r for r in records if r.action is Action.ACCESS_DENIED]
    assert record.secret == f"plan:{document['digest']}"
    assert record.details["approved_digest"] == other
    assert not record.success

    approved = document["digest"]
    assert main(["respond", "--apply", "-j", "1", "--no-verify", "--expect-digest", approved]) == 0
    assert "billing/api-key: rotated" in capsys.readouterr().out
    assert store.read("billing/api-key") != leaked


def test_a_managed_secret_that_cannot_be_read_is_named_not_silently_unconfirmed(
    leaks: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("VAULT_TOKEN", "hvs.not-a-real-token-for-this-test")
    (leaks / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  vault: {{type: vault, url: 'http://127.0.0.1:{port}', auth: {{method: token}}}}\n"
        "secrets:\n  - name: ci/deploy-token\n"
        "    store: {provider: vault, mount: secret, path: ci/deploy, key: token}\n"
    )
    assert main(["respond", "--no-verify", "-j", "1"]) == 0
    captured = capsys.readouterr()
    assert "0 confirmed" in captured.out
    assert "cannot read managed secret ci/deploy-token to confirm leaks of it:" in captured.err
    assert "hvs.not-a-real-token-for-this-test" not in captured.err
