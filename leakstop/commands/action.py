"""`leakstop action`: what the GitHub Action runs.

It chooses the scan from the event (github/event.py), fetches what a shallow checkout lacks,
reads config and baseline from the base commit of a pull request, runs the same scan as
`leakstop scan`, and talks to the runner: masks, annotations, the step summary, outputs.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from leakstop.commands.scan import Mode, ScanRequest, execute
from leakstop.config import CONFIG_NAMES
from leakstop.errors import LeakstopError, SourceError
from leakstop.github import workflow
from leakstop.github.event import ActionMode, Plan, plan
from leakstop.report import ReportOptions
from leakstop.report.github import GithubReporter
from leakstop.report.markdown import MarkdownReporter
from leakstop.report.sarif import SarifReporter
from leakstop.report.text import TextReporter
from leakstop.results import ScanResult, ScanStats
from leakstop.scanner.sources import gitrepo
from leakstop.scanner.sources.diff import resolve_range
from leakstop.yamlfile import load_yaml

log = logging.getLogger(__name__)


class FailOn(str, enum.Enum):
    ANY = "any"
    NEW = "new"
    VERIFIED = "verified"
    NONE = "none"


@dataclass
class ActionInputs:
    mode: ActionMode = ActionMode.AUTO
    path: Path = Path(".")
    config: str = ""
    baseline: str = ""
    fail_on: FailOn = FailOn.NEW
    include_paths: list[str] = field(default_factory=list)
    exclude_paths: list[str] = field(default_factory=list)
    rule_files: list[Path] = field(default_factory=list)
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


def run_action(
    inputs: ActionInputs, stdout: TextIO, environ: Mapping[str, str] = os.environ
) -> ActionOutcome:
    event_name = environ.get("GITHUB_EVENT_NAME", "")
    if not event_name:
        raise SourceError(
            "not running in GitHub Actions (GITHUB_EVENT_NAME is not set): use `leakstop scan`"
        )
    scan_plan = plan(event_name, _payload(environ), inputs.mode)
    repo = gitrepo.toplevel(inputs.path)
    if repo is None:
        raise SourceError(
            f"not a git repository: {inputs.path} (check it out with actions/checkout first)"
        )
    stdout.write(f"leakstop scans {scan_plan.description}\n")
    temp = workflow.runner_temp(environ) / "leakstop"
    temp.mkdir(parents=True, exist_ok=True)
    request = _request(inputs, scan_plan, repo, temp)
    sarif_path = inputs.sarif_file or temp / "leakstop.sarif"
    if scan_plan.empty:
        result = ScanResult([], ScanStats(), [])
    else:
        stdout.write(f"Equivalent local command: {_equivalent(request)}\n")
        _, result = execute(request)
    masked = workflow.add_masks((f.secret for f in (*result.findings, *result.known)), stdout)
    if masked:
        log.info("masked %d secret values in later log output", masked)
    options = ReportOptions(
        root=repo, color=False, category=inputs.category, title="leakstop secret scan"
    )
    TextReporter(options).write(result, stdout)
    if inputs.annotations:
        GithubReporter(options).write(result, stdout)
    with open(sarif_path, "w", encoding="utf-8") as handle:
        SarifReporter(options).write(result, handle)
    if inputs.summary:
        workflow.append_summary(MarkdownReporter(options).render(result), environ)
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


def _payload(environ: Mapping[str, str]) -> dict[str, Any]:
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceError(f"cannot read the event payload {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def _request(inputs: ActionInputs, scan_plan: Plan, repo: Path, temp: Path) -> ScanRequest:
    request = ScanRequest(
        paths=[repo],
        rule_files=list(inputs.rule_files),
        include_paths=list(inputs.include_paths),
        exclude_paths=list(inputs.exclude_paths),
    )
    if scan_plan.mode is ActionMode.DIFF:
        resolve_range(repo, f"{scan_plan.base}..{scan_plan.head}", fetch=True)
        request.mode = Mode.DIFF
        request.diff_range = f"{scan_plan.base}..{scan_plan.head}"
    elif scan_plan.mode is ActionMode.PUSH and not scan_plan.empty:
        request.mode = Mode.HISTORY
        request.log_opts = _push_range(repo, scan_plan)
    elif scan_plan.mode is ActionMode.HISTORY:
        if gitrepo.is_shallow(repo):
            log.info("fetching the whole history (the checkout is shallow)")
            gitrepo.fetch(repo, ["--unshallow", "origin", "+refs/heads/*:refs/remotes/origin/*"])
        request.mode = Mode.HISTORY
    if scan_plan.trusted_commit is not None:
        request.config_path, request.baseline_path = _trusted_files(
            repo, scan_plan.trusted_commit, inputs, temp
        )
    else:
        request.config_path = repo / inputs.config if inputs.config else None
        request.baseline_path = repo / inputs.baseline if inputs.baseline else None
    return request


def _push_range(repo: Path, scan_plan: Plan) -> list[str]:
    """`git log` arguments for the pushed commits, fetching what a shallow clone lacks."""
    head = scan_plan.head
    gitrepo.fetch_missing(repo, [head])
    if scan_plan.exclude:
        (before,) = scan_plan.exclude
        try:
            gitrepo.fetch_missing(repo, [before])
            gitrepo.deepen_until_merge_base(repo, before, head)
            return [f"{before}..{head}"]
        except SourceError:
            log.warning("the commit before the push (%s) is gone (a force push?)", before[:12])
    branch = scan_plan.default_branch
    if branch:
        remote = f"refs/remotes/origin/{branch}"
        try:
            gitrepo.fetch(repo, ["--depth=1", "origin", f"+refs/heads/{branch}:{remote}"])
        except SourceError:
            log.warning("cannot fetch the default branch %s: scanning the pushed tip only", branch)
            return ["-1", head]
        refspecs = [f"+refs/heads/{branch}:{remote}", head]
        if gitrepo.deepen_until_merge_base(repo, remote, head, refspecs) is not None:
            return [head, "--not", remote]
    return [head]


def _trusted_files(
    repo: Path, commit: str, inputs: ActionInputs, temp: Path
) -> tuple[Path, Path | None]:
    """Config and baseline as they are in `commit` (the pull request's base), written under
    `temp`. A pull request that edits them changes the scan only once merged."""
    gitrepo.fetch_missing(repo, [commit])
    trusted = temp / "trusted"
    trusted.mkdir(exist_ok=True)
    names = [inputs.config] if inputs.config else list(CONFIG_NAMES)
    config_path = trusted / ".leakstop-defaults.yaml"
    config_path.write_text("version: 1\n", encoding="utf-8")
    for name in names:
        text = _show(repo, commit, name)
        if text is None:
            continue
        config_path = trusted / name
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_bytes(text)
        for rule_file in _rule_files(text, name):
            rule_text = _show(repo, commit, str(Path(name).parent / rule_file))
            if rule_text is not None:
                target = config_path.parent / rule_file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(rule_text)
        break
    else:
        if inputs.config:
            log.warning("%s is not in the base commit: using the defaults", inputs.config)
    baseline_path = None
    if inputs.baseline:
        text = _show(repo, commit, inputs.baseline)
        if text is None:
            log.warning("%s is not in the base commit: no baseline", inputs.baseline)
        else:
            baseline_path = trusted / "baseline.json"
            baseline_path.write_bytes(text)
    log.info("using config and baseline from the base commit %s", commit[:12])
    return config_path, baseline_path


def _show(repo: Path, commit: str, path: str) -> bytes | None:
    name = Path(path).as_posix().removeprefix("./")
    try:
        return gitrepo.run_git(["show", f"{commit}:{name}"], repo)
    except SourceError:
        return None


def _rule_files(config_text: bytes, name: str) -> list[str]:
    try:
        data = load_yaml(config_text, name)
    except LeakstopError:
        return []  # the scan reports the error with the file and line
    files = data.get("rule_files") if isinstance(data, dict) else None
    return [str(item) for item in files] if isinstance(files, list) else []


def _equivalent(request: ScanRequest) -> str:
    words = ["leakstop", "scan"]
    if request.mode is Mode.DIFF:
        words += ["--diff", request.diff_range]
    elif request.mode is Mode.HISTORY:
        words += ["--git"] + (
            [f"--log-opts={shlex.join(request.log_opts)}"] if request.log_opts else []
        )
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
