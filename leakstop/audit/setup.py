"""The audit log a command writes to, as the config and the environment describe it: its
folder (`audit.dir`, else `$LEAKSTOP_HOME/audit`), its key (`LEAKSTOP_AUDIT_KEY`) and its
extra sinks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from leakstop.audit.chain import key_from_environment
from leakstop.audit.log import AuditLog
from leakstop.audit.sinks.registry import build_sinks
from leakstop.config.audit import AuditSettings
from leakstop.home import home


def audit_folder(settings: AuditSettings, environ: Mapping[str, str] = os.environ) -> Path:
    return settings.dir if settings.dir is not None else home(environ) / "audit"


def open_log(
    settings: AuditSettings, environ: Mapping[str, str] = os.environ, *, sinks: bool = True
) -> AuditLog:
    """The log to append to, with the configured sinks (`sinks=False`: the local files only,
    for commands that only read)."""
    return AuditLog.open(
        audit_folder(settings, environ),
        key_from_environment(environ),
        build_sinks(settings.sinks, environ) if sinks else (),
    )
