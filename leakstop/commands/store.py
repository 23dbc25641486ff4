"""`leakstop store …`: the local encrypted secret store (init, set, get, list, versions, delete,
rollback, rotate-key, backup, backups, restore, prune-backups, check).

Only options here: the handlers (and `cryptography`) load when a store command runs, so other
commands do not pay for them at start-up.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from leakstop.commands.base import Outcome, Parser, verbosity

#: `--generate`'s alphabets (kept in step with `leakstop.store.generate.CHARSETS` by a test).
CHARSETS = ("alnum", "symbols", "hex", "digits", "base64url")


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    store = commands.add_parser(
        "store",
        help="the local encrypted secret store: versions, labels, backups, key rotation",
        description="Secrets encrypted with Fernet under a key derived (PBKDF2-HMAC-SHA256, "
        "600,000 iterations) from LEAKSTOP_MASTER_KEY or the OS keyring, kept in "
        "$LEAKSTOP_HOME/store/<org>/; every read and change is an audit record.",
    )
    store.set_defaults(run=run)
    actions = store.add_subparsers(dest="store_command", metavar="ACTION", parser_class=Parser)
    actions.required = True
    common = verbosity()
    common.add_argument(
        "--org",
        default="default",
        metavar="ORG",
        help="the org (own salt, own key; default: default)",
    )
    common.add_argument("-c", "--config", type=Path, metavar="FILE", help="config file")
    table = Parser(add_help=False)
    table.add_argument("-f", "--format", choices=["table", "json"], default="table")

    actions.add_parser("init", parents=[common], help="create the org (its salt and key check)")
    setter = actions.add_parser(
        "set",
        parents=[common],
        help="add a version from stdin (or --generate); never from the command line",
    )
    setter.add_argument("name", metavar="NAME")
    # Caught so that a value typed on the command line is refused without being echoed back
    # (argparse would print "unrecognized arguments: <the value>" into a CI log).
    setter.add_argument("value_on_command_line", nargs="*", help=argparse.SUPPRESS)
    setter.add_argument("--json", action="store_true", help="stdin is a JSON object")
    setter.add_argument(
        "--raw", action="store_true", help="keep stdin exactly (default: drop one final newline)"
    )
    setter.add_argument(
        "--generate", action="store_true", help="store a random value instead of reading stdin"
    )
    setter.add_argument("--length", type=int, default=32, metavar="N", help="with --generate")
    setter.add_argument("--charset", choices=CHARSETS, default="alnum", help="with --generate")
    setter.add_argument(
        "--expect-version",
        type=int,
        metavar="N",
        help="check-and-set: fail unless the latest version is N (0: the secret is new)",
    )
    getter = actions.add_parser(
        "get", parents=[common], help="print a value to stdout (for X=$(leakstop store get NAME))"
    )
    getter.add_argument("name", metavar="NAME")
    which = getter.add_mutually_exclusive_group()
    which.add_argument("--version", type=int, metavar="N", help="this version")
    which.add_argument("--label", choices=["current", "previous", "pending"], default="current")
    shape = getter.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print a structured value as JSON")
    shape.add_argument("--field", metavar="KEY", help="print one field of a structured value")
    lister = actions.add_parser(
        "list", parents=[common, table], help="names and metadata (never values)"
    )
    lister.add_argument("--deleted", action="store_true", help="include deleted secrets")
    versions = actions.add_parser(
        "versions", parents=[common, table], help="a secret's versions and labels"
    )
    versions.add_argument("name", metavar="NAME")
    deleter = actions.add_parser(
        "delete", parents=[common], help="mark deleted (rollback revives it); --purge erases"
    )
    deleter.add_argument("name", metavar="NAME")
    deleter.add_argument("--purge", action="store_true", help="erase every value for good")
    rollback = actions.add_parser(
        "rollback", parents=[common], help="make an earlier version current again"
    )
    rollback.add_argument("name", metavar="NAME")
    rollback.add_argument("--to", type=int, required=True, metavar="N")
    actions.add_parser(
        "rotate-key",
        parents=[common],
        help="re-encrypt everything under LEAKSTOP_NEW_MASTER_KEY (or finish a rotation)",
    )
    backup = actions.add_parser(
        "backup", parents=[common], help="an encrypted snapshot with a SHA-256 manifest"
    )
    backup.add_argument("--name", metavar="NAME", help="default: the UTC time")
    actions.add_parser("backups", parents=[common, table], help="list the backups")
    restore = actions.add_parser(
        "restore", parents=[common], help="verify a backup and restore it (--dry-run: show)"
    )
    restore.add_argument("backup", metavar="NAME")
    restore.add_argument(
        "--dry-run", action="store_true", help="show what would change; change nothing"
    )
    prune = actions.add_parser(
        "prune-backups", parents=[common], help="delete old backups (the newest is kept)"
    )
    prune.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 30d")
    check = actions.add_parser(
        "check",
        parents=[common],
        help="every version decrypts, the audit chain holds; counts; exit 1 when unhealthy",
    )
    check.add_argument("-f", "--format", choices=["text", "json"], default="text")


def run(args: argparse.Namespace) -> Outcome:
    from leakstop.commands.store_actions import HANDLERS

    return HANDLERS[args.store_command](args)
