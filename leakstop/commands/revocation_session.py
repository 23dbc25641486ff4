"""What `revoke`, `revoke-all`, `approve`, `reject` and `revocations` share: the config, the
audit log and providers of one run, and how a request is shown."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from leakstop import gitcli
from leakstop.config import Config, find_config, load_config
from leakstop.errors import ProviderError
from leakstop.textsafe import sanitize, sanitize_json

if TYPE_CHECKING:
    from leakstop.rotator.approvals import Request
    from leakstop.rotator.revocation import Revocations


def config_of(args: argparse.Namespace, *, with_rules: bool = False) -> Config:
    root = gitcli.toplevel(Path.cwd()) or Path.cwd()
    return load_config(find_config(args.config, root), with_rules=with_rules)


@contextmanager
def revocations(config: Config, org: str = "default") -> Iterator[Revocations]:
    """The run's Revocations (audit log opened with its sinks, closed at the end)."""
    from leakstop.audit.context import from_environment
    from leakstop.audit.setup import open_log
    from leakstop.rotator.providers.registry import Providers
    from leakstop.rotator.revocation import Revocations

    audit_log = open_log(config.audit)
    try:
        context = from_environment(org)
        providers = Providers(config, audit_log, context)
        yield Revocations(config, audit_log, providers, context, dict(os.environ))
    finally:
        audit_log.close()


def write_request(request: Request, fmt: str, out: TextIO) -> None:
    """The request's state; then, for one that failed, ProviderError with the first problem."""
    from leakstop.rotator.approvals import Status

    if fmt == "json":
        out.write(sanitize_json(json.dumps(request.to_json(), indent=2, ensure_ascii=False)))
        out.write("\n")
    else:
        for line in describe(request):
            out.write(sanitize(line) + "\n")
    if request.status is Status.FAILED:
        problems = [
            f"{key}: {'; '.join(o.errors)}" for key, o in request.outcomes.items() if o.errors
        ]
        raise ProviderError(f"revocation {request.id} failed: {problems[0]}")


def describe(request: Request) -> list[str]:
    from leakstop.rotator.approvals import Status

    status = request.status.value
    if request.status is Status.PENDING:
        status = f"pending approval ({request.approval_needed})"
    elif request.decided_by:
        status += f" ({'approved' if request.via else 'rejected'} by {request.decided_by})"
    order = request.order
    lines = [
        f"Revocation {request.id}: {status}",
        f"  asked by {request.requester} at {request.requested_at}: {order.kind} {order.scope}, "
        f"reason {order.reason}, severity {order.severity}",
    ]
    for target in order.targets:
        outcome = request.outcomes.get(target.key)
        state = ""
        if outcome is not None:
            state = ": revoked" if outcome.revoked else ": not revoked"
            if outcome.errors:
                state += f" ({'; '.join(outcome.errors)})"
        lines.append(f"  {target.secret} (org {target.org}) version {target.version}{state}")
    if request.status is Status.PENDING:
        lines.append(
            f"Nothing was revoked yet. Another person approves it with: leakstop approve "
            f"{request.id} --by NAME (or drops it: leakstop reject {request.id} --by NAME)"
        )
    return lines
