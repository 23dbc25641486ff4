"""`leakstop baseline create|update|import`: write a baseline of known findings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from leakstop import baseline as baselines
from leakstop import fingerprint_key
from leakstop.commands.scan import ScanRequest, prepare, run_prepared
from leakstop.config import find_config, load_config
from leakstop.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BaselineOutcome:
    path: Path
    kept: int
    added: int
    removed: int


def create(request: ScanRequest, output: Path) -> BaselineOutcome:
    """Scan and record every finding as known (status "unreviewed")."""
    request.baseline_path = None
    prepared = prepare(request)
    result = run_prepared(request, prepared)
    baseline = baselines.from_findings(result.findings, prepared.key.id)
    baselines.save(baseline, output)
    return BaselineOutcome(output, 0, len(baseline.entries), 0)


def update(request: ScanRequest, path: Path, keep_missing: bool) -> BaselineOutcome:
    """Rescan with the baseline's fingerprint key; add new findings, drop fixed ones."""
    existing = baselines.load(path)
    request.baseline_path = path
    prepared = prepare(request)
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
    config = load_config(find_config(config_path, root))
    key = fingerprint_key.resolve(config.fingerprint_salt, root)
    baseline = baselines.import_detect_secrets(source, key.id)
    baselines.save(baseline, output)
    return BaselineOutcome(output, 0, len(baseline.imported), 0)
