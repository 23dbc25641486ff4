"""Dispatch to a command and turn how it ended into an exit code — nothing else.

0: clean. 1: findings (or failing rules). 2: a problem the user can fix (one line on stderr).
3: a bug in leakstop (traceback). 130: interrupted. 141: the reader of stdout went away.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence

from leakstop import __version__
from leakstop.commands import (
    action,
    approve,
    audit,
    baseline,
    notify,
    providers,
    respond,
    revocations,
    revoke,
    rotate,
    rotations,
    rules,
    scan,
    store,
)
from leakstop.commands.base import Command, Outcome, Parser
from leakstop.errors import LeakstopError
from leakstop.textsafe import SanitizingFormatter, sanitize, sanitize_lines

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

#: Every command group, in `--help` order; each module registers its own options.
COMMANDS: Mapping[str, Command] = {
    "scan": scan,
    "baseline": baseline,
    "action": action,
    "respond": respond,
    "rules": rules,
    "audit": audit,
    "store": store,
    "rotate": rotate,
    "rotations": rotations,
    "revoke": revoke,
    "approve": approve,
    "revocations": revocations,
    "providers": providers,
    "notify": notify,
}
_EXIT_CODES = {Outcome.CLEAN: EXIT_CLEAN, Outcome.FAILED: EXIT_FINDINGS}


def build_parser() -> Parser:
    parser = Parser(
        prog="leakstop",
        description="Find leaked credentials in files and git history; rotate what is confirmed.",
    )
    parser.add_argument("--version", action="version", version=f"leakstop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for command in COMMANDS.values():
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _configure_logging(getattr(args, "verbose", 0) - getattr(args, "quiet", 0))
        return _EXIT_CODES[args.run(args)]
    except LeakstopError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`leakstop scan | head`): stop quietly, like other CLI tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception:  # noqa: BLE001 - the one place a bug becomes a report
        # A traceback can quote paths and values from the repository: no escape sequences.
        sys.stderr.write(sanitize_lines(traceback.format_exc()))
        _error(
            f"internal error in leakstop {__version__}; please report it with the traceback above"
        )
        return EXIT_BUG


def _configure_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    # Messages name files and refs from the repository: kept on one line, no escape sequences.
    handler.setFormatter(SanitizingFormatter("leakstop: %(levelname)s: %(message)s"))
    root = logging.getLogger("leakstop")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(
        logging.DEBUG
        if level >= 2
        else logging.INFO
        if level == 1
        else logging.ERROR
        if level < 0
        else logging.WARNING
    )


def _error(message: str) -> None:
    # Line breaks (a git error's several lines) become spaces; the message can also name
    # files and refs from the repository, so what is left is sanitized.
    one_line = sanitize(" ".join(message.split()))
    print(f"leakstop: error: {one_line}", file=sys.stderr)
