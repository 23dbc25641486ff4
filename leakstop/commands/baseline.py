"""`leakstop baseline create|update|import`: write a baseline of known findings."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from leakstop import baseline as baselines
from leakstop import fingerprint_key
from leakstop.commands.base import Outcome, Parser, say, scan_request, sources, verbosity
from leakstop.config import find_config, load_config
from leakstop.errors import ConfigError
from leakstop.scanner.session import ScanRequest, prepare, root_commit, run_prepared, scan_root

DEFAULT_BASELINE = ".leakstop-baseline.json"


@dataclass(frozen=True)
class BaselineOutcome:
    path: Path
    kept: int
    added: int
    removed: int


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    baseline = commands.add_parser(
        "baseline", help="record known findings so scans report only new ones"
    )
    actions = baseline.add_subparsers(
        dest="baseline_command", metavar="ACTION", parser_class=Parser
    )
    actions.required = True
    baseline.set_defaults(run=run)
    create_parser = actions.add_parser(
        "create",
        parents=[verbosity(), sources()],
        help="scan and write every finding to a new baseline",
    )
    create_parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    create_parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(DEFAULT_BASELINE),
        metavar="FILE",
        help=f"default: {DEFAULT_BASELINE}",
    )
    update_parser = actions.add_parser(
        "update",
        parents=[verbosity(), sources()],
        help="rescan: add new findings, drop fixed ones, keep reviews of the rest",
    )
    update_parser.add_argument("baseline", type=Path, metavar="BASELINE")
    update_parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    update_parser.add_argument(
        "--keep-missing", action="store_true", help="keep entries that are no longer found"
    )
    importer = actions.add_parser(
        "import", parents=[verbosity()], help="convert a detect-secrets .secrets.baseline"
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


def run(args: argparse.Namespace) -> Outcome:
    handler = {"create": _run_create, "update": _run_update, "import": _run_import}
    return handler[args.baseline_command](args)


def _run_create(args: argparse.Namespace) -> Outcome:
    outcome = create(scan_request(args), args.output)
    say(f"Wrote {outcome.added} findings to {outcome.path}. Review them, then commit the file.")
    return Outcome.CLEAN


def _run_update(args: argparse.Namespace) -> Outcome:
    outcome = update(scan_request(args), args.baseline, args.keep_missing)
    say(
        f"Updated {outcome.path}: {outcome.added} new, {outcome.kept} kept, "
        f"{outcome.removed} no longer found and removed."
    )
    return Outcome.CLEAN


def _run_import(args: argparse.Namespace) -> Outcome:
    outcome = import_detect_secrets(args.source, args.output, Path.cwd(), args.config)
    say(f"Imported {outcome.added} detect-secrets entries into {outcome.path}.")
    return Outcome.CLEAN


def create(request: ScanRequest, output: Path) -> BaselineOutcome:
    """Scan and record every finding as known (status "unreviewed")."""
    request = dataclasses.replace(request, baseline_path=None)
    prepared = prepare(request)
    result = run_prepared(request, prepared)
    baseline = baselines.from_findings(result.findings, prepared.key.id)
    baselines.save(baseline, output)
    return BaselineOutcome(output, 0, len(baseline.entries), 0)


def update(request: ScanRequest, path: Path, keep_missing: bool) -> BaselineOutcome:
    """Rescan with the baseline's fingerprint key; add new findings, drop fixed ones, and
    write it in the current version (an older one's entries are carried over)."""
    request = dataclasses.replace(request, baseline_path=path)
    prepared = prepare(request, warn_legacy_baseline=False)
    existing = prepared.baseline
    assert existing is not None
    result = run_prepared(request, prepared)
    kept, added, removed = existing.update(result.findings, keep_missing)
    baselines.save(existing, path)
    return BaselineOutcome(path, kept, added, removed)


def import_detect_secrets(
    source: Path, output: Path, root: Path, config_path: Path | None
) -> BaselineOutcome:
    """Convert a detect-secrets baseline; the new baseline uses this repository's key."""
    if output.exists():
        raise ConfigError(
            "refusing to overwrite an existing baseline; pass another -o", str(output)
        )
    repository = scan_root([root])
    config = load_config(find_config(config_path, repository))
    key = fingerprint_key.resolve(config.fingerprint_salt, None, root_commit(repository))
    baseline = baselines.import_detect_secrets(source, key.id)
    baselines.save(baseline, output)
    return BaselineOutcome(output, 0, len(baseline.imported), 0)
