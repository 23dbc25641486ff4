"""`leakstop action`: what the GitHub Action runs.

It chooses the scan from the event (github/event.py), fetches what a shallow checkout lacks,
reads everything that shapes the scan (config, the rule files it names, extra rule files,
baseline) from the base commit of a pull request, runs the same scan as `leakstop scan`, and
talks to the runner: masks, annotations, the step summary, outputs.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import logging
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from leakstop import gitcli
from leakstop.commands.base import Outcome, Parser, verbosity
from leakstop.config import CONFIG_NAMES
from leakstop.errors import SourceError
from leakstop.github import workflow
from leakstop.github.commit_files import copy_config, write_under
from leakstop.github.event import ActionMode, Plan, plan
from leakstop.github.guard import event_payload
from leakstop.github.pull_request import scan_pull_request
from leakstop.report import ReportOptions
from leakstop.report import weakening as weakening_report
from leakstop.results import ScanResult, ScanStats
from leakstop.scanner.session import Mode, ScanRequest, execute
from leakstop.scanner.sources.diff import resolve_range
from leakstop.scanner.weakening import Weakening
from leakstop.textsafe import sanitize
from leakstop.verify.pairing import one_per_credential

log = logging.getLogger(__name__)


class FailOn(str, enum.Enum):
    ANY = "any"
    NEW = "new"
    VERIFIED = "verified"
    NONE = "none"


@dataclass(frozen=True)
class ActionInputs:
    mode: ActionMode = ActionMode.AUTO
    path: Path = Path(".")
    config: str = ""
    baseline: str = ""
    fail_on: FailOn = FailOn.NEW
    include_paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    #: Paths in the repository; for pull requests read from the base commit.
    rule_files: tuple[str, ...] = ()
    sarif_file: Path | None = None
    category: str = "leakstop"
    annotations: bool = True
    summary: bool = True


@dataclass(frozen=True)
class ActionOutcome:
    findings: int
    new_findings: int
    failed: bool
    sarif_path: Path


@dataclass(frozen=True)
class _Trusted:
    """Scan-shaping files as the base commit has them, written under the runner's temp."""

    #: None: look the config up in the checkout as `leakstop scan` does.
    config: Path | None
    baseline: Path | None = None
    rule_files: tuple[Path, ...] = field(default=())


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    action = commands.add_parser(
        "action",
        parents=[verbosity()],
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
    action.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="FILE",
        help="more rule files, relative to the repository (read from a pull request's base)",
    )
    action.add_argument(
        "--sarif-file",
        type=Path,
        metavar="FILE",
        help="default: $RUNNER_TEMP/leakstop/leakstop.sarif",
    )
    action.add_argument("--sarif-category", default="leakstop", metavar="NAME")
    action.add_argument("--no-annotations", action="store_true")
    action.add_argument("--no-summary", action="store_true")
    action.set_defaults(run=run)


def run(args: argparse.Namespace) -> Outcome:
    inputs = ActionInputs(
        mode=ActionMode(args.mode),
        path=args.path,
        config=args.config,
        baseline=args.baseline,
        fail_on=FailOn(args.fail_on),
        include_paths=tuple(p for p in args.include_path if p.strip()),
        exclude_paths=tuple(p for p in args.exclude_path if p.strip()),
        rule_files=tuple(r for r in args.rules if r.strip()),
        sarif_file=args.sarif_file,
        category=args.sarif_category,
        annotations=not args.no_annotations,
        summary=not args.no_summary,
    )
    outcome = run_action(inputs, sys.stdout)
    return Outcome.FAILED if outcome.failed else Outcome.CLEAN


def run_action(
    inputs: ActionInputs, stdout: TextIO, environ: Mapping[str, str] = os.environ
) -> ActionOutcome:
    event_name = environ.get("GITHUB_EVENT_NAME", "")
    if not event_name:
        raise SourceError(
            "not running in GitHub Actions (GITHUB_EVENT_NAME is not set): use `leakstop scan`"
        )
    scan_plan = plan(event_name, event_payload(environ), inputs.mode)
    repo = gitcli.toplevel(inputs.path)
    if repo is None:
        raise SourceError(
            f"not a git repository: {inputs.path} (check it out with actions/checkout first)"
        )
    temp = workflow.runner_temp(environ) / "leakstop"
    temp.mkdir(parents=True, exist_ok=True)
    request, description = _request(inputs, scan_plan, repo, temp)
    stdout.write(f"leakstop scans {sanitize(description)}\n")
    sarif_path = inputs.sarif_file or temp / "leakstop.sarif"
    weakening = Weakening()
    if request is None:
        result = ScanResult([], ScanStats(), [])
    else:
        stdout.write(f"Equivalent local command: {sanitize(_equivalent(request))}\n")
        if scan_plan.mode is ActionMode.DIFF and scan_plan.trusted_commit is not None:
            own = _trusted_files(repo, scan_plan.head, inputs, temp, "pull-request")
            own_request = dataclasses.replace(
                request,
                config_path=own.config,
                baseline_path=own.baseline,
                rule_files=own.rule_files,
            )
            result, weakening = scan_pull_request(request, own_request, repo, scan_plan.head)
        else:
            _, result = execute(request)
    masked = workflow.add_masks((f.secret for f in (*result.findings, *result.known)), stdout)
    if masked:
        log.info("masked %d secret values in later log output", masked)
    result.findings = one_per_credential(result.findings)
    options = ReportOptions(
        root=repo, color=False, category=inputs.category, title="leakstop secret scan"
    )
    # The reporters are imported here: with rich and attrs, ~35 ms every other command skips.
    from leakstop.report.github import GithubReporter
    from leakstop.report.markdown import MarkdownReporter
    from leakstop.report.sarif import SarifReporter
    from leakstop.report.text import TextReporter

    TextReporter(options).write(result, stdout)
    if not weakening.is_empty:
        stdout.write(f"{sanitize(weakening_report.headline(weakening))}\n")
    if inputs.annotations:
        for line in weakening_report.warnings(weakening):
            stdout.write(line + "\n")
        GithubReporter(options).write(result, stdout)
    with open(sarif_path, "w", encoding="utf-8") as handle:
        SarifReporter(options).write(result, handle)
    if inputs.summary:
        summary = MarkdownReporter(options).render(result)
        workflow.append_summary(summary + weakening_report.markdown(weakening), environ)
    total = len(result.findings) + len(result.known)
    outcome = ActionOutcome(
        findings=total,
        new_findings=len(result.findings),
        failed=_fails(inputs.fail_on, result),
        sarif_path=sarif_path,
    )
    workflow.set_outputs(
        {
            "findings": str(outcome.findings),
            "new-findings": str(outcome.new_findings),
            "sarif-path": str(sarif_path),
        },
        environ,
    )
    return outcome


def event_request(base: ScanRequest, environ: Mapping[str, str] = os.environ) -> ScanRequest | None:
    """`base` narrowed to what this GitHub Actions event selects, as the scan step does (for
    `respond --github-event`); None when the event has nothing to scan (a deleted branch).
    Its other options (paths to include or exclude, rules, engine) are kept."""
    event_name = environ.get("GITHUB_EVENT_NAME", "")
    if not event_name:
        raise SourceError(
            "--github-event needs GitHub Actions (GITHUB_EVENT_NAME is not set): give what to "
            "scan instead (--diff, --git)"
        )
    scan_plan = plan(event_name, event_payload(environ), ActionMode.AUTO)
    start = base.paths[0] if base.paths else Path(".")
    repo = gitcli.toplevel(start)
    if repo is None:
        raise SourceError(f"not a git repository: {start} (check it out with actions/checkout)")
    temp = workflow.runner_temp(environ) / "leakstop"
    temp.mkdir(parents=True, exist_ok=True)
    request, description = _request(ActionInputs(path=repo), scan_plan, repo, temp)
    log.info("respond covers %s", sanitize(description))
    if request is None:
        return None
    return dataclasses.replace(
        base,
        mode=request.mode,
        paths=request.paths,
        diff_range=request.diff_range,
        revisions=request.revisions,
        log_opts=request.log_opts,
        config_path=base.config_path or request.config_path,
    )


def _fails(fail_on: FailOn, result: ScanResult) -> bool:
    if fail_on is FailOn.ANY:
        return bool(result.findings or result.known)
    if fail_on is FailOn.NEW:
        return bool(result.findings)
    if fail_on is FailOn.VERIFIED:
        # Until live verification exists, "verified" means the issuer's checksum or structure
        # check passed (GitHub, npm, PyPI tokens, JWTs).
        return any(f.validated for f in result.findings)
    return False


def _request(
    inputs: ActionInputs, scan_plan: Plan, repo: Path, temp: Path
) -> tuple[ScanRequest | None, str]:
    """The scan this event asks for (None: nothing to scan) and what it covers, in words."""
    if scan_plan.empty:
        return None, scan_plan.description
    mode, diff_range = Mode.FILES, ""
    revisions: tuple[str, ...] = ()
    log_opts: tuple[str, ...] = ()
    description = scan_plan.description
    if scan_plan.mode is ActionMode.DIFF:
        diff_range = f"{scan_plan.base}..{scan_plan.head}"
        resolve_range(repo, diff_range, fetch=True)
        mode = Mode.DIFF
    elif scan_plan.mode is ActionMode.PUSH:
        revisions, log_opts = _push_range(repo, scan_plan)
        if gitcli.count_commits(repo, revisions) == 0:
            return None, f"{description}: no commits that are not already scanned"
        mode = Mode.HISTORY
    elif scan_plan.mode is ActionMode.HISTORY:
        if gitcli.is_shallow(repo):
            log.info("fetching the whole history (the checkout is shallow)")
            gitcli.fetch(repo, ["--unshallow"], ["+refs/heads/*:refs/remotes/origin/*"])
        mode = Mode.HISTORY
    if scan_plan.trusted_commit is not None:
        trusted = _trusted_files(repo, scan_plan.trusted_commit, inputs, temp)
    else:
        trusted = _Trusted(
            config=repo / inputs.config if inputs.config else None,
            baseline=repo / inputs.baseline if inputs.baseline else None,
            rule_files=tuple(repo / name for name in inputs.rule_files),
        )
    request = ScanRequest(
        mode=mode,
        paths=(repo,),
        diff_range=diff_range,
        revisions=revisions,
        log_opts=log_opts,
        config_path=trusted.config,
        baseline_path=trusted.baseline,
        rule_files=trusted.rule_files,
        include_paths=inputs.include_paths,
        exclude_paths=inputs.exclude_paths,
    )
    return request, description


def _push_range(repo: Path, scan_plan: Plan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Revisions (and git log options) for the pushed commits, fetching what a shallow clone
    lacks. Revisions only: they reach git after `--end-of-options`."""
    head = scan_plan.head
    gitcli.fetch_missing(repo, [head])
    if scan_plan.exclude:
        (before,) = scan_plan.exclude
        try:
            gitcli.fetch_missing(repo, [before])
            gitcli.deepen_until_merge_base(repo, before, head)
            return (f"{before}..{head}",), ()
        except SourceError:
            log.warning("the commit before the push (%s) is gone (a force push?)", before[:12])
    branch = scan_plan.default_branch
    if branch:
        remote = f"refs/remotes/origin/{branch}"
        try:
            gitcli.fetch(repo, ["--depth=1"], [f"+refs/heads/{branch}:{remote}"])
        except SourceError:
            log.warning("cannot fetch the default branch %s: scanning the pushed tip only", branch)
            return (head,), ("--max-count=1",)
        refspecs = [f"+refs/heads/{branch}:{remote}", head]
        if gitcli.deepen_until_merge_base(repo, remote, head, refspecs) is not None:
            return (head, f"^{remote}"), ()
    return (head,), ()


def _trusted_files(
    repo: Path, commit: str, inputs: ActionInputs, temp: Path, folder: str = "trusted"
) -> _Trusted:
    """Config, the rule files it names, extra rule files and baseline as they are in `commit`
    (the pull request's base), written under `temp / folder`. A pull request that edits or
    adds any of them changes the scan only once merged (its head's are read the same way to
    tell what it would suppress)."""
    gitcli.fetch_missing(repo, [commit])
    trusted = temp / folder
    trusted.mkdir(exist_ok=True)
    names = [inputs.config] if inputs.config else list(CONFIG_NAMES)
    config_path = trusted / ".leakstop-defaults.yaml"
    config_path.write_text("version: 1\n", encoding="utf-8")
    for name in names:
        copied = copy_config(repo, commit, name, trusted)
        if copied is not None:
            config_path = copied
            break
    else:
        if inputs.config:
            log.warning("%s is not in the base commit: using the defaults", inputs.config)
    rule_files = []
    for name in inputs.rule_files:
        text = gitcli.show_file(repo, commit, name)
        if text is None:
            # Extra rules only add: leaving out one the pull request brings cannot weaken it.
            log.warning("%s is not in the base commit: its rules apply once merged", name)
            continue
        rule_files.append(write_under(trusted / "extra-rules", name, text))
    baseline_path = None
    if inputs.baseline:
        text = gitcli.show_file(repo, commit, inputs.baseline)
        if text is None:
            log.warning("%s is not in the base commit: no baseline", inputs.baseline)
        else:
            baseline_path = trusted / "baseline.json"
            baseline_path.write_bytes(text)
    side = "base" if folder == "trusted" else "pull request's head"
    log.info("using config, rule files and baseline from the %s commit %s", side, commit[:12])
    return _Trusted(config_path, baseline_path, tuple(rule_files))


def _equivalent(request: ScanRequest) -> str:
    words = ["leakstop", "scan"]
    if request.mode is Mode.DIFF:
        words += ["--diff", request.diff_range]
    elif request.mode is Mode.HISTORY:
        log_opts = [*request.log_opts, *request.revisions]
        words += ["--git"] + ([f"--log-opts={shlex.join(log_opts)}"] if log_opts else [])
    if request.config_path:
        words += ["--config", str(request.config_path)]
    if request.baseline_path:
        words += ["--baseline", str(request.baseline_path)]
    for pattern in request.include_paths:
        words += ["--include-path", pattern]
    for pattern in request.exclude_paths:
        words += ["--exclude-path", pattern]
    for rule_file in request.rule_files:
        words += ["--rules", str(rule_file)]
    return shlex.join(words)
