"""Dispatch to a command and turn how it ended into an exit code — nothing else.

0: clean. 1: findings (or failing rules). 2: a problem the user can fix (one line on stderr).
3: a bug in leakstop (traceback). 130: interrupted. 141: the reader of stdout went away.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import cast

from leakstop import __version__
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
COMMANDS: tuple[str, ...] = (
    "scan",
    "baseline",
    "action",
    "respond",
    "rules",
    "audit",
    "store",
    "rotate",
    "rotations",
    "revoke",
    "approve",
    "revocations",
    "providers",
    "notify",
)
_EXIT_CODES = {Outcome.CLEAN: EXIT_CLEAN, Outcome.FAILED: EXIT_FINDINGS}


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The parser for `argv`: with the one command it names, or with all of them (for
    `--help`, a mistyped name). Importing every command module costs ~30 ms that a scan in
    a pre-commit hook pays on every commit."""
    parser = Parser(
        prog="leakstop",
        description="Find leaked credentials in files and git history; rotate what is confirmed.",
    )
    parser.add_argument("--version", action="version", version=f"leakstop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    asked = _command_named(sys.argv[1:] if argv is None else argv)
    for name in COMMANDS if asked is None else (asked,):
        _command(name).register(commands)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The command `argv` asks for (its first word: the program itself has only options
    before it), or None."""
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in COMMANDS else None


def _command(name: str) -> Command:
    return cast(Command, importlib.import_module(f"leakstop.commands.{name}"))


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser(argv).parse_args(argv)
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
