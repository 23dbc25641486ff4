"""An issuer that runs a configured program for each machine step (`type: command`).

```yaml
providers:
  app-password:
    type: command
    command: [/usr/local/bin/set-app-password, --cluster, prod]   # argv, no shell
    timeout: 60s
    fingerprint_key_env: LEAKSTOP_STEP_KEY     # optional: the key of the values' fingerprints
secrets:
  - name: billing/app-password
    store: {provider: local}
    issuer: {provider: app-password, user: billing}   # options go to the program as is
```

The program gets the step (`steps`: step, secret, fingerprints, options) as JSON on stdin,
and leakstop's environment without leakstop's own keys (LEAKSTOP_MASTER_KEY,
LEAKSTOP_NEW_MASTER_KEY, LEAKSTOP_AUDIT_KEY). For
`apply` and `test` the new value is on a separate pipe: an inherited file descriptor whose
number is in `$LEAKSTOP_VALUE_FD` (and `value_fd` in the JSON); read it to the end. The value
is never in argv or the environment, where `ps` and /proc would show it, nor on stdin beside
the JSON. The old value is never given, only its fingerprint.

Exit status 0 is done; anything else fails the step with the last line of stderr (control
characters escaped, the values masked), and the machine rolls back. A program still running
after `timeout` is killed with its whole process group. POSIX only (inherited descriptors).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leakstop.audit.chain import KEY_VARIABLE as AUDIT_KEY_VARIABLE
from leakstop.config.options import Options
from leakstop.config.secrets import ManagedSecret
from leakstop.errors import ProviderError
from leakstop.rotator.providers.base import ProviderContext, Value
from leakstop.rotator.providers.option_checks import OptionChecker
from leakstop.rotator.providers.steps import AppliedValues, StepKind, step_document, value_bytes
from leakstop.store.masterkey import MASTER_KEY_VARIABLE, NEW_MASTER_KEY_VARIABLE
from leakstop.textsafe import sanitize

if TYPE_CHECKING:
    from leakstop.rotator.providers.base import Issuer

#: The environment variable that holds the value pipe's descriptor number.
VALUE_FD_ENV = "LEAKSTOP_VALUE_FD"
DEFAULT_TIMEOUT = 60.0
#: Without a fingerprint key the fingerprints are keyed with this: they still identify a value
#: for a program that has it, but only a random value is safe from guessing.
_DEFAULT_FINGERPRINT_KEY = b"leakstop command issuer"
_KEYS = ("command", "timeout", "fingerprint_key_env")
#: Never handed to the program: leakstop's own keys (the store's master keys, the audit
#: chain's key) open every value it holds and no credential program needs them; the value
#: descriptor is set per step.
_WITHHELD = frozenset(
    {MASTER_KEY_VARIABLE, NEW_MASTER_KEY_VARIABLE, AUDIT_KEY_VARIABLE, VALUE_FD_ENV}
)
_SHOWN = 200


@dataclass(frozen=True)
class CommandSettings:
    argv: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT
    fingerprint_key_env: str | None = None


def parse_settings(context: ProviderContext) -> CommandSettings:
    check = OptionChecker(f"provider {context.name!r}", context.origin)
    options = context.options
    check.keys(options, _KEYS)
    argv = options.get("command")
    if (
        not isinstance(argv, tuple)
        or not argv
        or not all(isinstance(part, str) and part for part in argv)
    ):
        raise check.error(
            "'command' must be a list: the program and its arguments, e.g. [/usr/bin/rotate, "
            "--env, prod] (no shell runs it)"
        )
    return CommandSettings(
        argv=tuple(str(part) for part in argv),
        timeout=check.timeout(options.get("timeout"), DEFAULT_TIMEOUT, maximum=3600.0),
        fingerprint_key_env=check.env_name(options, "fingerprint_key_env", None),
    )


class CommandIssuer:
    """Runs `argv` once per step. Raises ProviderError (one line, no value)."""

    mints: bool = False

    def __init__(
        self, name: str, settings: CommandSettings, environ: Mapping[str, str] = os.environ
    ) -> None:
        self.name = name
        self.settings = settings
        self._environ = environ
        self._applied = AppliedValues(self._fingerprint_key())

    @classmethod
    def from_settings(cls, context: ProviderContext) -> CommandIssuer:
        return cls(context.name, parse_settings(context), context.environ)

    def __repr__(self) -> str:
        return f"CommandIssuer({self.name!r}, {self.settings.argv[0]!r})"

    def mint(self, name: str, how: Options) -> Value:
        raise ProviderError(f"command {self.name!r} applies values; it does not mint them")

    def apply(self, name: str, how: Options, value: Value, previous: Value | None) -> None:
        if self._applied.is_rollback(name, previous):
            self._run(StepKind.ROLLBACK, name, how, value, other=previous)
            return
        # Remembered before it runs: an apply that fails is rolled back too.
        self._applied.remember(name, value)
        self._run(StepKind.APPLY, name, how, value, other=previous, send_value=True)

    def test(self, name: str, how: Options, value: Value) -> None:
        self._run(StepKind.TEST, name, how, value, send_value=True)

    def revoke(self, name: str, how: Options, value: Value) -> None:
        self._run(StepKind.REVOKE, name, how, value)

    def check(self, secrets: Iterable[ManagedSecret]) -> list[str]:
        """The program exists and may be executed (it is not run)."""
        program = self.settings.argv[0]
        if shutil.which(program, path=self._environ.get("PATH")) is None:
            return [f"{program!r} is not an executable file (or not on PATH)"]
        return []

    def _run(
        self,
        step: StepKind,
        secret: str,
        how: Options,
        value: Value,
        other: Value | None = None,
        send_value: bool = False,
    ) -> None:
        document = step_document(step, secret, how, self._fingerprint_key(), value, other)
        env = {k: v for k, v in self._environ.items() if k not in _WITHHELD}
        reader = None
        if send_value:
            reader, writer = os.pipe()
            # A writer thread: a value larger than the pipe's buffer must not block us.
            threading.Thread(
                target=_write_all, args=(writer, value_bytes(value)), daemon=True
            ).start()
            env[VALUE_FD_ENV] = str(reader)
            document["value_fd"] = reader
        what = f"command {self.name!r}: {step.value} of {secret}"
        try:
            process = subprocess.Popen(
                self.settings.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
                pass_fds=(reader,) if reader is not None else (),
                start_new_session=True,
            )
        except OSError as exc:
            raise ProviderError(
                f"{what}: cannot run {self.settings.argv[0]!r}: {exc.strerror or exc}"
            ) from exc
        finally:
            if reader is not None:
                os.close(reader)
        stdin = json.dumps(document).encode("utf-8")
        try:
            _, stderr = process.communicate(stdin, timeout=self.settings.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise ProviderError(
                f"{what}: still running after {self.settings.timeout:g}s; killed"
            ) from None
        if process.returncode != 0:
            last = _last_line(stderr, [value, other])
            raise ProviderError(
                f"{what}: exit status {process.returncode}" + (f": {last}" if last else "")
            )

    def _fingerprint_key(self) -> bytes:
        variable = self.settings.fingerprint_key_env
        if variable is None:
            return _DEFAULT_FINGERPRINT_KEY
        key = self._environ.get(variable, "")
        if not key:
            raise ProviderError(f"command {self.name!r}: ${variable} is not set")
        return key.encode("utf-8")


def _write_all(fd: int, data: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(data)
    except BrokenPipeError:
        pass  # the program did not read its value; its exit status says what happened


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _last_line(stderr: bytes, values: list[Value | None]) -> str:
    """The last non-empty line of stderr, with every value masked and control characters
    escaped: a program may well echo what it was given."""
    text = stderr.decode("utf-8", "replace")
    for value in values:
        if value is None:
            continue
        shown = value_bytes(value).decode("utf-8", "replace")
        if shown:
            text = text.replace(shown, "[value]")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    last = sanitize(lines[-1])
    return last if len(last) <= _SHOWN else last[:_SHOWN] + "…"


if TYPE_CHECKING:

    def _is_issuer(issuer: CommandIssuer) -> Issuer:
        return issuer
