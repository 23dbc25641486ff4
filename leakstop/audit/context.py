"""Who is acting, and from where: filled in once per run from the environment.

Inside GitHub Actions the actor is `GITHUB_ACTOR`, the source `action` (or `schedule` for a
scheduled workflow), and every record's details carry the run's URL.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leakstop.audit.record import Source


@dataclass(frozen=True)
class Context:
    actor: str
    source: Source
    org: str = "default"
    actor_ip: str | None = None
    #: Added to every record's details (the Actions run URL).
    details: Mapping[str, Any] = field(default_factory=dict)

    def in_org(self, org: str) -> Context:
        """The same actor and run, acting on another organisation's secrets."""
        return self if org == self.org else dataclasses.replace(self, org=org)


def from_environment(org: str = "default", environ: Mapping[str, str] = os.environ) -> Context:
    if environ.get("GITHUB_ACTIONS") == "true":
        details: dict[str, Any] = {}
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        repository, run = environ.get("GITHUB_REPOSITORY"), environ.get("GITHUB_RUN_ID")
        if repository and run:
            details["run_url"] = f"{server}/{repository}/actions/runs/{run}"
        if event := environ.get("GITHUB_EVENT_NAME"):
            details["event"] = event
        source = (
            Source.SCHEDULE if environ.get("GITHUB_EVENT_NAME") == "schedule" else Source.ACTION
        )
        return Context(environ.get("GITHUB_ACTOR") or "github-actions", source, org, None, details)
    return Context(_local_user(environ), Source.CLI, org)


def _local_user(environ: Mapping[str, str]) -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container) and no LOGNAME/USER
        uid = f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
        return environ.get("USER") or uid
