"""SIGTERM right after every rotation step (the vault-killed test does SIGKILL): leakstop
installs no handler, so a stop request ends the process between two whole writes, as SIGKILL
does; the store's journal then lets `rotate --apply --resume` finish or start again, with the
service accepting exactly the store's current value and the audit chain whole."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from leakstop.cli import main
from tests.faults.test_webhook_faults import KEY, NAME, OLD
from tests.faults.test_webhook_faults import store as store
from tests.rotator.providers.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e]


def _stopped(step: str) -> None:
    from leakstop.audit.context import Context
    from leakstop.audit.record import Source
    from leakstop.audit.setup import open_log
    from leakstop.config import load_config
    from leakstop.rotator.machine import Machine, Step
    from leakstop.rotator.providers.registry import Providers

    config = load_config(Path(".leakstop.yaml"), with_rules=False)
    audit_log = open_log(config.audit)
    context = Context("terminated-run", Source.CLI)
    providers = Providers(config, audit_log, context)
    (secret,) = config.secrets

    def stop(done: Step) -> None:
        if done.value == step:
            os.kill(os.getpid(), signal.SIGTERM)

    assert secret.issuer is not None
    Machine(
        providers.store(secret.store.provider, secret.org),
        providers.issuer(secret.issuer.provider),
        audit_log,
        context,
        after_step=stop,
    ).rotate(secret, reason="test")


@pytest.mark.parametrize("step", ["create", "set", "apply", "test", "finish", "revoke"])
def test_sigterm_after_every_step_leaves_a_resumable_rotation(
    httpserver_ipv4: HTTPServer,
    store: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step: str,
) -> None:
    receiver = Receiver(httpserver_ipv4, KEY.encode(), {OLD.encode()})
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".leakstop.yaml").write_text(
        "version: 1\nproviders:\n"
        f"  hook: {{type: webhook, url: '{receiver.url}', hmac_key_env: HOOK_KEY}}\n"
        f"secrets:\n  - name: {NAME}\n    store: {{provider: local}}\n"
        "    issuer: {provider: hook, service: billing}\n"
        "    policy: {interval: 30d, grace: 0s}\n"
    )
    child = multiprocessing.get_context("fork").Process(target=_stopped, args=(step,))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGTERM

    assert main(["rotate", NAME, "--apply", "--resume"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    from leakstop.store import LocalStore

    assert isinstance(store, LocalStore)
    current = store.read(NAME)
    assert isinstance(current, bytes)
    assert current != OLD.encode()
    assert "pending" not in store.describe(NAME).labels
    assert receiver.working == {current}
    assert main(["audit", "verify"]) == 0
