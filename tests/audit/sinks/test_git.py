"""The git sink against real repositories: a local bare repository is the remote, records come
from real AuditLogs, and the branch is checked by cloning it and running `audit verify`."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Action, Record, Source
from leakstop.audit.sinks import Sink
from leakstop.audit.sinks import git as git_sink
from leakstop.audit.sinks.git import GitSink
from leakstop.audit.sinks.registry import build_sinks
from leakstop.audit.sinks.relink import COPIED_FROM
from leakstop.audit.verify import verify
from leakstop.cli import main
from leakstop.config.audit import GitSinkSettings
from tests.audit.conftest import KEY, START, Clock
from tests.audit.sinks.githttp import GitHttpServer, basic, git_https_server

TOKEN = "ghs_gitSinkTokenNEVERshown0123456789ab"
ALICE = Context("alice", Source.ACTION, details={"run_url": "https://ci.example/run/1"})


def _git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    _git("init", "--quiet", "--bare", str(path))
    return path


def _sink(remote: Path | str, key: bytes | None = KEY, **settings: Any) -> GitSink:
    return GitSink(GitSinkSettings(remote=str(remote), **settings), key, TOKEN)


def _run(folder: Path, sink: Sink, clock: Clock, count: int = 3) -> list[Record]:
    """A run: `count` records appended to a fresh local log, the sink closed at the end."""
    log = AuditLog.open(folder, KEY, [sink], clock=clock)
    records = []
    for number in range(count):
        clock.advance(minutes=1)
        records.append(
            log.append(Action.SECRET_READ, f"billing/key-{number}", ALICE, details={"n": number})
        )
    log.close(ALICE)
    return records


def _clone(remote: Path, into: Path, branch: str = "leakstop-audit") -> Path:
    _git("clone", "--quiet", "--branch", branch, str(remote), str(into))
    return into


def _branch_records(clone: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(clone.glob("audit-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_a_runs_records_land_on_the_branch_and_verify(
    remote: Path,
    tmp_path: Path,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = _run(tmp_path / "local", _sink(remote), clock)

    clone = _clone(remote, tmp_path / "clone")
    landed = _branch_records(clone)
    assert [r["id"] for r in landed] == [r.id for r in records]
    assert [r["seq"] for r in landed] == [1, 2, 3]
    assert landed[0]["details"][COPIED_FROM] == {
        "seq": records[0].seq,
        "mac": records[0].mac,
        "timestamp": records[0].timestamp,
    }
    assert landed[0]["details"]["run_url"] == "https://ci.example/run/1"
    assert _git("log", "--format=%s", cwd=clone).splitlines() == ["audit: 3 records, seq 1–3"]
    monkeypatch.setenv("LEAKSTOP_AUDIT_KEY", KEY.decode())
    assert main(["audit", "verify", "--dir", str(clone)]) == 0
    assert "3 records in 1 day files verified (seq 1–3)" in capsys.readouterr().out


def test_the_next_run_is_relinked_after_the_branchs_last_record(
    remote: Path, tmp_path: Path, clock: Clock
) -> None:
    first = _run(tmp_path / "run1", _sink(remote), clock)
    second = _run(tmp_path / "run2", _sink(remote), clock)
    # Each run's local log starts its own chain: the same seqs, other macs.
    assert [r.seq for r in second] == [r.seq for r in first] == [1, 2, 3]

    clone = _clone(remote, tmp_path / "clone")
    landed = _branch_records(clone)
    assert [r["seq"] for r in landed] == [1, 2, 3, 4, 5, 6]
    assert landed[3]["prev"] == landed[2]["mac"]
    assert landed[3]["details"][COPIED_FROM]["mac"] == second[0].mac
    assert landed[3]["mac"] != second[0].mac
    result = verify(clone, KEY)
    assert result.ok, result.problem
    assert (result.records, result.last_seq) == (6, 6)
    assert len(_git("log", "--format=%H", cwd=clone).split()) == 2


def test_a_run_that_loses_the_race_is_relinked_on_top_of_the_winner(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run A fetches the branch, run B pushes, then A's push is refused; A fetches again and
    re-links its records after B's. Both land; the branch is one chain. B's records are
    dated after A's, so A's copies take B's last time (a log's time never goes back)."""
    early, late = Clock(START), Clock(START + timedelta(hours=1))
    loser, winner = _sink(remote), _sink(remote)
    pushes: list[str] = []
    push_once = loser._push_once

    def push_after_the_winner(*args: Any) -> bool:
        if not pushes:
            pushes.append("winner")
            winner_records.extend(_run(tmp_path / "winner", winner, late))
        pushes.append("loser")
        return push_once(*args)

    winner_records: list[Record] = []
    monkeypatch.setattr(loser, "_push_once", push_after_the_winner)
    loser_records = _run(tmp_path / "loser", loser, early)

    assert pushes == ["winner", "loser", "loser"]  # refused once, then landed
    landed = _branch_records(_clone(remote, tmp_path / "clone"))
    assert [r["id"] for r in landed] == [r.id for r in winner_records + loser_records]
    assert [r["seq"] for r in landed] == list(range(1, 7))
    winner_last = landed[2]["timestamp"]
    assert all(r["timestamp"] == winner_last for r in landed[3:])
    assert [r["details"][COPIED_FROM]["timestamp"] for r in landed[3:]] == [
        r.timestamp for r in loser_records
    ]
    result = verify(tmp_path / "clone", KEY)
    assert result.ok, result.problem


@pytest.mark.slow
def test_concurrent_runs_in_separate_processes_all_land(remote: Path, tmp_path: Path) -> None:
    """Four processes, each with its own AuditLog, released together, push to one branch."""
    go = tmp_path / "go"
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from leakstop.audit.context import Context
        from leakstop.audit.log import AuditLog
        from leakstop.audit.record import Action, Source
        from leakstop.audit.sinks.git import GitSink
        from leakstop.config.audit import GitSinkSettings

        remote, folder, go, name = sys.argv[1:5]
        key = sys.argv[5].encode()
        sink = GitSink(GitSinkSettings(remote=remote), key, None, attempts=12)
        log = AuditLog.open(Path(folder), key, [sink])
        while not Path(go).exists():
            time.sleep(0.005)
        for n in range(5):
            record = log.append(Action.SECRET_READ, f"{name}/key", Context(name, Source.ACTION))
            print(record.id)
        log.close()
        """
    )
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                script,
                str(remote),
                str(tmp_path / f"run{n}"),
                str(go),
                f"run{n}",
                KEY.decode(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    time.sleep(1.0)  # let every process import and wait at the line
    go.touch()
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert not any("did not close" in err for _, err in outputs), [e for _, e in outputs]

    clone = _clone(remote, tmp_path / "clone")
    landed = [r["id"] for r in _branch_records(clone)]
    sent = [line for out, _ in outputs for line in out.split()]
    assert sorted(landed) == sorted(sent)
    assert len(landed) == 20
    assert len(_git("log", "--format=%H", cwd=clone).split()) == 4
    result = verify(clone, KEY)
    assert result.ok, result.problem
    # No run left a local sink_failed record: every push landed.
    for n in range(4):
        local = AuditLog.open(tmp_path / f"run{n}", KEY)
        assert [r.action for r in local.records()] == [Action.SECRET_READ] * 5


def _failure_records(folder: Path) -> list[Record]:
    return [r for r in AuditLog.open(folder, KEY).records() if r.action is Action.SINK_FAILED]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"remote": "/nowhere/remote.git"},
            "cannot reach the remote ('/nowhere/remote.git' does not appear to be a git "
            "repository); 3 records (seq 1–3) not pushed",
        ),
        ({"branch": "audit..trail"}, "'audit..trail' is not a git branch name"),
    ],
)
def test_a_sink_that_cannot_push_is_a_local_one_line_failure(
    remote: Path,
    tmp_path: Path,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    settings: dict[str, str],
    message: str,
) -> None:
    folder = tmp_path / "local"
    sink = GitSink(GitSinkSettings(**{"remote": str(remote), **settings}), KEY, TOKEN)
    with caplog.at_level(logging.WARNING):
        records = _run(folder, sink, clock)

    [failure] = _failure_records(folder)
    assert failure.details["stage"] == "close"
    assert message in failure.details["error"]
    assert "\n" not in failure.details["error"]
    assert message in caplog.text
    local = [r for r in AuditLog.open(folder, KEY).records() if r.action is Action.SECRET_READ]
    assert [r.id for r in local] == [r.id for r in records]  # nothing lost locally
    assert verify(folder, KEY).ok
    assert TOKEN not in caplog.text
    assert TOKEN not in "".join(p.read_text() for p in folder.glob("audit-*.jsonl"))


def test_a_push_the_remote_refuses_is_not_retried(
    remote: Path, tmp_path: Path, clock: Clock
) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch protected' >&2\nexit 1\n")
    hook.chmod(0o755)
    folder = tmp_path / "local"
    _run(folder, _sink(remote), clock)

    [failure] = _failure_records(folder)
    assert "the remote refused the push ([remote rejected] (pre-receive hook declined))" in (
        failure.error or ""
    )
    assert _git("ls-remote", str(remote)) == ""


def test_a_branch_sealed_with_another_key_is_not_continued(
    remote: Path, tmp_path: Path, clock: Clock
) -> None:
    _run(tmp_path / "run1", _sink(remote, key=b"another key entirely"), clock)
    folder = tmp_path / "run2"
    _run(folder, _sink(remote), clock)

    [failure] = _failure_records(folder)
    assert "the branch's log cannot be continued" in (failure.error or "")
    assert "does not match its mac" in (failure.error or "")
    assert len(_branch_records(_clone(remote, tmp_path / "clone"))) == 3


def test_records_already_on_the_branch_are_not_pushed_twice(
    remote: Path, tmp_path: Path, make_record: Any
) -> None:
    record = make_record(seq=1, prev="", mac="hmac-sha256:" + "0" * 64)
    for _ in range(2):  # a retried close, as after a push that landed but seemed to fail
        sink = _sink(remote)
        sink.send(record)
        sink.close()
    clone = _clone(remote, tmp_path / "clone")
    assert [r["id"] for r in _branch_records(clone)] == [record.id]
    assert len(_git("log", "--format=%H", cwd=clone).split()) == 1


def test_the_remote_by_name_is_origin_of_the_surrounding_repository(
    remote: Path, tmp_path: Path, clock: Clock
) -> None:
    checkout = tmp_path / "checkout"
    _git("init", "--quiet", str(checkout))
    # Credentials someone put in origin's URL are not carried into the sink's clone.
    _git("remote", "add", "origin", f"file://user:{TOKEN}@{remote}", cwd=checkout)
    (checkout / "sub").mkdir()
    sink = GitSink(GitSinkSettings(remote="origin"), KEY, TOKEN, cwd=checkout / "sub")
    _run(tmp_path / "local", sink, clock)
    assert len(_branch_records(_clone(remote, tmp_path / "clone"))) == 3
    assert _git("status", "--porcelain", cwd=checkout) == ""  # the user's checkout untouched
    assert _git("branch", "--list", cwd=checkout) == ""


def test_an_unknown_remote_name_is_a_local_failure(tmp_path: Path, clock: Clock) -> None:
    checkout = tmp_path / "checkout"
    _git("init", "--quiet", str(checkout))
    folder = tmp_path / "local"
    sink = GitSink(GitSinkSettings(remote="upstream"), KEY, TOKEN, cwd=checkout)
    _run(folder, sink, clock)
    [failure] = _failure_records(folder)
    assert "the repository has no remote 'upstream'" in (failure.error or "")


def test_the_token_is_never_written_down(
    remote: Path,
    tmp_path: Path,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Not in the output, the logs, the temporary clone's .git/config, or the branch."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: None)  # keep the clone
    sink = GitSink(GitSinkSettings(remote=str(remote)), KEY, TOKEN, scratch=scratch)
    with caplog.at_level(logging.DEBUG):
        _run(tmp_path / "local", sink, clock)

    [config] = scratch.glob("*/*/.git/config")
    assert TOKEN not in config.read_text()
    assert TOKEN not in caplog.text
    out, err = capfd.readouterr()
    assert TOKEN not in out + err
    clone = _clone(remote, tmp_path / "clone")
    for path in clone.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    assert TOKEN not in repr(sink)
    assert TOKEN not in sink.name


def test_the_token_goes_only_to_an_https_remote_as_a_header() -> None:
    header = git_sink._git_environment("https://github.com/acme/app.git", TOKEN)
    assert header["GIT_CONFIG_KEY_1"] == "http.https://github.com/.extraHeader"
    assert header["GIT_CONFIG_VALUE_1"].startswith("Authorization: Basic ")
    assert header["GIT_TERMINAL_PROMPT"] == "0"
    for url in ("http://git.example/app.git", "/srv/app.git", "git@github.com:acme/app.git"):
        assert TOKEN not in json.dumps(git_sink._git_environment(url, TOKEN))
        assert "extraHeader" not in json.dumps(git_sink._git_environment(url, TOKEN))


def test_built_from_settings_with_the_token_from_the_environment(remote: Path) -> None:
    settings = GitSinkSettings(remote=f"https://user:pw@git.example/{remote.name}")
    [sink] = build_sinks([settings], {"GITHUB_TOKEN": TOKEN, "LEAKSTOP_AUDIT_KEY": "k"})
    assert isinstance(sink, GitSink)
    assert sink.name == "git https://git.example/remote.git leakstop-audit"
    assert "pw" not in sink.name
    sink.close()  # no records: connects to nothing


def test_nothing_is_pushed_for_a_run_without_records(remote: Path) -> None:
    _sink(remote).close()
    assert _git("ls-remote", str(remote)) == ""


def test_the_environment_of_the_process_is_left_alone(remote: Path, tmp_path: Path) -> None:
    before = dict(os.environ)
    sink = _sink(remote)
    sink.send(Record(Action.SECRET_READ, "a", "alice", Source.CLI, seq=1, mac="sha256:" + "0" * 64))
    sink.close()
    assert dict(os.environ) == before


@pytest.fixture
def https_remote(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GitHttpServer]:
    """`remote` served over https with the token required; git trusts the test CA."""
    with git_https_server(remote.parent, TOKEN, tmp_path) as server:
        monkeypatch.setenv("GIT_SSL_CAINFO", str(server.ca_file))
        yield server


def test_the_token_authenticates_the_push_over_https(
    https_remote: GitHttpServer,
    remote: Path,
    tmp_path: Path,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings = GitSinkSettings(remote=f"{https_remote.url}/{remote.name}")
    [sink] = build_sinks([settings], {"GITHUB_TOKEN": TOKEN})
    with caplog.at_level(logging.DEBUG):
        records = _run(tmp_path / "local", sink, clock)

    assert https_remote.authorizations  # the server was asked
    assert set(https_remote.authorizations) == {basic(TOKEN)}  # every request carried it
    landed = _branch_records(_clone(remote, tmp_path / "clone"))
    assert [r["id"] for r in landed] == [r.id for r in records]
    out, err = capfd.readouterr()
    assert TOKEN not in caplog.text + out + err
    assert basic(TOKEN).split()[1] not in caplog.text + out + err


def test_without_the_token_the_https_push_fails_in_one_line_without_prompting(
    https_remote: GitHttpServer, remote: Path, tmp_path: Path, clock: Clock
) -> None:
    folder = tmp_path / "local"
    settings = GitSinkSettings(remote=f"{https_remote.url}/{remote.name}")
    [sink] = build_sinks([settings], {})
    _run(folder, sink, clock)

    [failure] = _failure_records(folder)
    assert "cannot reach the remote" in (failure.error or "")
    assert "terminal prompts disabled" in (failure.error or "")
    assert "\n" not in (failure.error or "")
    assert https_remote.authorizations == [""]
    assert _git("ls-remote", str(remote)) == ""


def test_a_branch_that_holds_code_is_refused(remote: Path, tmp_path: Path, clock: Clock) -> None:
    checkout = tmp_path / "checkout"
    _git("init", "--quiet", "--initial-branch=main", str(checkout))
    (checkout / "app.py").write_text("print('hello')\n")
    _git("add", "app.py", cwd=checkout)
    _git(
        "-c",
        "user.name=dev",
        "-c",
        "user.email=dev@example.com",
        "commit",
        "-qm",
        "app",
        cwd=checkout,
    )
    _git("push", "--quiet", str(remote), "main", cwd=checkout)
    head = _git("rev-parse", "main", cwd=checkout)
    folder = tmp_path / "local"
    _run(folder, _sink(remote, branch="main"), clock)

    [failure] = _failure_records(folder)
    assert "holds other files ('app.py'…): it is not an audit branch" in (failure.error or "")
    assert _git("rev-parse", "main", cwd=remote) == head
