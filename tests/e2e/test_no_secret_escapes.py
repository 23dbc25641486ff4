"""No secret escapes (issue 17): plant distinct secrets in a repository, the local store and a
real OpenBao, run every command and mode with debug logging — scans in every format, baseline,
respond plan and apply, rotate, rotations, audit, store, providers, revoke, notify, the Action's
composite steps, and deliberate failures — then search every byte they wrote (stdout, stderr,
files under the test's folders and HOME, HTTP requests received by the local notification and
audit servers) for each secret in clear, base64, URL-encoded, hex and JSON-escaped form.

Only the issuers' own endpoints (the live check, the revocation API, OpenBao) may receive a
secret, and only `store get` and `scan --show-secrets` may print one: both are asserted to do
so, which also shows the search would notice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from leakstop.cli import main
from leakstop.rules.validators import base62_crc32
from tests.conftest import GitRepo
from tests.e2e.actions_runner import CompositeRunner
from tests.e2e.secret_search import SecretSearch, Witness, snapshot
from tests.e2e.test_action import CHECKOUT, standins
from tests.rotator.providers.bao import BaoServer, closed_port, kv_data, running_bao

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Values of this test only: the rules' own examples (conftest's token and keys) are in the rule
# cache by design, so they would be found there.
_GITHUB_BODY = "Q7mZp2Xk9LwR4tVb8Nc3Hs6Jd1Fg5Y"
GITHUB_TOKEN = f"ghp_{_GITHUB_BODY}{base62_crc32(_GITHUB_BODY)}"
AWS_KEY_ID = "AKIAZ7TQ4MWP2KXN8RVB"
AWS_SECRET = "pX4vN8qT2zL6wR9mK3bJ7cY1hF5dG0sUeAiOoVnQ"
PASSWORD = "Hq7vLp2xZr9wQm4kTe"
SLACK_TOKEN = "Wm8pKd2Lx7QvRz4NbT6hYs1c"
SLACK_URL = f"https://hooks.slack.com/services/TQ4M2K7PL/B9X3RWZ5TNQ/{SLACK_TOKEN}"
LOCAL_VALUE = "acme_Vb7Kq2Wx9Rm4Tz8Lp3Hn6Jd5Sf1Gc0Ya"
VAULT_VALUE = "Rk4wNp8TzQ2vXm6LbJ9s"
MASTER_KEY = "master-key-Tq3ZxW8pLm2VbN7k"
AUDIT_KEY = "audit-key-Jd5Sf1Gc0YaQ4m"
SINK_KEY = "sink-key-Pz6Rt2Nx8Lw4Vq"
SIEM_KEY = "siem-key-Kc7Hb3Mv9Xs1Fd"
#: A path only the notifier's configuration holds: the URL is a credential too.
HOOK_PATH = "/hooks/T0nEWxq9Lp2Rm7Zs"


def _private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem.decode()


class Recorder:
    """A local HTTP server that records every request (line, headers, body) and answers 200."""

    def __init__(self, name: str, answer: Any = None) -> None:
        self.name = name
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.requests: list[bytes] = []
        self.paths: list[bytes] = []
        self.answer = answer or (lambda request: Response("{}", 200, mimetype="application/json"))
        self.server.expect_request("").respond_with_handler(self._handle)
        self.server.start()

    def _handle(self, request: Request) -> Response:
        # Not the URL: the server is its own address (a notifier's URL is a credential that
        # only its receiver may see); what the sender chose to send is searched.
        head = f"{request.method}\n" + "".join(
            f"{key}: {value}\n" for key, value in request.headers.items()
        )
        self.paths.append(request.path.encode())
        self.requests.append(head.encode() + b"\n" + request.get_data())
        result: Response = self.answer(request)
        return result

    def url(self, path: str = "") -> str:
        return self.server.url_for(path).rstrip("/") if not path else self.server.url_for(path)

    def stop(self) -> None:
        self.server.clear()
        if self.server.is_running():
            self.server.stop()


def _issuer_answer(request: Request) -> Response:
    """api.github.com (live check and revocation) and STS as the verifiers see them."""
    auth = request.headers.get("Authorization", "")
    if request.path == "/user":
        status = 200 if auth == f"Bearer {GITHUB_TOKEN}" else 401
        return Response(json.dumps({"login": "someone"}), status, mimetype="application/json")
    if request.path == "/rate_limit":
        return Response('{"resources": {}}', 200, mimetype="application/json")
    if request.path == "/credentials/revoke":
        return Response("{}", 202, mimetype="application/json")
    return Response("<Error><Code>InvalidClientTokenId</Code></Error>", 403)


@dataclass
class Ran:
    label: str
    code: int
    seconds: float


@dataclass(repr=False)
class World:
    """The planted repository, the servers, and every command's output."""

    repo: GitRepo
    home: Path
    env: dict[str, str]
    witness: Witness
    secrets: dict[str, str]
    capfd: pytest.CaptureFixture[str]
    matrix: list[Ran] = field(default_factory=list)
    #: Output that prints a secret on purpose: checked for it, kept out of the search.
    asked: dict[str, str] = field(default_factory=dict)
    #: Files the test itself wrote with a secret in them (bad configs, a clone), as they
    #: were before leakstop ran: only a change by leakstop would be searched.
    planted: dict[str, str] = field(default_factory=dict)

    def plant(self, path: Path, text: str) -> Path:
        path.write_text(text)
        self.planted.update(snapshot([path]))
        return path

    def run(
        self, label: str, *args: str, stdin: str | None = None, bug: bool = False
    ) -> tuple[int, str, str]:
        """`leakstop ARGS` in this process (0.4 s instead of 2 s for a new one), or in a new
        process when it reads stdin; returns the exit code, stdout and stderr."""
        started = time.monotonic()
        if stdin is None:
            self.capfd.readouterr()
            code = main(list(args))
            out, err = self.capfd.readouterr()
        else:
            done = subprocess.run(
                [sys.executable, "-m", "leakstop", *args],
                cwd=self.repo.path,
                env={**os.environ, **self.env},
                input=stdin,
                capture_output=True,
                text=True,
                timeout=120,
            )
            code, out, err = done.returncode, done.stdout, done.stderr
        self.matrix.append(Ran(label, code, time.monotonic() - started))
        self.witness.add(f"stdout of {label}", out)
        self.witness.add(f"stderr of {label}", err)
        assert ("Traceback" in err) == bug, f"{label}: {err[-2000:]}"
        return code, out, err

    def ok(self, label: str, *args: str, expect: int = 0) -> str:
        """Run it and check its exit code; returns stdout."""
        code, out, err = self.run(label, *args)
        assert code == expect, f"{label}: exit {code}\n{out[-1500:]}\n{err[-1500:]}"
        return out


#: Inherited variables a first-run user does not have: leakstop's own, GitHub Actions', and
#: the providers' credentials and addresses.
INHERITED = ("LEAKSTOP_", "GITHUB_", "RUNNER_", "VAULT_", "BAO_", "AWS_", "AZURE_", "GOOGLE_")


def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's empty home folder (with its tmp/), and none of the INHERITED variables."""
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    for key in os.environ:
        if key.startswith(INHERITED):
            monkeypatch.delenv(key)
    return home


def live_in(
    home: Path,
    where: Path,
    monkeypatch: pytest.MonkeyPatch,
    master_key: str,
    audit_key: str,
    **extra: str,
) -> dict[str, str]:
    """Set the environment of a user of `home` working in `where`: every folder a program
    writes to (temporary files, XDG, leakstop's data and cache) under `home`, the master and
    audit keys, and `extra`. Returns what was set."""
    env = dict(
        HOME=str(home),
        TMPDIR=str(home / "tmp"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local/share"),
        LEAKSTOP_HOME=str(home / "leakstop"),
        LEAKSTOP_CACHE_DIR=str(home / "cache"),
        LEAKSTOP_MASTER_KEY=master_key,
        LEAKSTOP_AUDIT_KEY=audit_key,
        **extra,
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(where)
    return env


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    yield from running_bao(tmp_path_factory.mktemp("bao"))


@pytest.fixture
def servers() -> Iterator[dict[str, Recorder]]:
    made = {
        "issuer": Recorder("issuer", _issuer_answer),
        "notifications": Recorder("notifications"),
        "audit sink": Recorder("audit sink"),
    }
    try:
        yield made
    finally:
        for server in made.values():
            server.stop()


def _config(bao_url: str, servers: dict[str, Recorder]) -> str:
    return f"""version: 1
providers:
  vault: {{type: vault, url: '{bao_url}', auth: {{method: token}}}}
  github: {{type: github, api_url: '{servers["issuer"].url()}', revoke_authenticated: false}}
secrets:
  - name: billing/api-key
    store: {{provider: local}}
    generate: {{length: 32, prefix: acme_}}
    policy: {{interval: 1d, grace: 0s}}
  - name: reports/db-password
    store: {{provider: vault, mount: secret, path: reports/db, key: password}}
    generate: {{length: 20, charset: alnum}}
    policy: {{interval: 1d, grace: 0s}}
audit:
  sinks:
    - {{type: http, url: '{servers["audit sink"].url("/audit")}', key_env: SINK_KEY}}
notifications:
  - name: ops
    type: slack
    url_env: OPS_WEBHOOK
    events: [rotation_failed, rotation_finished, revocation, leak_confirmed, expiring, anomaly]
  - name: siem
    type: webhook
    url_env: SIEM_WEBHOOK
    signing_key_env: SIEM_KEY
    events: [rotation_failed, rotation_finished, revocation, leak_confirmed, expiring, anomaly]
"""


@pytest.fixture
def world(
    git_repo: GitRepo,
    tmp_path: Path,
    bao: BaoServer,
    servers: dict[str, Recorder],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> World:
    private_key = _private_key()
    body_lines = private_key.splitlines()[1:-1]
    secrets = {
        "github token": GITHUB_TOKEN,
        "aws key id": AWS_KEY_ID,
        "aws secret key": AWS_SECRET,
        "password": PASSWORD,
        "private key": private_key,
        "private key line": body_lines[len(body_lines) // 2],
        "slack webhook url": SLACK_URL,
        "slack webhook token": SLACK_TOKEN,
        "local store value": LOCAL_VALUE,
        "vault value": VAULT_VALUE,
        "vault token": bao.root_token,
        "master key": MASTER_KEY,
        "audit key": AUDIT_KEY,
        "audit sink key": SINK_KEY,
        "webhook signing key": SIEM_KEY,
        "notifier url path": HOOK_PATH,
    }
    bao.admin.secrets.kv.v2.create_or_update_secret(
        path="reports/db", secret={"password": VAULT_VALUE}, mount_point="secret"
    )
    repo = git_repo
    repo.write(".leakstop.yaml", _config(bao.url, servers))
    repo.write("README.md", "a service\n")
    repo.commit("config")
    repo.write(
        "app.env",
        f"GITHUB_TOKEN={GITHUB_TOKEN}\nAWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"
        f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n",
    )
    repo.write("db.yaml", f'database:\n  db_password: "{PASSWORD}"\n')
    repo.write("deploy/id_rsa", private_key)
    repo.write("notify.py", f'SLACK_WEBHOOK_URL = "{SLACK_URL}"\n')
    repo.write("billing.env", f"ACME_API_KEY={LOCAL_VALUE}\nREPORTS_DB_PASSWORD={VAULT_VALUE}\n")
    repo.commit("leak everything")

    home = empty_home(tmp_path, monkeypatch)
    hook = servers["notifications"]
    env = live_in(
        home,
        repo.path,
        monkeypatch,
        MASTER_KEY,
        AUDIT_KEY,
        VAULT_TOKEN=bao.root_token,
        SINK_KEY=SINK_KEY,
        SIEM_KEY=SIEM_KEY,
        OPS_WEBHOOK=hook.url(HOOK_PATH + "/ops"),
        SIEM_WEBHOOK=hook.url(HOOK_PATH + "/siem"),
        VAULT_ADDR_FOR_TEST=bao.url,
        LEAKSTOP_VERIFY_ENDPOINTS=json.dumps(
            {
                host: servers["issuer"].url()
                for host in ("api.github.com", "sts.amazonaws.com", "slack.com")
            }
        ),
    )
    return World(repo, home, env, Witness(), secrets, capfd)


SCAN_FORMATS = ("text", "json", "sarif", "github", "markdown")


def _scans(world: World, out: Path) -> None:
    for fmt in SCAN_FORMATS:
        world.run(f"scan -f {fmt}", "scan", "-vv", "-j", "1", "-f", fmt)
    world.run(
        "scan --report (all formats to files)",
        "scan",
        "-vv",
        "-j",
        "1",
        "-o",
        str(out / "report.sarif"),
        *(arg for fmt in SCAN_FORMATS for arg in ("--report", f"{fmt}:{out / f'r.{fmt}'}")),
    )
    world.run("scan --git -f json", "scan", "--git", "-vv", "-j", "1", "-f", "json")
    world.run("scan --git -f sarif", "scan", "--git", "-vv", "-j", "1", "-f", "sarif")
    world.run("scan --diff", "scan", "--diff", "HEAD~1..HEAD", "-vv", "-j", "1")
    world.run("scan --stdin", "scan", "--stdin", "-vv", stdin=f"token = {GITHUB_TOKEN}\n")
    world.run("scan --verify -f json", "scan", "--verify", "-vv", "-j", "1", "-f", "json")
    world.run("scan --verify -f text", "scan", "--verify", "-vv", "-j", "1", "--color", "never")
    _code, shown, _err = world.run(
        "scan --show-secrets (asked)", "scan", "--show-secrets", "-j", "1"
    )
    world.asked["stdout of scan --show-secrets (asked)"] = shown


def _respond_and_rotate(world: World, out: Path) -> None:
    for fmt in ("text", "json"):
        world.run(f"respond plan -f {fmt}", "respond", "-vv", "-j", "1", "-f", fmt)
    world.ok("providers check", "providers", "check", "-vv")
    world.ok("notify test", "notify", "test", "-vv")
    world.run("rotate (plan)", "rotate", "billing/api-key", "-vv")
    world.ok("respond --apply", "respond", "--apply", "-vv", "-j", "1")
    world.run("respond --apply -f json (again)", "respond", "--apply", "-j", "1", "-f", "json")
    world.ok("rotate --apply (vault)", "rotate", "reports/db-password", "--apply", "-vv")
    world.run("rotations due", "rotations", "due", "-vv")
    world.run("rotations run", "rotations", "run", "-vv", "-f", "json", "--within", "30d")


def _store_and_audit(world: World, out: Path) -> None:
    for label, args in {
        "store list": ["store", "list"],
        "store versions": ["store", "versions", "billing/api-key"],
        "store versions -f json": ["store", "versions", "billing/api-key", "-f", "json"],
        "store backup": ["store", "backup"],
        "store backups": ["store", "backups"],
        "store check": ["store", "check"],
    }.items():
        world.run(label, *args, "-vv")
    code, value, _err = world.run("store get (asked)", "store", "get", "billing/api-key")
    assert code == 0
    world.asked["stdout of store get (asked)"] = value
    world.secrets["local store value, rotated"] = value.strip()
    world.run(
        "revoke --apply",
        "revoke",
        "billing/api-key",
        "--reason",
        "leaked",
        "--severity",
        "low",
        "--apply",
        "-vv",
    )
    for label, args in {
        "audit verify": ["audit", "verify"],
        "audit query": ["audit", "query"],
        "audit query -f json": ["audit", "query", "-f", "json"],
        "audit query -f csv": ["audit", "query", "-f", "csv"],
        "audit export json": ["audit", "export", "-o", str(out / "audit.json")],
        "audit export csv": ["audit", "export", "-f", "csv", "-o", str(out / "audit.csv")],
        "audit stats": ["audit", "stats"],
        "audit report": ["audit", "report"],
        "audit anomalies": ["audit", "anomalies"],
    }.items():
        world.run(label, *args, "-vv")


def _failures(world: World, servers: dict[str, Recorder], out: Path) -> None:
    """A provider down, a notifier and a sink down, configs that quote secrets, bad input."""
    down = f"http://127.0.0.1:{closed_port()}"
    config = (world.repo.path / ".leakstop.yaml").read_text()
    vault_down = out / "vault-down.yaml"
    world.plant(vault_down, config.replace(world.env["VAULT_ADDR_FOR_TEST"], down))
    world.run(
        "rotate --apply, vault down",
        "rotate",
        "reports/db-password",
        "--apply",
        "-vv",
        "-c",
        str(vault_down),
    )
    world.run("providers check, vault down", "providers", "check", "-vv", "-c", str(vault_down))
    inline = out / "inline-credential.yaml"
    world.plant(
        inline,
        "version: 1\nproviders:\n"
        f"  vault: {{type: vault, url: '{down}',\n"
        f"          auth: {{method: token, token: '{GITHUB_TOKEN}'}}}}\n",
    )
    world.run("scan, a credential in the config", "scan", "-vv", "-c", str(inline))
    broken = out / "broken.yaml"
    world.plant(broken, f"version: 1\nallowlist:\n  paths: [{PASSWORD}\n  - {AWS_SECRET}: ]\n")
    world.run("scan, broken YAML", "scan", "-vv", "-c", str(broken))
    hook = servers["notifications"]
    os.environ["OPS_WEBHOOK"] = down + HOOK_PATH + "/ops"
    os.environ["SIEM_WEBHOOK"] = hook.url(HOOK_PATH + "/siem-missing") + f"?token={SIEM_KEY}"
    world.run("notify test, one down", "notify", "test", "-vv")
    os.environ["LEAKSTOP_VERIFY_ENDPOINTS"] = json.dumps({"api.github.com": down})
    world.run("scan --verify, issuer down", "scan", "--verify", "-vv", "-j", "1")
    world.run("rotate, no such secret", "rotate", "billing/nothing", "--apply", "-vv")
    world.run("store get, no such secret", "store", "get", "billing/nothing")


def _forced_bug(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug after the machine has read the value: the traceback (exit 3) names code, not
    values."""
    from leakstop.rotator import machine

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug in the rotation machine")

    with monkeypatch.context() as patch:
        patch.setattr(machine.Machine, "rotate", broken)
        code, _out, err = world.run(
            "rotate --apply, forced bug", "rotate", "billing/api-key", "--apply", "-vv", bug=True
        )
    assert code == 3, err


def test_no_command_lets_a_secret_escape(
    world: World,
    servers: dict[str, Recorder],
    bao: BaoServer,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    roots = [tmp_path, world.home]
    before = snapshot(roots)

    try:
        assert world.run("store init", "store", "init", "-vv")[0] == 0
        code, _out, err = world.run(
            "store set (stdin)", "store", "set", "billing/api-key", "-vv", stdin=LOCAL_VALUE
        )
        assert code == 0, err

        _scans(world, out)
        baseline = str(out / "baseline.json")
        world.ok("baseline create", "baseline", "create", "-vv", "-j", "1", "-o", baseline)
        world.ok("baseline update", "baseline", "update", "-vv", "-j", "1", baseline)
        world.ok("scan --baseline", "scan", "-vv", "-j", "1", "--baseline", baseline)
        _respond_and_rotate(world, out)
        _store_and_audit(world, out)
        world.secrets["vault value, rotated"] = kv_data(bao.admin, "reports/db")["password"]
        # The commands did act: the leaks were rotated and revoked, events and records sent.
        assert world.secrets["local store value, rotated"] != LOCAL_VALUE
        assert world.secrets["vault value, rotated"] != VAULT_VALUE
        assert any(b"/credentials/revoke" in r for r in servers["issuer"].paths)
        assert len(servers["notifications"].requests) >= 2
        assert len(servers["audit sink"].requests) >= 10
        _failures(world, servers, out)
        _forced_bug(world, monkeypatch)
        roots += _action(world, tmp_path)

    finally:
        with capfd.disabled():
            print(
                "\n" + "\n".join(f"{r.label}: {r.code} ({r.seconds:.1f} s)" for r in world.matrix)
            )
    _assert_nothing_escaped(world, servers, roots, before)


def _action(world: World, tmp_path: Path) -> list[Path]:
    """The Action's composite steps (scan of a push, then respond plan) on a shallow clone;
    returns the runners' folders (event, outputs, summary, plan) for the file search."""
    workspace = world.repo.shallow_clone(tmp_path / "workspace", "main").path
    world.planted.update(snapshot([workspace]))
    before, after = world.repo.git("rev-list", "--max-count=2", "HEAD").split()[::-1]
    event = {
        "before": before,
        "after": after,
        "ref": "refs/heads/main",
        "repository": {"default_branch": "main", "full_name": "o/r", "fork": False},
    }
    folders = []
    for mode in ("push", "respond"):
        runner = CompositeRunner(
            CHECKOUT,
            workspace,
            "push",
            event,
            standins=standins(),
        )
        started = time.monotonic()
        result = runner.run({"mode": mode, "log-level": "debug"})
        step = "respond" if mode == "respond" else "scan"
        world.matrix.append(
            Ran(f"action mode={mode}", int(result.failed), time.monotonic() - started)
        )
        assert result.steps[step].outcome in ("success", "failure"), result.log[-2000:]
        assert "Traceback" not in result.log, result.log[-3000:]
        # `::add-mask::VALUE` is how a value is hidden from the runner's log: it must hold it.
        masks = [line for line in result.log.splitlines() if line.startswith("::add-mask::")]
        log = "\n".join(line for line in result.log.splitlines() if line not in masks)
        world.witness.add(f"log of action mode={mode}", log)
        world.witness.add(f"summary of action mode={mode}", result.summary)
        folders.append(runner.temp)
    return folders


def _assert_nothing_escaped(
    world: World, servers: dict[str, Recorder], roots: list[Path], before: dict[str, str]
) -> None:
    before = {**before, **world.planted}
    written = world.witness.add_files(roots, before)
    assert written, "no command wrote a file: the file capture is broken"
    for server in servers.values():
        if server.name == "issuer":
            continue  # the one place a secret must go to be checked or revoked
        for index, request in enumerate(server.requests):
            world.witness.add(f"HTTP request {index} to the {server.name}", request)
    search = SecretSearch(world.secrets)
    for place, data in world.asked.items():
        assert search.find(place, data.encode()), f"{place} printed no secret though asked"
    world.witness.captured = [(p, d) for p, d in world.witness.captured if p not in world.asked]
    hits = world.witness.hits(search)
    assert not hits, "secrets escaped:\n" + "\n".join(map(str, hits))
