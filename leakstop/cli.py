"""Command-line parsing and exit codes — the only place outcomes become exit codes.

0: clean. 1: findings. 2: a problem the user can fix (one line on stderr). 3: a bug in
leakstop (traceback). 130: interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from leakstop import __version__
from leakstop.commands import rules as rules_command
from leakstop.commands import scan as scan_command
from leakstop.config import parse_size
from leakstop.errors import LeakstopError
from leakstop.report.registry import REPORTERS

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

log = logging.getLogger("leakstop")

_EXTENSIONS = {".sarif": "sarif", ".json": "json"}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line instead of usage + message + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="leakstop",
        description="Find leaked credentials in files and git history; rotate what is confirmed.",
    )
    parser.add_argument("--version", action="version", version=f"leakstop {__version__}")
    verbosity = _Parser(add_help=False)
    verbosity.add_argument(
        "-v", "--verbose", action="count", default=0, help="more diagnostics on stderr (-vv: debug)"
    )
    verbosity.add_argument("-q", "--quiet", action="count", default=0, help="only errors on stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    scan = commands.add_parser(
        "scan",
        parents=[verbosity],
        help="scan files for secrets",
        description="Scan files for secrets. In a git work tree: tracked files and untracked "
        "files that .gitignore does not exclude; elsewhere every file. Exit code 0: no "
        "findings, 1: findings, 2: error.",
    )
    scan.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: .)"
    )
    scan.add_argument("--stdin", action="store_true", help="scan standard input instead of files")
    scan.add_argument(
        "--stdin-name",
        default="<stdin>",
        metavar="NAME",
        help="path to report stdin findings under",
    )
    scan.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="FILE",
        help="config file (default: .leakstop.yaml at the scan root)",
    )
    scan.add_argument(
        "-f",
        "--format",
        choices=list(REPORTERS),
        help="report format (default: text, or from --output's extension)",
    )
    scan.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout"
    )
    scan.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT:FILE",
        help="also write a report, e.g. --report sarif:leakstop.sarif (repeatable)",
    )
    scan.add_argument(
        "--show-secrets", action="store_true", help="print secrets in clear (local use only)"
    )
    scan.add_argument(
        "--no-git", action="store_true", help="ignore .gitignore: scan every file under each folder"
    )
    scan.add_argument(
        "--max-file-size",
        metavar="SIZE",
        help="skip larger files, e.g. 5MB (0: no limit; default 10MB)",
    )
    scan.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the text report",
    )
    scan.add_argument(
        "--sarif-category",
        default="leakstop",
        metavar="NAME",
        help="SARIF runAutomationDetails category",
    )
    scan.add_argument(
        "--engine",
        choices=["auto", "hyperscan", "keywords"],
        default="auto",
        help=argparse.SUPPRESS,
    )
    scan.add_argument("--exit-zero", action="store_true", help="exit 0 even when secrets are found")
    scan.set_defaults(handler=_run_scan)

    rules = commands.add_parser("rules", help="list rules, or check rule files")
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    listing = actions.add_parser("list", parents=[verbosity], help="list the rules a scan runs")
    listing.add_argument(
        "-c", "--config", type=Path, metavar="FILE", help="config file whose rules to list"
    )
    listing.add_argument("-f", "--format", choices=["text", "json"], default="text")
    listing.set_defaults(handler=_run_rules_list)
    check = actions.add_parser(
        "check",
        parents=[verbosity],
        help="validate rule files and run each rule on its examples",
        description="Validate rule files and run every rule on its own positive and negative "
        "examples, on every available engine. Exit code 1 if any rule fails.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument(
        "--alone", action="store_true", help="do not run the built-in rules alongside"
    )
    check.set_defaults(handler=_run_rules_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    _configure_logging(args.verbose - args.quiet)
    try:
        return int(args.handler(args))
    except (LeakstopError, UsageError) as exc:
        _error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`leakstop scan | head`): stop quietly, like other CLI tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception:  # noqa: BLE001 - the one place a bug becomes a report
        traceback.print_exc()
        _error(
            f"internal error in leakstop {__version__}; please report it with the traceback above"
        )
        return EXIT_BUG


def _run_scan(args: argparse.Namespace) -> int:
    if args.stdin and args.paths:
        raise UsageError("give either --stdin or paths, not both")
    if args.show_secrets and os.environ.get("GITHUB_ACTIONS") == "true":
        raise UsageError("--show-secrets is refused in GitHub Actions: job logs are not private")
    max_size = None
    if args.max_file_size is not None:
        try:
            max_size = parse_size(args.max_file_size) or 0
        except ValueError:
            raise UsageError(
                f"--max-file-size: {args.max_file_size!r} is not a size such as 5MB or 512KiB"
            ) from None
    request = scan_command.ScanRequest(
        paths=list(args.paths),
        stdin=sys.stdin.buffer if args.stdin else None,
        stdin_name=args.stdin_name,
        config_path=args.config,
        use_git=not args.no_git,
        max_file_size=max_size,
        reports=_report_targets(args),
        show_secrets=args.show_secrets,
        color={"auto": None, "always": True, "never": False}[args.color],
        category=args.sarif_category,
        engine=args.engine,
    )
    result = scan_command.scan(request, sys.stdout)
    if result.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _report_targets(args: argparse.Namespace) -> list[scan_command.ReportTarget]:
    main_format = args.format or (_format_from_extension(args.output) if args.output else "text")
    targets = [scan_command.ReportTarget(main_format, args.output or scan_command.STDOUT)]
    for spec in args.report:
        name, colon, destination = spec.partition(":")
        # "C:\\out.sarif" is a Windows path, "sarif:out" a format and a path.
        if colon and len(name) > 1 and name.isalpha():
            if name not in REPORTERS:
                known = ", ".join(REPORTERS)
                raise UsageError(
                    f"--report {spec!r}: unknown format {name!r} (choose from {known})"
                )
            if not destination:
                raise UsageError(f"--report {spec!r}: give a file after the colon, or - for stdout")
            targets.append(scan_command.ReportTarget(name, destination))
        else:
            targets.append(scan_command.ReportTarget(_format_from_extension(spec), spec))
    return targets


def _format_from_extension(path: str) -> str:
    return _EXTENSIONS.get(Path(path).suffix.lower(), "text")


def _run_rules_list(args: argparse.Namespace) -> int:
    rules_command.list_rules(args.config, args.format, sys.stdout)
    return EXIT_CLEAN


def _run_rules_check(args: argparse.Namespace) -> int:
    failed = rules_command.check_rule_files(args.files, args.alone, sys.stdout)
    return EXIT_FINDINGS if failed else EXIT_CLEAN


def _configure_logging(level: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("leakstop: %(levelname)s: %(message)s"))
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
    one_line = " ".join(message.split())
    print(f"leakstop: error: {one_line}", file=sys.stderr)
