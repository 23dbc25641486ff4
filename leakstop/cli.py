"""Command-line parsing and exit codes — the only place outcomes become exit codes.

0: clean. 1: findings. 2: a problem the user can fix (one line on stderr). 3: a bug in
leakstop (traceback). 130: interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from leakstop import __version__, progress
from leakstop.commands import action as action_command
from leakstop.commands import baseline as baseline_command
from leakstop.commands import respond as respond_command
from leakstop.commands import rules as rules_command
from leakstop.commands import scan as scan_command
from leakstop.commands.action import FailOn
from leakstop.config import parse_size
from leakstop.errors import LeakstopError
from leakstop.github.event import ActionMode
from leakstop.report.registry import REPORTERS
from leakstop.textsafe import SanitizingFormatter, sanitize

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

log = logging.getLogger("leakstop")

_EXTENSIONS = {".sarif": "sarif", ".json": "json"}
DEFAULT_BASELINE = ".leakstop-baseline.json"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line instead of usage + message + exit."""

    def error(self, message: str) -> NoReturn:
        if message.endswith("expected one argument"):
            # `--log-opts --since=2024-01-01` reads as two options.
            message += "; when the value starts with '-', join it with '=': --log-opts='--all'"
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

    sources = _Parser(add_help=False)
    where = sources.add_argument_group("what to scan (default: the files under PATH)")
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

    scan = commands.add_parser(
        "scan",
        parents=[verbosity, sources],
        help="scan files, git history, a diff or staged changes for secrets",
        description="Scan for secrets. Files: in a git work tree, tracked files and untracked "
        "files that .gitignore does not exclude; elsewhere every file. Exit code 0: no "
        "findings, 1: findings, 2: error.",
    )
    scan.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="files or folders, or the repository (default: .)",
    )
    output = scan.add_argument_group("reports")
    output.add_argument(
        "-f",
        "--format",
        choices=list(REPORTERS),
        help="report format (default: text, or from --output's extension)",
    )
    output.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout"
    )
    output.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT:FILE",
        help="also write a report, e.g. --report sarif:leakstop.sarif (repeatable)",
    )
    output.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="do not report findings listed in this baseline",
    )
    output.add_argument(
        "--show-secrets", action="store_true", help="print secrets in clear (local use only)"
    )
    output.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour the text report",
    )
    output.add_argument(
        "--sarif-category",
        default="leakstop",
        metavar="NAME",
        help="SARIF runAutomationDetails category",
    )
    output.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when secrets are found"
    )
    scan.set_defaults(handler=_run_scan)

    baseline = commands.add_parser(
        "baseline", help="record known findings so scans report only new ones"
    )
    baseline_actions = baseline.add_subparsers(
        dest="baseline_command", metavar="ACTION", parser_class=_Parser
    )
    baseline_actions.required = True
    create = baseline_actions.add_parser(
        "create",
        parents=[verbosity, sources],
        help="scan and write every finding to a new baseline",
    )
    create.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    create.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(DEFAULT_BASELINE),
        metavar="FILE",
        help=f"default: {DEFAULT_BASELINE}",
    )
    create.set_defaults(handler=_run_baseline_create)
    update = baseline_actions.add_parser(
        "update",
        parents=[verbosity, sources],
        help="rescan: add new findings, drop fixed ones, keep reviews of the rest",
    )
    update.add_argument("baseline", type=Path, metavar="BASELINE")
    update.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    update.add_argument(
        "--keep-missing", action="store_true", help="keep entries that are no longer found"
    )
    update.set_defaults(handler=_run_baseline_update)
    importer = baseline_actions.add_parser(
        "import", parents=[verbosity], help="convert a detect-secrets .secrets.baseline"
    )
    importer.add_argument("source", type=Path, metavar="SECRETS_BASELINE")
    importer.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(DEFAULT_BASELINE),
        metavar="FILE",
        help=f"default: {DEFAULT_BASELINE}",
    )
    importer.add_argument("-c", "--config", type=Path, metavar="FILE")
    importer.set_defaults(handler=_run_baseline_import)

    action = commands.add_parser(
        "action",
        parents=[verbosity],
        help="what the GitHub Action runs: choose the scan from the event, report to the runner",
        description="Run inside GitHub Actions (needs GITHUB_EVENT_NAME and GITHUB_EVENT_PATH): "
        "pull requests are scanned for the lines they add, pushes for the commits pushed, "
        "scheduled and manual runs for the whole history. Writes masks, annotations, the job "
        "summary, a SARIF file and step outputs. Exit code 1 when --fail-on says so.",
    )
    action.add_argument(
        "--mode",
        choices=[m.value for m in ActionMode],
        default="auto",
        help="default: from the event",
    )
    action.add_argument("--path", type=Path, default=Path("."), help="the repository (default: .)")
    action.add_argument(
        "--config", default="", metavar="FILE", help="config file, relative to the repository"
    )
    action.add_argument(
        "--baseline", default="", metavar="FILE", help="baseline file, relative to the repository"
    )
    action.add_argument(
        "--fail-on",
        choices=[f.value for f in FailOn],
        default="new",
        help="which findings fail the step",
    )
    action.add_argument("--include-path", action="append", default=[], metavar="GLOB")
    action.add_argument("--exclude-path", action="append", default=[], metavar="GLOB")
    action.add_argument("--rules", action="append", default=[], type=Path, metavar="FILE")
    action.add_argument(
        "--sarif-file",
        type=Path,
        metavar="FILE",
        help="default: $RUNNER_TEMP/leakstop/leakstop.sarif",
    )
    action.add_argument("--sarif-category", default="leakstop", metavar="NAME")
    action.add_argument("--no-annotations", action="store_true")
    action.add_argument("--no-summary", action="store_true")
    action.set_defaults(handler=_run_action)

    respond = commands.add_parser(
        "respond",
        parents=[verbosity, sources],
        help="plan the response to each leak (which issuer rotates or revokes it)",
        description="Scan, then say for each distinct secret which provider would rotate or "
        "revoke it. Only --dry-run is available in this release: nothing is changed.",
    )
    respond.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    respond.add_argument("--dry-run", action="store_true", help="only print the plan")
    respond.add_argument("-f", "--format", choices=["text", "markdown"], default="text")
    respond.set_defaults(handler=_run_respond)

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


def _scan_request(args: argparse.Namespace) -> scan_command.ScanRequest:
    """The source options shared by `scan` and `baseline create|update`."""
    mode = scan_command.Mode.FILES
    if args.stdin:
        mode = scan_command.Mode.STDIN
    elif args.git:
        mode = scan_command.Mode.HISTORY
    elif args.diff:
        mode = scan_command.Mode.DIFF
    elif args.staged:
        mode = scan_command.Mode.STAGED
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
    return scan_command.ScanRequest(
        mode=mode,
        paths=list(args.paths),
        stdin=sys.stdin.buffer if args.stdin else None,
        stdin_name=args.stdin_name,
        log_opts=log_opts,
        diff_range=args.diff or "",
        fetch=args.fetch,
        config_path=args.config,
        rule_files=list(args.rules),
        include_paths=list(args.include_path),
        exclude_paths=list(args.exclude_path),
        use_git=not args.no_git,
        max_file_size=max_size,
        engine=args.engine,
        jobs=args.jobs,
        progress=progress.wanted(args.quiet > 0),
    )


def _run_scan(args: argparse.Namespace) -> int:
    if args.show_secrets and os.environ.get("GITHUB_ACTIONS") == "true":
        raise UsageError("--show-secrets is refused in GitHub Actions: job logs are not private")
    request = _scan_request(args)
    request.reports = _report_targets(args)
    request.baseline_path = args.baseline
    request.show_secrets = args.show_secrets
    request.color = {"auto": None, "always": True, "never": False}[args.color]
    request.category = args.sarif_category
    result = scan_command.scan(request, sys.stdout)
    if result.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _run_baseline_create(args: argparse.Namespace) -> int:
    outcome = baseline_command.create(_scan_request(args), args.output)
    _say(f"Wrote {outcome.added} findings to {outcome.path}. Review them, then commit the file.")
    return EXIT_CLEAN


def _run_baseline_update(args: argparse.Namespace) -> int:
    outcome = baseline_command.update(_scan_request(args), args.baseline, args.keep_missing)
    _say(
        f"Updated {outcome.path}: {outcome.added} new, {outcome.kept} kept, "
        f"{outcome.removed} no longer found and removed."
    )
    return EXIT_CLEAN


def _run_baseline_import(args: argparse.Namespace) -> int:
    outcome = baseline_command.import_detect_secrets(
        args.source, args.output, Path.cwd(), args.config
    )
    _say(f"Imported {outcome.added} detect-secrets entries into {outcome.path}.")
    return EXIT_CLEAN


def _run_action(args: argparse.Namespace) -> int:
    inputs = action_command.ActionInputs(
        mode=ActionMode(args.mode),
        path=args.path,
        config=args.config,
        baseline=args.baseline,
        fail_on=FailOn(args.fail_on),
        include_paths=[p for p in args.include_path if p.strip()],
        exclude_paths=[p for p in args.exclude_path if p.strip()],
        rule_files=list(args.rules),
        sarif_file=args.sarif_file,
        category=args.sarif_category,
        annotations=not args.no_annotations,
        summary=not args.no_summary,
    )
    outcome = action_command.run_action(inputs, sys.stdout)
    return EXIT_FINDINGS if outcome.failed else EXIT_CLEAN


def _run_respond(args: argparse.Namespace) -> int:
    respond_command.respond(_scan_request(args), args.dry_run, args.format, sys.stdout)
    return EXIT_CLEAN


def _say(message: str) -> None:
    """A command's one-line outcome (not a report) on stdout."""
    print(message)


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
