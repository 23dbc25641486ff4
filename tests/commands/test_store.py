"""`leakstop store …` as a user runs it: a new user's first five minutes (at the real 600,000
PBKDF2 iterations), then every way it can refuse, each one line on stderr and exit 2, with no
value on stdout (but `get`'s), stderr or in the audit log."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.cli import main
from leakstop.store import LocalStore

MASTER = "first master key, from the environment"
NEW_MASTER = "second master key, from the environment"
PLANTED = ("Zq8-db-password-4e1d9b", "tok_live_51c0ffee7a9e", "Zq8-second-password-77")


@pytest.fixture
def user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", "audit key for the store tests")
    monkeypatch.delenv("LEAKSTOP_NEW_MASTER_KEY", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["store", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _fast_store(home: Path, org: str = "default") -> LocalStore:
    """An org made through the API at 1,000 PBKDF2 iterations: later commands read that count
    from org.json, so each derives in ~1 ms instead of ~0.16 s."""
    audit_log = AuditLog.open(home / "audit", b"audit key for the store tests")
    return LocalStore.init(
        home, org, MASTER.encode(), audit_log, Context("setup", Source.API), iterations=1000
    )


def test_a_new_users_first_five_minutes(
    user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], private_home: Path
) -> None:
    outputs: list[str] = []

    def run(*argv: str, stdin: bytes | None = None, expect: int = 0) -> str:
        if stdin is not None:
            _stdin(user, stdin)
        code, out, err = _run(capsys, *argv)
        assert code == expect, err
        outputs.append(err)
        if argv[0] != "get":
            outputs.append(out)
        return out

    assert "Created org default" in run("init")
    assert run("set", "app/db-password", stdin=PLANTED[0].encode() + b"\n").startswith(
        "Stored app/db-password version 1"
    )
    assert run("get", "app/db-password") == PLANTED[0]  # one final newline dropped
    run("set", "app/db-password", stdin=PLANTED[2].encode())
    run("set", "app/stripe", "--json", stdin=json.dumps({"key": PLANTED[1]}).encode())
    assert json.loads(run("get", "app/stripe", "--json")) == {"key": PLANTED[1]}
    assert run("get", "app/stripe", "--field", "key") == PLANTED[1]
    listing = run("list")
    assert listing.splitlines()[0].split() == ["NAME", "CURRENT", "VERSIONS", "UPDATED"]
    assert [line.split()[:3] for line in listing.splitlines()[1:]] == [
        ["app/db-password", "2", "2"],
        ["app/stripe", "1", "1"],
    ]
    versions = json.loads(run("versions", "app/db-password", "-f", "json"))
    assert [(v["version"], v["labels"]) for v in versions["versions"]] == [
        (1, ["previous"]),
        (2, ["current"]),
    ]
    run("rollback", "app/db-password", "--to", "1")
    assert run("get", "app/db-password") == PLANTED[0]
    user.setenv("LEAKSTOP_NEW_MASTER_KEY", NEW_MASTER)
    assert "2 secrets re-encrypted under key generation 2" in run("rotate-key")
    user.setenv("LEAKSTOP_MASTER_KEY", NEW_MASTER)
    user.delenv("LEAKSTOP_NEW_MASTER_KEY")
    assert "Backup first:" in run("backup", "--name", "first")
    run("set", "app/stripe", "--json", stdin=b'{"key": "replaced"}')
    plan = run("restore", "first", "--dry-run")
    assert "would change 1 secrets (1 unchanged)" in plan
    assert "~ changed  app/stripe" in plan
    assert "Restored backup first: 0 added, 1 changed" in run("restore", "first")
    assert run("get", "app/stripe", "--field", "key") == PLANTED[1]
    run("delete", "app/stripe")
    health = run("check")
    assert health.startswith("✓ org default: 1 secrets (1 deleted)")
    assert "warning" not in health  # 600,000 iterations, a keyed audit log

    assert main(["audit", "verify"]) == 0
    assert "records in 1 day files verified" in capsys.readouterr().out
    assert main(["audit", "query", "-f", "json", "--org", "default"]) == 0
    trail = json.loads(capsys.readouterr().out)
    actions = [(r["action"], r["secret"]) for r in trail]
    for expected in [
        ("store_created", ""),
        ("secret_created", "app/db-password"),
        ("secret_read", "app/db-password"),
        ("secret_updated", "app/db-password"),
        ("rollback", "app/db-password"),
        ("master_key_rotated", ""),
        ("backup_created", ""),
        ("backup_restored", ""),
        ("secret_deleted", "app/stripe"),
    ]:
        assert expected in actions
    assert all(r["actor"] and r["source"] == "cli" for r in trail)

    log_text = b"".join(p.read_bytes() for p in (private_home / "audit").rglob("*") if p.is_file())
    everything = "".join(outputs) + log_text.decode("utf-8", "replace")
    for value in PLANTED:
        assert value not in everything


def test_a_wrong_key_is_one_line_exit_2_and_recorded(
    user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], private_home: Path
) -> None:
    store = _fast_store(private_home)
    store.write("db", PLANTED[0].encode(), None)
    before = store.paths.secret("db").read_bytes()
    user.setenv("LEAKSTOP_MASTER_KEY", "not the key")
    code, out, err = _run(capsys, "get", "db")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "leakstop: error: the master key does not open org 'default' (wrong key, or one "
        "retired by rotate-key): nothing was read or changed"
    ]
    assert store.paths.secret("db").read_bytes() == before
    assert main(["audit", "query", "--action", "access_denied", "-f", "json"]) == 0
    denied = json.loads(capsys.readouterr().out)
    assert [(r["secret"], r["success"], r["org"]) for r in denied] == [("db", False, "default")]


def test_no_master_key_and_no_org_are_one_line_each(
    user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = _run(capsys, "list")
    assert code == 2
    assert "no store for org 'default'" in err
    assert "store init --org default" in err
    user.delenv("LEAKSTOP_MASTER_KEY")
    code, _out, err = _run(capsys, "init")
    assert code == 2
    assert "no master key: set LEAKSTOP_MASTER_KEY" in err
    assert len(err.splitlines()) == 1


def test_a_value_on_the_command_line_is_refused_without_echoing_it(
    user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], private_home: Path
) -> None:
    _fast_store(private_home)
    code, out, err = _run(capsys, "set", "db", PLANTED[0])
    assert code == 2
    assert "never taken from the command line" in err
    assert PLANTED[0] not in out + err


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["set", "db"], b"", "no value on stdin"),
        (["set", "db"], b"\n", "no value on stdin"),
        (["set", "db", "--json"], b"[1, 2]", "one JSON object"),
        (["set", "db", "--json"], b"Zq8-not-json", "stdin is not JSON"),
        (["set", "db", "--generate", "--json"], b"", "takes no --json"),
        (["set", "db", "--generate", "--length", "4"], b"", "8 to 4096 characters"),
        (["set", "a b"], b"v", "is not a secret name"),
        (["set", "db", "--expect-version", "3"], b"v", "latest version is none, not 3"),
        (["get", "nope"], b"", "no secret nope in org 'default'"),
        (["rollback", "nope", "--to", "1"], b"", "no secret nope"),
        (["restore", "nope"], b"", "no backup named nope"),
        (["prune-backups", "--older-than", "30"], b"", "--older-than"),
        (["list", "--org", "Prod"], b"", "is not an org name"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    user: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    private_home: Path,
    argv: list[str],
    stdin: bytes,
    message: str,
) -> None:
    _fast_store(private_home)
    _stdin(user, stdin)
    code, out, err = _run(capsys, *argv)
    assert code == 2, out
    assert len(err.splitlines()) == 1, err
    assert message in err
    assert "Zq8-not-json" not in err


def test_set_generate_and_check_and_set_from_scripts(
    user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], private_home: Path
) -> None:
    _fast_store(private_home)
    code, out, _err = _run(capsys, "set", "tok", "--generate", "--length", "40", "--charset", "hex")
    assert (code, out) == (0, "Stored tok version 1 (current).\n")
    code, value, _err = _run(capsys, "get", "tok")
    assert code == 0
    assert len(value) == 40
    assert set(value) <= set("0123456789abcdef")
    _stdin(user, b"v2")
    assert _run(capsys, "set", "tok", "--expect-version", "1")[0] == 0
    _stdin(user, b"v3")
    code, _out, err = _run(capsys, "set", "tok", "--expect-version", "1")
    assert code == 2
    assert "tok changed: its latest version is 2, not 1" in err
    _stdin(user, b"new")
    assert _run(capsys, "set", "fresh", "--expect-version", "0")[0] == 0


def test_get_refuses_a_structured_value_without_json(
    user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], private_home: Path
) -> None:
    _fast_store(private_home).write("cfg", {"password": PLANTED[0]}, None)
    code, out, err = _run(capsys, "get", "cfg")
    assert (code, out) == (2, "")
    assert "holds a JSON object: add --json or --field KEY" in err
    assert PLANTED[0] not in err


def test_check_fails_with_exit_1_on_a_damaged_store(
    user: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], private_home: Path
) -> None:
    store = _fast_store(private_home)
    store.write("db", PLANTED[0].encode(), None)
    store.paths.secret("db").write_bytes(store.paths.secret("db").read_bytes()[:80])
    code, out, _err = _run(capsys, "check")
    assert code == 1
    assert out.startswith("✗ org default: 0 secrets")
    assert "db.json is damaged" in out
    user.setenv("LEAKSTOP_MASTER_KEY", "wrong")
    code, out, _err = _run(capsys, "check", "-f", "text")
    assert code == 1
    assert "the store cannot be opened" in out


def test_starting_leakstop_loads_no_store_code() -> None:
    code = (
        "import sys, leakstop.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('leakstop.store', "
        "'leakstop.commands.store_actions', 'cryptography.fernet'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_store_imports_neither_the_scanner_nor_the_rotator() -> None:
    code = (
        "import sys, leakstop.store, leakstop.store.backup, leakstop.store.restore, "
        "leakstop.store.rotation, leakstop.store.health, leakstop.store.output\n"
        "print(sorted(m for m in sys.modules if m.startswith(('leakstop.scanner', "
        "'leakstop.rotator'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
