"""Sink settings type → the function that builds that sink from the environment. Adding a
sink: its module, its settings in `config/audit.py`, one line here, a test file."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from leakstop.audit.chain import key_from_environment
from leakstop.audit.sinks import Sink, SinkError
from leakstop.config.audit import (
    GitSinkSettings,
    HttpSinkSettings,
    PostgresSinkSettings,
    SinkSettings,
)


# Each sink module is imported when a sink of its kind is configured: urllib.request and ssl
# cost ~40 ms at start-up, which every command would otherwise pay.
def _http(settings: HttpSinkSettings, environ: Mapping[str, str]) -> Sink:
    from leakstop.audit.sinks.http import HttpSink

    key = None
    if settings.key_env is not None:
        key = _variable(environ, settings.key_env, "http").encode("utf-8")
    return HttpSink(settings, key)


def _postgres(settings: PostgresSinkSettings, environ: Mapping[str, str]) -> Sink:
    from leakstop.audit.sinks.postgres import PostgresSink

    return PostgresSink(settings, _variable(environ, settings.dsn_env, "postgres"))


def _git(settings: GitSinkSettings, environ: Mapping[str, str]) -> Sink:
    from leakstop.audit.sinks.git import GitSink

    # The token is optional: a local or ssh remote, or a credential helper, needs none. The
    # copies are sealed with the log's own key.
    return GitSink(settings, key_from_environment(environ), environ.get(settings.token_env))


#: Each factory takes its own settings type (the key it is registered under); `Any` because
#: a dict cannot tie each value's parameter type to its key.
SinkFactory = Callable[[Any, Mapping[str, str]], Sink]

SINKS: dict[type[SinkSettings], SinkFactory] = {
    HttpSinkSettings: _http,
    PostgresSinkSettings: _postgres,
    GitSinkSettings: _git,
}


def build_sinks(settings: Sequence[SinkSettings], environ: Mapping[str, str]) -> list[Sink]:
    """One sink per configured entry, credentials read from `environ`; connects to nothing.

    Raises SinkError (naming the variable, never its value) when a variable is missing or
    empty, or a sink's dependency is not installed; sinks built before it are closed.
    """
    sinks: list[Sink] = []
    try:
        for item in settings:
            sinks.append(SINKS[type(item)](item, environ))
    except SinkError:
        for sink in sinks:
            sink.close()
        raise
    return sinks


def _variable(environ: Mapping[str, str], name: str, kind: str) -> str:
    value = environ.get(name)
    if value is None:
        raise SinkError(f"audit sink {kind}: ${name} is not set")
    if not value:
        raise SinkError(f"audit sink {kind}: ${name} is empty")
    return value
