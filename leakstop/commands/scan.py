"""`leakstop scan`: connect config, source, engine, detector, baseline and reporters."""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

import pathspec

from leakstop import baseline as baselines
from leakstop import fingerprint_key
from leakstop.config import Config, find_config, load_config
from leakstop.errors import ReportError, SourceError
from leakstop.finding import Finding, printable_path
from leakstop.progress import ScanProgress
from leakstop.report import ReportOptions
from leakstop.report.registry import REPORTERS
from leakstop.results import ScanResult
from leakstop.rules.loader import load_rule_files
from leakstop.scanner import parallel
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine
from leakstop.scanner.parallel import DetectorRecipe
from leakstop.scanner.runner import run_scan
from leakstop.scanner.sources import Source, gitrepo
from leakstop.scanner.sources.diff import DiffSource, resolve_range, staged_base
from leakstop.scanner.sources.files import FileSource, resolved_parent
from leakstop.scanner.sources.history import GitHistorySource
from leakstop.scanner.sources.stdin import StdinSource

log = logging.getLogger(__name__)

STDOUT = "-"


class Mode(str, enum.Enum):
    FILES = "files"
    STDIN = "stdin"
    HISTORY = "history"
    DIFF = "diff"
    STAGED = "staged"


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


@dataclass
class ScanRequest:
    mode: Mode = Mode.FILES
    paths: list[Path] = field(default_factory=list)
    stdin: BinaryIO | None = None
    stdin_name: str = "<stdin>"
    #: Extra `git log` arguments for history scans.
    log_opts: list[str] = field(default_factory=list)
    #: BASE..HEAD for diff scans.
    diff_range: str = ""
    #: Fetch commits a shallow clone lacks for a diff scan.
    fetch: bool = False
    config_path: Path | None = None
    #: More rule files, added to the config's rules (a rule with the same id replaces it).
    rule_files: list[Path] = field(default_factory=list)
    #: gitignore-style patterns: scan only matching paths / never scan matching paths.
    include_paths: list[str] = field(default_factory=list)
    exclude_paths: list[str] = field(default_factory=list)
    use_git: bool = True
    #: Overrides the config's max_file_size when set; 0 means no limit.
    max_file_size: int | None = None
    baseline_path: Path | None = None
    reports: list[ReportTarget] = field(default_factory=lambda: [ReportTarget("text", STDOUT)])
    show_secrets: bool = False
    color: bool | None = None
    category: str = "leakstop"
    engine: str = "auto"
    #: Worker processes; None: one per available core.
    jobs: int | None = None
    #: Show a progress line (the CLI decides: a terminal, not CI, not -q).
    progress: bool = False


@dataclass
class Prepared:
    """Everything a scan needs, resolved from a request."""

    root: Path
    config: Config
    source: Source
    detector: Detector
    #: How worker processes rebuild `detector`.
    recipe: DetectorRecipe
    key: fingerprint_key.FingerprintKey
    baseline: baselines.Baseline | None


def scan(request: ScanRequest, stdout: TextIO) -> ScanResult:
    """Run one scan and write every requested report. Raises LeakstopError on bad input."""
    check_reports(request.reports)
    prepared, result = execute(request)
    options = ReportOptions(
        show_secrets=request.show_secrets,
        root=prepared.root,
        color=request.color,
        category=request.category,
        hint=HINTS.get(request.mode, ""),
    )
    write_reports(result, request.reports, options, stdout)
    return result


def execute(request: ScanRequest) -> tuple[Prepared, ScanResult]:
    """Prepare and run a scan; findings a baseline lists move to `result.known`."""
    prepared = prepare(request)
    result = run_prepared(request, prepared)
    if prepared.baseline is not None:
        known: list[Finding] = []
        new: list[Finding] = []
        for finding in result.findings:
            (known if prepared.baseline.contains(finding) else new).append(finding)
        result.known, result.findings = known, new
        result.stats.baselined = len(known)
    return prepared, result


def run_prepared(request: ScanRequest, prepared: Prepared) -> ScanResult:
    """Every finding of a prepared scan (a baseline, if any, not applied), on `request.jobs`
    processes, with a progress line when the request asks for one."""
    unit = "blob" if request.mode is Mode.HISTORY else "file"
    jobs = request.jobs or parallel.default_jobs()
    with ExitStack() as stack:
        progress = stack.enter_context(ScanProgress(unit)) if request.progress else None
        return run_scan(
            prepared.source,
            prepared.detector,
            prepared.config.rules,
            unit,
            jobs,
            prepared.recipe,
            progress,
        )


def prepare(request: ScanRequest) -> Prepared:
    root = _root(request)
    config = load_config(find_config(request.config_path, root))
    if request.rule_files:
        extra = {rule.id: rule for rule in load_rule_files(request.rule_files)}
        rules = [extra.pop(rule.id, rule) for rule in config.rules]
        config = dataclasses.replace(config, rules=(*rules, *extra.values()))
    baseline = baselines.load(request.baseline_path) if request.baseline_path else None
    key = fingerprint_key.resolve(
        config.fingerprint_salt, root, baseline.fingerprint_key if baseline else None
    )
    engine = build_engine(config.rules, request.engine)
    recipe = DetectorRecipe(
        rules=tuple(config.rules),
        allowlists=tuple(config.allowlists),
        fingerprint_key=key.key,
        engine=engine.name,
    )
    detector = Detector(engine, config.allowlists, key.key)
    source = _source(request, root, config)
    return Prepared(root, config, source, detector, recipe, key, baseline)


def _root(request: ScanRequest) -> Path:
    if request.mode is Mode.STDIN:
        return Path.cwd()
    if request.mode is Mode.FILES:
        return scan_root(request.paths or [Path(".")])
    if len(request.paths) > 1:
        raise SourceError("history, diff and staged scans take one repository path")
    where = request.paths[0] if request.paths else Path(".")
    if not where.exists():
        raise SourceError(f"no such file or directory: {where}")
    top = gitrepo.toplevel(resolved_parent(where))
    if top is None:
        raise SourceError(f"not a git repository: {where}")
    return top


def _source(request: ScanRequest, root: Path, config: Config) -> Source:
    max_size = config.max_file_size
    if request.max_file_size is not None:
        max_size = request.max_file_size or None
    skip = _path_skip(config, request.include_paths, request.exclude_paths)
    if request.mode is Mode.STDIN:
        assert request.stdin is not None
        return StdinSource(request.stdin, request.stdin_name, max_size)
    if request.mode is Mode.HISTORY:
        return GitHistorySource(root, request.log_opts, max_size, skip)
    if request.mode is Mode.DIFF:
        base, head = resolve_range(root, request.diff_range, request.fetch)
        return DiffSource(root, base, head, max_size, skip)
    if request.mode is Mode.STAGED:
        return DiffSource(root, staged_base(root), None, max_size, skip)
    return FileSource(
        paths=request.paths or [Path(".")],
        root=root,
        max_size=max_size,
        use_git=request.use_git,
        skip=skip,
    )


def scan_root(paths: Sequence[Path]) -> Path:
    """The directory findings are named relative to, and where `.leakstop.yaml` is looked up:
    the work tree's top when every path is in one git work tree, else the scanned folder
    (or the folder the paths have in common)."""
    folders = []
    for path in paths:
        absolute = Path(resolved_parent(path))
        if not absolute.exists() and not absolute.is_symlink():
            raise SourceError(f"no such file or directory: {path}")
        folders.append(absolute if absolute.is_dir() else absolute.parent)
    top = gitrepo.toplevel(folders[0])
    if top is not None and all(_is_within(folder, top) for folder in folders):
        return top
    return Path(os.path.commonpath(folders))


def write_reports(
    result: ScanResult, targets: Sequence[ReportTarget], options: ReportOptions, stdout: TextIO
) -> None:
    for target in targets:
        reporter = REPORTERS[target.format]
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
        if target.format not in REPORTERS:
            known = ", ".join(REPORTERS)
            raise ReportError(f"unknown report format {target.format!r} (choose from {known})")
    if sum(target.destination == STDOUT for target in targets) > 1:
        raise ReportError("only one report can go to standard output; give the others a file")
    for target in targets:
        parent = Path(target.destination).parent
        if target.destination != STDOUT and not parent.is_dir():
            raise ReportError(f"cannot write report to {target.destination}: no such directory")


def _path_skip(config: Config, include: list[str], exclude: list[str]) -> Callable[[str], bool]:
    """Paths not to read at all: allowlisted for every rule, excluded, or not included."""
    global_lists = [a for a in config.allowlists if a.rules is None and a.paths is not None]
    included = pathspec.GitIgnoreSpec.from_lines(include) if include else None
    excluded = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None

    def skip(path: str) -> bool:
        name = printable_path(path)
        if included is not None and not included.match_file(name):
            return True
        if excluded is not None and excluded.match_file(name):
            return True
        return any(a.allows_path(path) for a in global_lists)

    return skip


def _is_within(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
    except ValueError:
        return False
    return True
