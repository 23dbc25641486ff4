"""In GitHub Actions, every command that acts on a credential refuses to run for a pull
request or a fork, before it reads any config or contacts any provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakstop.cli import main

ACTING = [
    ["rotate", "billing/db-password", "--apply"],
    ["revoke", "billing/db-password", "--reason", "leaked", "--severity", "low", "--apply"],
    ["revoke-all", "--type", "postgres", "--reason", "leaked", "--severity", "low", "--apply"],
    ["approve", "rv-0123456789", "--by", "bob"],
    ["respond", "--apply"],
    ["rotations", "run"],
]


@pytest.mark.parametrize("argv", ACTING, ids=lambda argv: argv[0])
@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_pull_request_events_cannot_act(
    argv: list[str],
    event: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no config here: the refusal comes first
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"never runs for {event} events" in err


@pytest.mark.parametrize("argv", ACTING, ids=lambda argv: argv[0])
def test_a_fork_cannot_act(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"fork": True, "default_branch": "main"}}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert main(argv) == 2
    assert "never runs for a fork" in capsys.readouterr().err


def test_outside_actions_the_same_commands_are_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")  # ignored: not GITHUB_ACTIONS
    assert main(["rotate", "billing/db-password", "--apply"]) == 2
    err = capsys.readouterr().err
    assert "never runs" not in err
    assert "not a managed secret" in err
