"""`leakstop providers check`: for each configured provider, whether it is reachable,
authenticated, and allowed what its managed secrets need. One line each; exit 1 if any fails."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from leakstop.commands.base import Outcome, Parser, response_config, say, verbosity
from leakstop.config import Config
from leakstop.config.providers import LOCAL
from leakstop.errors import LeakstopError
from leakstop.textsafe import sanitize

if TYPE_CHECKING:  # imported for real when the command runs
    from leakstop.rotator.providers.registry import Providers


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    providers = commands.add_parser("providers", help="check the configured providers")
    providers.set_defaults(run=run)
    actions = providers.add_subparsers(
        dest="providers_command", metavar="ACTION", parser_class=Parser
    )
    actions.required = True
    check = actions.add_parser(
        "check",
        parents=[verbosity()],
        help="reachable, authenticated, allowed: one line per provider",
    )
    check.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")


def run(args: argparse.Namespace) -> Outcome:
    from leakstop.audit.context import from_environment
    from leakstop.audit.setup import open_log
    from leakstop.rotator.providers.registry import Providers

    config = response_config(args.config)
    if not config.providers and not config.secrets:
        say("No providers configured (add `providers:` and `secrets:` to the config).")
        return Outcome.CLEAN
    audit_log = open_log(config.audit)
    failed = False
    try:
        providers = Providers(config, audit_log, from_environment())
        for name, problems in _checks(config, providers):
            failed = failed or bool(problems)
            mark = "✗" if problems else "✓"
            say(sanitize(f"{mark} {name}: {'; '.join(problems) if problems else 'ok'}"))
    finally:
        audit_log.close()
    return Outcome.FAILED if failed else Outcome.CLEAN


def _checks(config: Config, providers: Providers) -> list[tuple[str, list[str]]]:
    results: list[tuple[str, list[str]]] = []
    local_orgs = sorted(
        {s.org for s in config.secrets if config.provider(s.store.provider).type == LOCAL}
    )
    for org in local_orgs:
        try:
            providers.store(LOCAL, org)
            results.append((f"local (org {org})", []))
        except LeakstopError as exc:
            results.append((f"local (org {org})", [str(exc)]))
    for settings in config.providers:
        if settings.type == LOCAL:
            continue
        try:
            built = providers.build(settings.name)
            checker = getattr(built, "check", None)
            problems = list(checker(config.secrets)) if checker is not None else []
        except LeakstopError as exc:
            problems = [str(exc)]
        results.append((f"{settings.name} ({settings.type})", problems))
    return results
