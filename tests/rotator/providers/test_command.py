"""The command issuer running a real program (tests/data/providers/credential_service.py):
a full rotation through the machine into GitHub Actions secrets (the local GitHub), the value
only on its pipe, failures with stderr's last line masked, a timeout."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.audit.context import Context
from leakstop.audit.log import AuditLog
from leakstop.audit.record import Source
from leakstop.config.options import FrozenMap, Origin
from leakstop.config.rotation import RotationPolicy
from leakstop.config.secrets import IssuerRef, ManagedSecret, StoreRef
from leakstop.errors import ConfigError, ProviderError
from leakstop.rotator.machine import Machine, Outcome, Step
from leakstop.rotator.providers.base import ProviderContext
from leakstop.rotator.providers.command import CommandIssuer, CommandSettings
from leakstop.rotator.providers.github import GitHubProvider
from leakstop.rotator.providers.github_options import GitHubSettings
from leakstop.rotator.providers.local import LocalStoreProvider
from leakstop.store import LocalStore
from tests.rotator.providers.github_server import TOKEN, FakeGitHub

SERVICE = Path(__file__).parents[2] / "data" / "providers" / "credential_service.py"
OLD = "Old-Deploy-Token-9c2b7e55a1"
WHERE = FrozenMap({"repository": "acme/api", "secret": "DEPLOY_TOKEN"})


def secret(**options: object) -> ManagedSecret:
    return ManagedSecret(
        name="ci/deploy-token",
        store=StoreRef("github", WHERE),
        issuer=IssuerRef("svc", FrozenMap(options)),  # type: ignore[arg-type]
        policy=RotationPolicy(interval=timedelta(days=30), grace=timedelta(0)),
    )


class Service:
    def __init__(self, folder: Path) -> None:
        self.state = folder / "working.json"
        self.seen = folder / "seen.jsonl"
        self.state.write_text(json.dumps([OLD]))

    def issuer(self, timeout: float = 20) -> CommandIssuer:
        argv = (sys.executable, str(SERVICE), str(self.state), str(self.seen))
        return CommandIssuer("svc", CommandSettings(argv, timeout))

    def working(self) -> set[str]:
        return set(json.loads(self.state.read_text()))

    def calls(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.seen.read_text().splitlines()]


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service(tmp_path)


@pytest.fixture
def github(httpserver_ipv4: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver_ipv4)


@pytest.fixture
def machine_parts(tmp_path: Path, github: FakeGitHub, service: Service):  # type: ignore[no-untyped-def]
    audit_log = AuditLog.open(tmp_path / "audit", b"audit key of the command tests")
    local = LocalStore.init(
        tmp_path,
        "default",
        b"master of the command tests",
        audit_log,
        Context("tester", Source.CLI),
        iterations=1000,
    )
    journal = LocalStoreProvider(local)
    provider = GitHubProvider("github", GitHubSettings(api_url=github.url), {"GITHUB_TOKEN": TOKEN})
    store = provider.store_with(journal)
    first = store.put_pending("ci/deploy-token", WHERE, OLD.encode(), None)
    store.promote("ci/deploy-token", WHERE, first.version, None)
    return store, audit_log


def test_a_full_rotation_into_github_through_the_command(
    service: Service,
    github: FakeGitHub,
    machine_parts,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    store, audit_log = machine_parts
    machine = Machine(store, service.issuer(), audit_log, Context("t", Source.CLI))
    result = machine.rotate(secret(cluster="eu"), reason="leak")
    assert result.outcome is Outcome.ROTATED, result.error
    assert result.steps == (Step.CREATE, Step.SET, Step.APPLY, Step.TEST, Step.FINISH, Step.REVOKE)
    new = store.read("ci/deploy-token", WHERE)
    assert isinstance(new, bytes)
    assert github.value("/repos/acme/api/actions/secrets", "DEPLOY_TOKEN") == new
    assert service.working() == {new.decode()}
    calls = service.calls()
    assert [c["stdin"]["step"] for c in calls] == ["apply", "test", "revoke"]  # type: ignore[index]
    assert calls[0]["stdin"]["options"] == {"cluster": "eu"}  # type: ignore[index]
    audit_log.close()
    captured = service.seen.read_text() + "".join(
        p.read_text() for p in (tmp_path / "audit").rglob("*") if p.is_file()
    )
    assert OLD not in captured  # not in argv, environment, stdin or the audit log
    assert new.decode() not in captured  # the new one only went through the pipe
    assert not any(OLD.encode() in b or new in b for b in github.bodies)


def test_a_refused_test_rolls_back_and_masks_the_value_in_the_error(
    service: Service,
    github: FakeGitHub,
    machine_parts,  # type: ignore[no-untyped-def]
) -> None:
    store, audit_log = machine_parts
    machine = Machine(store, service.issuer(), audit_log, Context("t", Source.CLI))
    result = machine.rotate(secret(refuse=["test"]))
    assert result.outcome is Outcome.ROLLED_BACK
    assert result.error == (
        "command 'svc': test of ci/deploy-token: exit status 3: "
        "login refused for \\x1b[31m[value]\\x1b[0m"
    )
    assert service.working() == {OLD}
    assert [c["stdin"]["step"] for c in service.calls()] == ["apply", "test", "rollback"]  # type: ignore[index]
    assert github.value("/repos/acme/api/actions/secrets", "DEPLOY_TOKEN") == OLD.encode()
    assert store.read("ci/deploy-token", WHERE) == OLD.encode()


def test_a_program_past_its_timeout_is_killed(service: Service) -> None:
    issuer = service.issuer(timeout=0.5)
    with pytest.raises(ProviderError, match=r"still running after 0\.5s; killed"):
        issuer.revoke("ci/deploy-token", FrozenMap({"sleep": 30}), b"whatever")


def test_the_program_never_gets_leakstops_own_keys(service: Service) -> None:
    environ = {
        "PATH": "/usr/bin:/bin",
        "LEAKSTOP_MASTER_KEY": "master-Kx7Qp2",
        "LEAKSTOP_NEW_MASTER_KEY": "new-master-Lw4Rt9",
        "LEAKSTOP_AUDIT_KEY": "audit-Zm3Vb8",
        "LEAKSTOP_VALUE_FD": "99",
        "DEPLOY_REGION": "eu-west-1",
    }
    argv = (sys.executable, str(SERVICE), str(service.state), str(service.seen))
    issuer = CommandIssuer("svc", CommandSettings(argv, 20), environ)
    issuer.apply("ci/deploy-token", FrozenMap(), b"new-value-Hq5Nc1", OLD.encode())
    (call,) = service.calls()
    env = call["env"]
    assert isinstance(env, dict)
    assert env["DEPLOY_REGION"] == "eu-west-1"  # the rest of the environment is the user's
    assert env["LEAKSTOP_VALUE_FD"] != "99"  # the step's own descriptor
    for withheld in ("LEAKSTOP_MASTER_KEY", "LEAKSTOP_NEW_MASTER_KEY", "LEAKSTOP_AUDIT_KEY"):
        assert withheld not in env


def test_a_missing_program_is_one_line(tmp_path: Path) -> None:
    issuer = CommandIssuer("svc", CommandSettings((str(tmp_path / "nope"),)))
    with pytest.raises(ProviderError, match="cannot run"):
        issuer.test("ci/x", FrozenMap(), b"value")
    assert issuer.check([]) == [
        f"{str(tmp_path / 'nope')!r} is not an executable file (or not on PATH)"
    ]


def test_check_finds_the_program(service: Service) -> None:
    assert service.issuer().check([]) == []
    assert CommandIssuer("c", CommandSettings(("true",)), {"PATH": "/usr/bin:/bin"}).check([]) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "'command' must be a list"),
        ({"command": "rotate --all"}, "'command' must be a list"),
        ({"command": ("x", "")}, "'command' must be a list"),
        ({"command": ("x",), "shell": True}, "unknown option shell"),
        ({"command": ("x",), "fingerprint_key_env": "not a name"}, "must name an environment"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object], message: str) -> None:
    context = ProviderContext("svc", FrozenMap(options), {}, Origin("x.yaml", 7))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message):
        CommandIssuer.from_settings(context)
