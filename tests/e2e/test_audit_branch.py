"""The audit branch through the CLI: each `leakstop` command is a run whose records are pushed
to the branch when it ends, and a clone of the branch verifies as one log."""

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
from leakstop.store.local import LocalStore

MASTER = "master key of the audit branch test"
AUDIT_KEY = "audit key of the audit branch test"
VALUE = "Zq8-branch-password-5f2c71"
TOKEN = "ghs_auditBranchTokenNEVERshown012345678"


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def test_each_command_pushes_its_records_and_the_branch_verifies(
    private_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    remote = tmp_path / "audit.git"
    _git("init", "--quiet", "--bare", str(remote))
    project = tmp_path / "project"
    project.mkdir()
    (project / ".leakstop.yaml").write_text(
        f"version: 1\naudit:\n  sinks:\n    - {{type: git, remote: '{remote}'}}\n"
    )
    monkeypatch.chdir(project)
    monkeypatch.setenv("LEAKSTOP_MASTER_KEY", MASTER)
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", AUDIT_KEY)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    # The org at 1,000 PBKDF2 iterations (later commands read the count), outside the CLI.
    LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        AuditLog.open(private_home / "audit", AUDIT_KEY.encode()),
        Context("setup", Source.API),
        iterations=1000,
    )

    outputs = []
    for value in (VALUE, VALUE + "-2"):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(value.encode())))
        assert main(["store", "set", "app/db-password"]) == 0
        outputs.append(capsys.readouterr())
    assert main(["store", "get", "app/db-password"]) == 0
    capsys.readouterr()

    clone = tmp_path / "clone"
    _git("clone", "--quiet", "--branch", "leakstop-audit", str(remote), str(clone))
    assert len(_git("log", "--format=%H", cwd=clone).split()) == 3  # one commit per command
    records = [json.loads(line) for path in clone.glob("audit-*.jsonl") for line in path.open()]
    assert [r["action"] for r in records] == ["secret_created", "secret_updated", "secret_read"]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert main(["audit", "verify", "--dir", str(clone)]) == 0
    assert "3 records in 1 day files verified (seq 1–3)" in capsys.readouterr().out
    # The local log has these records too, and no sink_failed.
    local = [r.action.value for r in AuditLog.open(private_home / "audit", None).records()]
    assert "sink_failed" not in local

    everything = "".join(o.out + o.err for o in outputs)
    for path in clone.rglob("*"):
        if path.is_file():
            everything += path.read_bytes().decode("utf-8", "replace")
    assert VALUE not in everything
    assert TOKEN not in everything
