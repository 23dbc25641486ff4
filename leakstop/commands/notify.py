"""`leakstop notify test [NAME]`: send a test message to each configured notifier."""

from __future__ import annotations

import argparse
from pathlib import Path

from leakstop import gitcli
from leakstop.commands.base import Outcome, Parser, say, verbosity
from leakstop.config import find_config, load_config
from leakstop.errors import UsageError
from leakstop.textsafe import sanitize


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    notify = commands.add_parser(
        "notify",
        help="the notifiers in `notifications:` (Slack, Teams, webhooks): test them",
        description="Notifiers tell people about rotations, revocations, confirmed leaks, "
        "expiring secrets and audit anomalies. Their webhook URLs come from the environment.",
    )
    notify.set_defaults(run=run)
    actions = notify.add_subparsers(dest="notify_command", metavar="ACTION", parser_class=Parser)
    actions.required = True
    test = actions.add_parser(
        "test",
        parents=[verbosity()],
        help="send a test message to each notifier (or NAME); exit 1 if any fails",
    )
    test.add_argument("names", nargs="*", metavar="NAME", help="only these notifiers")
    test.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")


def run(args: argparse.Namespace) -> Outcome:
    from leakstop.audit.context import from_environment
    from leakstop.audit.setup import open_log
    from leakstop.notify.events import probe_event
    from leakstop.notify.setup import open_notifications

    root = gitcli.toplevel(Path.cwd()) or Path.cwd()
    config = load_config(find_config(args.config, root), with_rules=False)
    configured = [n.name for n in config.notifications]
    if not configured:
        raise UsageError("no notifiers: add a `notifications:` section to the config")
    unknown = [name for name in args.names if name not in configured]
    if unknown:
        raise UsageError(
            f"no notifier called {', '.join(unknown)} (configured: {', '.join(configured)})"
        )
    chosen = [n for n in config.notifications if not args.names or n.name in args.names]
    failed = False
    audit_log = open_log(config.audit)
    try:
        notifications = open_notifications(chosen, audit_log, from_environment())
        for notifier in notifications.notifiers:
            name = notifier.settings.name
            sent = notifications.send_to(notifier, probe_event(name))
            if sent.is_delivered:
                say(sanitize(f"✓ {name} ({notifier.settings.type}): delivered"))
            else:
                failed = True
                say(sanitize(f"✗ {sent.error}"))
    finally:
        audit_log.close()
    return Outcome.FAILED if failed else Outcome.CLEAN
