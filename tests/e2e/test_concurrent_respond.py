"""50 `leakstop respond --apply` runs started at once against one leaked managed secret: the
secret is rotated exactly once, every other run says why it did nothing, and the audit log
verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.audit.verify import verify
from leakstop.store import LocalStore
from tests.conftest import GITHUB_TOKEN, installed_tool

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RUNS = 50
MASTER = "concurrent respond master key"
AUDIT_KEY = "concurrent respond audit key"
SECRET = "ci/github-token"
CONFIG = f"""version: 1
secrets:
  - name: {SECRET}
    store: {{provider: local}}
"""
#: Each run waits for this file, so all 50 are past interpreter start-up when it appears.
BARRIER = """
import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.005)
os.execv(sys.argv[2], sys.argv[2:])
"""
#: What a run that did not rotate may say, and nothing else.
LEASE_HELD = "is being rotated by another run"
ALREADY_ROTATED = "already rotated by another run"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAKSTOP_", "GITHUB_"))}
    return {
        **env,
        "LEAKSTOP_HOME": str(home),
        "LEAKSTOP_MASTER_KEY": MASTER,
        "LEAKSTOP_AUDIT_KEY": AUDIT_KEY,
    }


def test_fifty_concurrent_applies_rotate_the_secret_exactly_once(
    private_home: Path, tmp_path: Path
) -> None:
    audit_log = AuditLog.open(private_home / "audit", AUDIT_KEY.encode())
    store = LocalStore.init(
        private_home,
        "default",
        MASTER.encode(),
        audit_log,
        Context("setup", Source.API),
        iterations=1000,
    )
    store.write(SECRET, GITHUB_TOKEN.encode(), None)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".leakstop.yaml").write_text(CONFIG)
    (repo / "app.env").write_text(f"GITHUB_TOKEN={GITHUB_TOKEN}\n")
    go = tmp_path / "go"
    leakstop = installed_tool("leakstop") or "leakstop"
    command = [leakstop, "respond", "--apply", "--no-verify", "-j", "1", "-f", "json", str(repo)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", BARRIER, str(go), *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(private_home),
            cwd=tmp_path,
        )
        for _ in range(RUNS)
    ]
    go.touch()
    finished = [(run.wait(timeout=600), *run.communicate()) for run in runs]

    outcomes: dict[str, int] = {}
    for code, out, err in finished:
        text, errors = out.decode(), err.decode()
        assert "Traceback" not in errors, errors
        assert GITHUB_TOKEN not in text + errors
        assert code in (0, 1), (code, errors)
        kind = _outcome(json.loads(text))
        assert (kind == "lease held") == (code == 1), (kind, code, text)
        outcomes[kind] = outcomes.get(kind, 0) + 1
    print(f"outcomes of {RUNS} runs: {outcomes}")
    assert outcomes.get("rotated") == 1, outcomes
    assert sum(outcomes.values()) == RUNS
    assert set(outcomes) <= {"rotated", "lease held", "already rotated", "not confirmed"}

    versions = store.versions(SECRET)
    assert [v.number for v in versions] == [1, 2], versions
    assert store.read(SECRET) != GITHUB_TOKEN.encode()
    completed = _actions(private_home).count("rotation_completed")
    assert completed == 1
    result = verify(private_home / "audit", AUDIT_KEY.encode())
    assert result.ok, result.problem
    assert result.records > RUNS  # every run's finding_detected at least


def _outcome(document: dict[str, object]) -> str:
    results = document.get("results") or []
    assert isinstance(results, list)
    if not results:  # the value it found was no longer current: nothing confirmed
        return "not confirmed"
    (result,) = results
    assert isinstance(result, dict)
    if result.get("outcome") == "rotated":
        return "rotated"
    if result.get("outcome") == "skipped":
        # Confirmed against version 1, which another run rotated away before this one began.
        assert ALREADY_ROTATED in str(result.get("error")), result
        return "already rotated"
    assert LEASE_HELD in str(result.get("error")), result
    return "lease held"


def _actions(home: Path) -> list[str]:
    return [
        json.loads(line)["action"]
        for path in sorted((home / "audit").glob("audit-*.jsonl"))
        for line in path.read_text().splitlines()
    ]
