"""How a change's config loosens the base's, and which findings its markers hide."""

from __future__ import annotations

from pathlib import Path

from leakstop.config import Config, load_config
from leakstop.scanner.weakening import config_changes, marker_in

BASE = """\
version: 1
max_file_size: 1MB
rules:
  - id: acme-key
    description: ACME API key
    regex: '\\b(?P<secret>acme_[a-z0-9]{16})\\b'
    keywords: [acme_]
    entropy: 2.0
  - id: beta-key
    description: Beta key
    regex: '\\b(?P<secret>beta_[a-z0-9]{16})\\b'
    keywords: [beta_]
"""


def _config(tmp_path: Path, name: str, text: str) -> Config:
    path = tmp_path / name
    path.write_text(text)
    return load_config(path)


def test_an_unchanged_config_loosens_nothing(tmp_path: Path) -> None:
    assert config_changes(_config(tmp_path, "a", BASE), _config(tmp_path, "b", BASE)) == []


def test_each_way_a_config_loosens_the_scan_is_named(tmp_path: Path) -> None:
    head = (
        BASE.replace("max_file_size: 1MB", "max_file_size: 10KB")
        .replace("entropy: 2.0", "entropy: 6.5")
        .split("  - id: beta-key")[0]
        + "allowlist:\n  paths: ['**']\n  stopwords: [prod]\n"
    )
    changes = config_changes(_config(tmp_path, "a", BASE), _config(tmp_path, "b", head))
    assert changes == [
        "adds an allowlist for every rule: paths **; stopwords prod",
        "disables 1 rule(s): beta-key",
        "raises rule acme-key's entropy minimum from 2.0 to 6.5",
        "lowers max_file_size from 1000000 to 10000 bytes: larger files are skipped",
    ]


def test_markers_are_found_on_the_line_or_the_line_before() -> None:
    data = b"a\nTOKEN=x # leakstop:allow\n# pragma: allowlist nextline secret\nKEY=y\nZ=z\n"
    assert [line for line in range(0, 7) if marker_in(data, line)] == [2, 4]
