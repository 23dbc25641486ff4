"""What every command module shares: its outcome, the argument parser class, and the option
groups several commands take (verbosity; what to scan)."""

from __future__ import annotations

import argparse
import enum
import shlex
import sys
from pathlib import Path
from typing import NoReturn, Protocol

from leakstop import gitcli, progress
from leakstop.config import Config, find_config, load_config, parse_size
from leakstop.errors import UsageError
from leakstop.scanner.session import Mode, ScanRequest


class Outcome(enum.Enum):
    """How a command ended, for `cli.py` to turn into an exit code."""

    #: Nothing to report: no findings, or the command did what was asked.
    CLEAN = "clean"
    #: The command worked and found something that fails the run (secrets, failing rules).
    FAILED = "failed"


class Command(Protocol):
    """One command group: a module with these two functions (see cli.COMMANDS)."""

    def register(self, commands: argparse._SubParsersAction[Parser]) -> None: ...

    def run(self, args: argparse.Namespace) -> Outcome: ...


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line instead of usage + message + exit."""

    def error(self, message: str) -> NoReturn:
        if message.endswith("expected one argument"):
            # `--log-opts --since=2024-01-01` reads as two options.
            message += "; when the value starts with '-', join it with '=': --log-opts='--all'"
        raise UsageError(f"{message} (see '{self.prog} --help')")


def verbosity() -> Parser:
    """-v/-q, as a parent parser."""
    parent = Parser(add_help=False)
    parent.add_argument(
        "-v", "--verbose", action="count", default=0, help="more diagnostics on stderr (-vv: debug)"
    )
    parent.add_argument("-q", "--quiet", action="count", default=0, help="only errors on stderr")
    return parent


def sources() -> Parser:
    """What to scan and how, as a parent parser (scan, baseline create|update, respond)."""
    parent = Parser(add_help=False)
    where = parent.add_argument_group("what to scan (default: the files under PATH)")
    modes = where.add_mutually_exclusive_group()
    modes.add_argument("--stdin", action="store_true", help="standard input")
    modes.add_argument(
        "--git", action="store_true", help="git history: every blob of every ref, once each"
    )
    modes.add_argument(
        "--diff",
        metavar="BASE..HEAD",
        help="only lines added since HEAD forked from BASE (what a pull request adds)",
    )
    modes.add_argument(
        "--staged",
        action="store_true",
        help="lines added in the index (what is about to be committed)",
    )
    where.add_argument(
        "--log-opts",
        metavar="OPTS",
        help='with --git: git log options instead of --all, e.g. "--since=2024-01-01 main"',
    )
    where.add_argument(
        "--fetch",
        action="store_true",
        help="with --diff: fetch missing commits from origin, deepening a shallow clone",
    )
    where.add_argument(
        "--stdin-name",
        default="<stdin>",
        metavar="NAME",
        help="path to report stdin findings under",
    )
    where.add_argument(
        "--no-git", action="store_true", help="ignore .gitignore: scan every file under each folder"
    )
    where.add_argument(
        "--include-path",
        action="append",
        default=[],
        metavar="GLOB",
        help="scan only paths matching this gitignore-style pattern (repeatable)",
    )
    where.add_argument(
        "--exclude-path",
        action="append",
        default=[],
        metavar="GLOB",
        help="never scan paths matching this gitignore-style pattern (repeatable)",
    )
    where.add_argument(
        "--rules",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="add the rules in this file to the configured ones (repeatable)",
    )
    where.add_argument(
        "--max-file-size",
        metavar="SIZE",
        help="skip larger files, e.g. 5MB (0: no limit; default 10MB)",
    )
    where.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="FILE",
        help="config file (default: .leakstop.yaml at the scan root)",
    )
    where.add_argument(
        "-j",
        "--jobs",
        type=int,
        metavar="N",
        help="scan on N processes (default: one per available core)",
    )
    where.add_argument(
        "--engine",
        choices=["auto", "hyperscan", "keywords"],
        default="auto",
        help="matching engine (default auto: hyperscan where installed, else keywords)",
    )
    return parent


def scan_request(args: argparse.Namespace, *, baseline: Path | None = None) -> ScanRequest:
    """The request the `sources()` options describe (for scan, baseline, respond)."""
    mode = Mode.FILES
    if args.stdin:
        mode = Mode.STDIN
    elif args.git:
        mode = Mode.HISTORY
    elif args.diff:
        mode = Mode.DIFF
    elif args.staged:
        mode = Mode.STAGED
    if args.stdin and args.paths:
        raise UsageError("give either --stdin or paths, not both")
    if args.log_opts and not args.git:
        raise UsageError("--log-opts needs --git")
    if args.fetch and not args.diff:
        raise UsageError("--fetch needs --diff")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be 1 or more")
    try:
        log_opts = shlex.split(args.log_opts or "")
    except ValueError as exc:
        raise UsageError(f"--log-opts: {exc}") from None
    max_size = None
    if args.max_file_size is not None:
        try:
            max_size = parse_size(args.max_file_size) or 0
        except ValueError:
            raise UsageError(
                f"--max-file-size: {args.max_file_size!r} is not a size such as 5MB or 512KiB"
            ) from None
    return ScanRequest(
        mode=mode,
        paths=tuple(args.paths),
        stdin=sys.stdin.buffer if args.stdin else None,
        stdin_name=args.stdin_name,
        log_opts=tuple(log_opts),
        diff_range=args.diff or "",
        fetch=args.fetch,
        config_path=args.config,
        rule_files=tuple(args.rules),
        include_paths=tuple(args.include_path),
        exclude_paths=tuple(args.exclude_path),
        use_git=not args.no_git,
        max_file_size=max_size,
        baseline_path=baseline,
        engine=args.engine,
        jobs=args.jobs,
        progress=progress.wanted(args.quiet > 0),
    )


def say(message: str) -> None:
    """A command's one-line outcome (not a report) on stdout."""
    sys.stdout.write(message + "\n")


def response_config(config_path: Path | None) -> Config:
    """The config of the commands that manage secrets rather than scan: found from the
    repository around the working directory (or the directory itself), without rules."""
    root = gitcli.toplevel(Path.cwd()) or Path.cwd()
    return load_config(find_config(config_path, root), with_rules=False)
