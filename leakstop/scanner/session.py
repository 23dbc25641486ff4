"""One scan from request to result: config, rules, baseline, fingerprint key, engine, source.

`ScanRequest` says what to scan and is built once by its caller (the CLI, the Action, the
baseline commands) and never changed afterwards; `prepare` resolves it, `execute` runs it.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pathspec

from leakstop import baseline as baselines
from leakstop import fingerprint_key, gitcli
from leakstop.config import Config, find_config, load_config
from leakstop.errors import RuleError, SourceError
from leakstop.finding import Finding, printable_path
from leakstop.progress import ScanProgress
from leakstop.results import ScanResult
from leakstop.rules.loader import load_rule_files
from leakstop.scanner import parallel
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine
from leakstop.scanner.parallel import DetectorRecipe
from leakstop.scanner.runner import run_scan
from leakstop.scanner.sources import Source
from leakstop.scanner.sources.diff import DiffSource, resolve_range, staged_base
from leakstop.scanner.sources.files import FileSource, resolved_parent
from leakstop.scanner.sources.history import GitHistorySource
from leakstop.scanner.sources.stdin import StdinSource

log = logging.getLogger(__name__)


class Mode(str, enum.Enum):
    FILES = "files"
    STDIN = "stdin"
    HISTORY = "history"
    DIFF = "diff"
    STAGED = "staged"


@dataclass(frozen=True)
class ScanRequest:
    mode: Mode = Mode.FILES
    paths: tuple[Path, ...] = ()
    stdin: BinaryIO | None = None
    stdin_name: str = "<stdin>"
    #: `git log` options for history scans, as a user typed them (`--log-opts`).
    log_opts: tuple[str, ...] = ()
    #: Revisions for history scans from a program (an event): after `--end-of-options`.
    revisions: tuple[str, ...] = ()
    #: BASE..HEAD for diff scans.
    diff_range: str = ""
    #: Fetch commits a shallow clone lacks for a diff scan.
    fetch: bool = False
    config_path: Path | None = None
    #: More rule files, added to the config's rules (an id already in use is an error).
    rule_files: tuple[Path, ...] = ()
    #: gitignore-style patterns: scan only matching paths / never scan matching paths.
    include_paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    use_git: bool = True
    #: Overrides the config's max_file_size when set; 0 means no limit.
    max_file_size: int | None = None
    baseline_path: Path | None = None
    engine: str = "auto"
    #: Worker processes; None: one per available core.
    jobs: int | None = None
    #: Show a progress line (the CLI decides: a terminal, not CI, not -q).
    progress: bool = False
    #: False: `leakstop:allow` markers do not hide a secret (to see what a change silences).
    honor_inline_allow: bool = True


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
    jobs = request.jobs or parallel.default_jobs()
    with ExitStack() as stack:
        progress = None
        if request.progress:
            progress = stack.enter_context(ScanProgress(prepared.source.unit))
        return run_scan(
            prepared.source,
            prepared.detector,
            prepared.config.rules,
            jobs,
            prepared.recipe,
            progress,
        )


def prepare(request: ScanRequest, *, warn_legacy_baseline: bool = True) -> Prepared:
    """Resolve `request`; `warn_legacy_baseline=False` when the caller is about to upgrade
    the baseline (`baseline update`), which is what the warning asks for."""
    root = _root(request)
    config = load_config(find_config(request.config_path, root))
    if request.rule_files:
        config = with_extra_rules(config, request.rule_files)
    baseline = None
    if request.baseline_path is not None:
        password_rules = {rule.id for rule in config.rules if rule.password_like}
        baseline = baselines.load(request.baseline_path, password_rules, warn=warn_legacy_baseline)
    key = fingerprint_key.resolve(
        config.fingerprint_salt,
        baseline.fingerprint_key if baseline else None,
        root_commit(root),
    )
    engine = build_engine(config.rules, request.engine)
    recipe = DetectorRecipe(
        rules=tuple(config.rules),
        allowlists=tuple(config.allowlists),
        fingerprint_key=key.key,
        engine=engine.name,
        honor_inline_allow=request.honor_inline_allow,
    )
    detector = Detector(engine, config.allowlists, key.key, request.honor_inline_allow)
    source = _source(request, root, config, engine.path_group)
    return Prepared(root, config, source, detector, recipe, key, baseline)


def with_extra_rules(config: Config, files: Sequence[Path]) -> Config:
    """`config` plus the rules in `files`. They add rules and never replace one: otherwise a
    rule file (say, from a pull request) could redefine `github-pat` to match nothing."""
    taken = {rule.id: rule for rule in config.rules}
    extra = load_rule_files(files)
    for rule in extra:
        if rule.id in taken:
            raise RuleError(
                f"the id is already used by {_origin(taken[rule.id].source)}: extra rule files "
                "add rules, they cannot replace one (change or disable a rule in the config)",
                rule.source,
                rule.id,
            )
    return dataclasses.replace(config, rules=(*config.rules, *extra))


def _origin(source: str) -> str:
    return "a built-in rule" if "leakstop/rules/" in source.replace(os.sep, "/") else source


def root_commit(root: Path) -> str | None:
    """The repository's root commit, the default fingerprint key; None outside a repository
    and in a shallow clone, which lacks it."""
    if gitcli.toplevel(root) is None:
        return None
    if gitcli.is_shallow(root):
        log.info(
            "shallow clone: fingerprints use the default key (set fingerprint.salt, or scan "
            "with a baseline, to match fingerprints from full clones)"
        )
        return None
    roots = gitcli.root_commits(root)
    return roots[0] if roots else None


def _root(request: ScanRequest) -> Path:
    if request.mode is Mode.STDIN:
        return Path.cwd()
    if request.mode is Mode.FILES:
        return scan_root(request.paths or (Path("."),))
    if len(request.paths) > 1:
        raise SourceError("history, diff and staged scans take one repository path")
    where = request.paths[0] if request.paths else Path(".")
    if not where.exists():
        raise SourceError(f"no such file or directory: {where}")
    top = gitcli.toplevel(resolved_parent(where))
    if top is None:
        raise SourceError(f"not a git repository: {where}")
    return top


def _source(
    request: ScanRequest, root: Path, config: Config, path_group: Callable[[str], str]
) -> Source:
    max_size = config.max_file_size
    if request.max_file_size is not None:
        max_size = request.max_file_size or None
    skip = _path_skip(config, request.include_paths, request.exclude_paths)
    if request.mode is Mode.STDIN:
        assert request.stdin is not None
        return StdinSource(request.stdin, request.stdin_name, max_size)
    if request.mode is Mode.HISTORY:
        return GitHistorySource(
            root, list(request.log_opts), list(request.revisions), max_size, skip, path_group
        )
    if request.mode is Mode.DIFF:
        base, head = resolve_range(root, request.diff_range, request.fetch)
        return DiffSource(root, base, head, max_size, skip)
    if request.mode is Mode.STAGED:
        return DiffSource(root, staged_base(root), None, max_size, skip)
    return FileSource(
        paths=list(request.paths or (Path("."),)),
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
    top = gitcli.toplevel(folders[0])
    if top is not None and all(_is_within(folder, top) for folder in folders):
        return top
    return Path(os.path.commonpath(folders))


def _path_skip(
    config: Config, include: Sequence[str], exclude: Sequence[str]
) -> Callable[[str], bool]:
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
