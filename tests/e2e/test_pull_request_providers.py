"""A pull request's `.leakstop.yaml` cannot point `providers:` at a server of its choosing:
on `pull_request` and `pull_request_target`, scanning, verifying and planning a response
send nothing to the servers it names. A local server records every request; the same config
run outside Actions reaches it (so the test can fail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import GITHUB_TOKEN, GitRepo, installed_tool

pytestmark = pytest.mark.e2e


class Recorder:
    """An HTTP server on 127.0.0.1 that answers 200 `{}` and records each request line."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                recorder.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                body = b'{"data": {"data": {"password": "x"}, "metadata": {"version": 1}}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


def hostile_config(url: str) -> str:
    return (
        "version: 1\n"
        "providers:\n"
        f"  vault: {{type: vault, url: '{url}', auth: {{method: token, token_env: EVIL_TOKEN}}}}\n"
        f"  hook: {{type: webhook, url: '{url}/hook', hmac_key_env: EVIL_KEY}}\n"
        f"  github: {{type: github, api_url: '{url}/api'}}\n"
        "secrets:\n"
        "  - name: stolen/db\n"
        "    store: {provider: vault, mount: secret, path: app/db, key: password}\n"
        "    issuer: {provider: hook, service: db}\n"
        "  - name: ci/token\n"
        "    store: {provider: github, repository: o/r, secret: DEPLOY_TOKEN}\n"
    )


def _leakstop(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    executable = installed_tool("leakstop")
    command = [executable] if executable else [sys.executable, "-m", "leakstop"]
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture
def workspace(git_repo: GitRepo, tmp_path: Path, recorder: Recorder) -> tuple[Path, Path]:
    """A shallow clone of a pull request's merge commit; the pull request adds a token and a
    config whose providers all point at `recorder`. Returns (workspace, event file)."""
    git_repo.write(".leakstop.yaml", "version: 1\n")
    git_repo.write("app.env", "MODE=prod\n")
    base = git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write(".leakstop.yaml", hostile_config(recorder.url))
    git_repo.write("app.env", f"MODE=prod\nTOKEN={GITHUB_TOKEN}\n")
    head = git_repo.commit("point the providers elsewhere")
    git_repo.git("checkout", "-q", "-b", "pull-3-merge", base)
    git_repo.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
    clone = git_repo.shallow_clone(tmp_path / "workspace", "pull-3-merge").path
    event = {
        "number": 3,
        "pull_request": {
            "number": 3,
            "base": {"sha": base, "ref": "main"},
            "head": {"sha": head, "ref": "feature", "repo": {"fork": True}},
        },
        "repository": {"default_branch": "main"},
    }
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    return clone, event_path


def _environment(
    tmp_path: Path, event_name: str, event_path: Path, issuer_url: str
) -> dict[str, str]:
    runner = tmp_path / f"runner-{event_name}"
    runner.mkdir(exist_ok=True)
    return {
        **{k: v for k, v in os.environ.items() if k != "LEAKSTOP_CONFIG"},
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "RUNNER_TEMP": str(runner),
        "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
        "GITHUB_OUTPUT": str(runner / "output"),
        "EVIL_TOKEN": "hvs.token-the-attacker-wants",
        "EVIL_KEY": "hmac-key-the-attacker-wants",
        # Verification may send the token to its issuer (api.github.com, here a server of
        # its own), never to what the pull request names.
        "LEAKSTOP_VERIFY_ENDPOINTS": json.dumps({"api.github.com": issuer_url}),
        "LEAKSTOP_MASTER_KEY": "master key of the pull request providers test",
    }


@pytest.mark.parametrize("event_name", ["pull_request", "pull_request_target"])
def test_a_pull_requests_providers_are_never_contacted(
    workspace: tuple[Path, Path], recorder: Recorder, tmp_path: Path, event_name: str
) -> None:
    clone, event_path = workspace
    with Recorder() as issuer:
        env = _environment(tmp_path, event_name, event_path, issuer.url)
        plan_out = tmp_path / "plan.json"
        _pull_request_run(clone, env, plan_out, event_name)
    assert issuer.requests == ["GET /user"]  # respond verified the token with its issuer
    assert recorder.requests == []
    plan = json.loads(plan_out.read_text())
    assert "stolen/db" not in json.dumps(plan)
    assert "ci/token" not in json.dumps(plan)


def _pull_request_run(clone: Path, env: dict[str, str], plan_out: Path, event_name: str) -> None:
    scan = _leakstop(["action"], clone, env)
    assert scan.returncode == 1, scan.stdout + scan.stderr  # the token is found
    respond = _leakstop(["respond", "--github-event", "--plan-out", str(plan_out)], clone, env)
    assert respond.returncode in (0, 1), respond.stdout + respond.stderr
    assert "Traceback" not in respond.stderr
    applied = _leakstop(["respond", "--github-event", "--apply"], clone, env)
    assert applied.returncode == 2
    assert f"never runs for {event_name} events" in applied.stderr


def test_the_same_config_outside_actions_does_reach_its_providers(
    workspace: tuple[Path, Path], recorder: Recorder, tmp_path: Path
) -> None:
    """The control: with the pull request's config in charge (a developer's own machine),
    planning a response asks the configured store for its current value."""
    clone, _event = workspace
    env = _environment(tmp_path, "local", tmp_path / "none.json", recorder.url)
    del env["GITHUB_ACTIONS"], env["GITHUB_EVENT_NAME"], env["GITHUB_EVENT_PATH"]
    git = ["git", "-C", str(clone)]
    subprocess.run([*git, "fetch", "-q", "--depth=1", "origin", "feature"], check=True)
    subprocess.run([*git, "checkout", "-q", "FETCH_HEAD"], check=True)
    _leakstop(["respond", "--no-verify", "."], clone, env)
    assert any("/v1/secret/" in r for r in recorder.requests), recorder.requests
