"""`leakstop rules`: list the rules a scan would run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.table import Table

from leakstop.config import find_config, load_config


def list_rules(config_path: Path | None, fmt: str, out: TextIO) -> None:
    config = load_config(find_config(config_path, Path.cwd()))
    if fmt == "json":
        rows = [
            {
                "id": rule.id,
                "description": rule.description,
                "severity": rule.severity.value,
                "tags": list(rule.tags),
                "validator": rule.validator,
                "generic": rule.generic,
            }
            for rule in config.rules
        ]
        json.dump(rows, out, indent=2)
        out.write("\n")
        return
    table = Table(title=f"{len(config.rules)} rules", show_lines=False)
    table.add_column("id", style="magenta", no_wrap=True)
    table.add_column("severity")
    table.add_column("description")
    for rule in config.rules:
        table.add_row(rule.id, rule.severity.value, rule.description)
    Console(file=out, highlight=False).print(table)
