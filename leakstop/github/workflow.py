"""Talking to the Actions runner: step outputs, masks and the step summary.

Files and commands as documented in "Workflow commands for GitHub Actions".
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from leakstop.report.github import escape_data

#: Shorter values are not masked: they would hide common words in the log.
MIN_MASK = 6


def set_outputs(outputs: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> None:
    """Append to $GITHUB_OUTPUT with the delimiter syntax, safe for any value."""
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            delimiter = f"leakstop_{secrets.token_hex(8)}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> None:
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown)


def add_masks(values: Iterable[str], out: TextIO, environ: Mapping[str, str] = os.environ) -> int:
    """Ask the runner to mask each value in later log output; returns how many masks.

    `::add-mask::` writes the value itself, which only the Actions runner hides: outside
    GitHub Actions nothing is written. Multi-line values (private keys) are masked line by
    line, as the runner matches them; PEM marker lines and short lines are left alone, since
    masking them would blank ordinary log text. Each line is escaped as command data: the
    runner unescapes `%25`, `%0D` and `%0A` before it registers the mask, so a secret holding
    `%25` written raw would mask another string.
    """
    if environ.get("GITHUB_ACTIONS") != "true":
        return 0
    seen: set[str] = set()
    for value in values:
        for line in value.splitlines():
            line = line.strip()
            if len(line) >= MIN_MASK and not line.startswith("-----") and line not in seen:
                seen.add(line)
                out.write(f"::add-mask::{escape_data(line)}\n")
    out.flush()
    return len(seen)


def runner_temp(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("RUNNER_TEMP") or os.environ.get("TMPDIR") or "/tmp")
