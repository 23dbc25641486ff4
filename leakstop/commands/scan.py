"""`leakstop scan`: connect config, source, engine, detector and reporters."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from leakstop.config import Config, find_config, load_config
from leakstop.errors import ReportError, SourceError
from leakstop.finding import DEFAULT_FINGERPRINT_KEY
from leakstop.report import ReportOptions
from leakstop.report.registry import REPORTERS
from leakstop.scanner.detector import Detector
from leakstop.scanner.engine import build_engine
from leakstop.scanner.runner import ScanResult, run_scan
from leakstop.scanner.sources import Source, gitrepo
from leakstop.scanner.sources.files import FileSource, resolved_parent
from leakstop.scanner.sources.stdin import StdinSource

log = logging.getLogger(__name__)

STDOUT = "-"


@dataclass(frozen=True)
class ReportTarget:
    format: str
    #: A file path, or "-" for standard output.
    destination: str


@dataclass
class ScanRequest:
    paths: list[Path] = field(default_factory=list)
    stdin: BinaryIO | None = None
    stdin_name: str = "<stdin>"
    config_path: Path | None = None
    use_git: bool = True
    #: Overrides the config's max_file_size when set; 0 means no limit.
    max_file_size: int | None = None
    reports: list[ReportTarget] = field(default_factory=lambda: [ReportTarget("text", STDOUT)])
    show_secrets: bool = False
    color: bool | None = None
    category: str = "leakstop"
    engine: str = "auto"


def scan(request: ScanRequest, stdout: TextIO) -> ScanResult:
    """Run one scan and write every requested report. Raises LeakstopError on bad input."""
    _check_reports(request.reports)
    paths = request.paths or ([] if request.stdin is not None else [Path(".")])
    root = scan_root(paths)
    config = load_config(find_config(request.config_path, root))
    detector = Detector(
        engine=build_engine(config.rules, request.engine),
        allowlists=config.allowlists,
        fingerprint_key=fingerprint_key(config, root),
    )
    max_size = config.max_file_size
    if request.max_file_size is not None:
        max_size = request.max_file_size or None
    source: Source
    if request.stdin is not None:
        source = StdinSource(request.stdin, request.stdin_name, max_size)
    else:
        source = FileSource(
            paths=paths,
            root=root,
            max_size=max_size,
            use_git=request.use_git,
            skip=_global_path_skip(config),
        )
    result = run_scan(source, detector, config.rules)
    options = ReportOptions(
        show_secrets=request.show_secrets,
        root=root,
        color=request.color,
        category=request.category,
    )
    write_reports(result, request.reports, options, stdout)
    return result


def scan_root(paths: Sequence[Path]) -> Path:
    """The directory findings are named relative to, and where `.leakstop.yaml` is looked up:
    the work tree's top when every path is in one git work tree, else the scanned folder
    (or the folder the paths have in common)."""
    if not paths:
        return Path.cwd()
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


def fingerprint_key(config: Config, root: Path) -> bytes:
    """`fingerprint.salt`, else the repository's root commit, else a fixed default.

    A shallow clone does not hold its root commit; there the default is used (set
    `fingerprint.salt` to keep fingerprints identical in shallow CI clones and full clones).
    """
    material: bytes | None = None
    if config.fingerprint_salt:
        material = b"salt:" + config.fingerprint_salt.encode()
    elif gitrepo.toplevel(root) is not None and not gitrepo.is_shallow(root):
        roots = gitrepo.root_commits(root)
        if roots:
            material = b"root:" + roots[0].encode()
    elif gitrepo.toplevel(root) is not None:
        log.info(
            "shallow clone: fingerprints use the default key; set fingerprint.salt in "
            ".leakstop.yaml to match fingerprints from full clones"
        )
    if material is None:
        return DEFAULT_FINGERPRINT_KEY
    return hashlib.sha256(DEFAULT_FINGERPRINT_KEY + b"\0" + material).digest()


def write_reports(
    result: ScanResult, targets: Sequence[ReportTarget], options: ReportOptions, stdout: TextIO
) -> None:
    for target in targets:
        reporter = REPORTERS[target.format]
        if target.destination == STDOUT:
            reporter(options).write(result, stdout)
            continue
        file_options = ReportOptions(
            show_secrets=options.show_secrets,
            root=options.root,
            color=False,
            category=options.category,
        )
        try:
            with ExitStack() as stack:
                handle = stack.enter_context(
                    open(target.destination, "w", encoding="utf-8", newline="\n")
                )
                reporter(file_options).write(result, handle)
        except OSError as exc:
            raise ReportError(
                f"cannot write report to {target.destination}: {exc.strerror}"
            ) from None


def _check_reports(targets: Sequence[ReportTarget]) -> None:
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


def _global_path_skip(config: Config) -> Callable[[str], bool]:
    global_lists = [a for a in config.allowlists if a.rules is None and a.paths is not None]

    def skip(path: str) -> bool:
        return any(a.allows_path(path) for a in global_lists)

    return skip


def _is_within(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
    except ValueError:
        return False
    return True


def stdin_binary() -> BinaryIO:
    return sys.stdin.buffer
