"""`leakstop scan`: scan what the options say and write every requested report."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from leakstop.commands.base import Outcome, Parser, scan_request, sources, verbosity
from leakstop.errors import ReportError, UsageError
from leakstop.report import ReportOptions
from leakstop.report.registry import FORMATS, reporter_class
from leakstop.results import ScanResult
from leakstop.scanner.session import Mode, ScanRequest, execute
from leakstop.verify.pairing import one_per_credential

STDOUT = "-"
_EXTENSIONS = {".sarif": "sarif", ".json": "json"}

HINTS = {
    Mode.STAGED: "Commit blocked: remove the secrets above from the staged files (and rotate "
    "them if they were real), or mark a false positive with a `leakstop:allow` comment on "
    "its line.",
}


@dataclass(frozen=True)
class ReportTarget:
    format: str
    #: A file path, or "-" for standard output.
    destination: str


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    parser = commands.add_parser(
        "scan",
        parents=[verbosity(), sources()],
        help="scan files, git history, a diff or staged changes for secrets",
        description="Scan for secrets. Files: in a git work tree, tracked files and untracked "
        "files that .gitignore does not exclude; elsewhere every file. Exit code 0: no "
        "findings, 1: findings, 2: error.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="files or folders, or the repository (default: .)",
    )
    output = parser.add_argument_group("reports")
    output.add_argument(
        "-f",
        "--format",
        choices=list(FORMATS),
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
    live = parser.add_argument_group("live verification")
    live.add_argument(
        "--verify",
        action="store_true",
        help="ask each credential's issuer whether it works (read-only requests to the "
        "issuer's own hosts; off by default, nothing else contacts the network)",
    )
    live.add_argument(
        "--only-verified",
        action="store_true",
        help="report only findings their issuer confirmed live (implies --verify)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    if args.show_secrets and os.environ.get("GITHUB_ACTIONS") == "true":
        raise UsageError("--show-secrets is refused in GitHub Actions: job logs are not private")
    request = scan_request(args, baseline=args.baseline)
    options = ReportOptions(
        show_secrets=args.show_secrets,
        color={"auto": None, "always": True, "never": False}[args.color],
        category=args.sarif_category,
        hint=HINTS.get(request.mode, ""),
    )
    live = LiveCheck(verify=args.verify or args.only_verified, only_verified=args.only_verified)
    result = scan(request, report_targets(args), options, sys.stdout, live)
    return Outcome.FAILED if result.findings and not args.exit_zero else Outcome.CLEAN


@dataclass(frozen=True)
class LiveCheck:
    """`--verify` / `--only-verified`."""

    verify: bool = False
    only_verified: bool = False


def scan(
    request: ScanRequest,
    targets: Sequence[ReportTarget],
    options: ReportOptions,
    stdout: TextIO,
    live: LiveCheck | None = None,
) -> ScanResult:
    """Run one scan and write every requested report. Raises LeakstopError on bad input."""
    check_reports(targets)
    prepared, result = execute(request)
    if live is not None and live.verify:
        # Imported here: without --verify, no verifier code loads and nothing goes online.
        from leakstop.verify.runner import verify_result

        verify_result(result, prepared.root, only_verified=live.only_verified)
    result.findings = one_per_credential(result.findings)
    write_reports(result, targets, dataclasses.replace(options, root=prepared.root), stdout)
    return result


def report_targets(args: argparse.Namespace) -> list[ReportTarget]:
    main_format = args.format or (_format_from_extension(args.output) if args.output else "text")
    targets = [ReportTarget(main_format, args.output or STDOUT)]
    for spec in args.report:
        name, colon, destination = spec.partition(":")
        # "C:\\out.sarif" is a Windows path, "sarif:out" a format and a path.
        if colon and len(name) > 1 and name.isalpha():
            if name not in FORMATS:
                known = ", ".join(FORMATS)
                raise UsageError(
                    f"--report {spec!r}: unknown format {name!r} (choose from {known})"
                )
            if not destination:
                raise UsageError(f"--report {spec!r}: give a file after the colon, or - for stdout")
            targets.append(ReportTarget(name, destination))
        else:
            targets.append(ReportTarget(_format_from_extension(spec), spec))
    return targets


def _format_from_extension(path: str) -> str:
    return _EXTENSIONS.get(Path(path).suffix.lower(), "text")


def write_reports(
    result: ScanResult, targets: Sequence[ReportTarget], options: ReportOptions, stdout: TextIO
) -> None:
    for target in targets:
        reporter = reporter_class(target.format)
        if target.destination == STDOUT:
            reporter(options).write(result, stdout)
            continue
        file_options = dataclasses.replace(options, color=False)
        try:
            with open(target.destination, "w", encoding="utf-8", newline="\n") as handle:
                reporter(file_options).write(result, handle)
        except OSError as exc:
            raise ReportError(
                f"cannot write report to {target.destination}: {exc.strerror}"
            ) from None


def check_reports(targets: Sequence[ReportTarget]) -> None:
    for target in targets:
        if target.format not in FORMATS:
            known = ", ".join(FORMATS)
            raise ReportError(f"unknown report format {target.format!r} (choose from {known})")
    if sum(target.destination == STDOUT for target in targets) > 1:
        raise ReportError("only one report can go to standard output; give the others a file")
    for target in targets:
        parent = Path(target.destination).parent
        if target.destination != STDOUT and not parent.is_dir():
            raise ReportError(f"cannot write report to {target.destination}: no such directory")
