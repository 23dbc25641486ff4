"""`leakstop rules`: list the rules a scan would run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.table import Table

from leakstop.config import find_config, load_config
from leakstop.rules.checker import check_rules
from leakstop.rules.loader import load_builtin_rules, load_rule_files


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


def check_rule_files(paths: list[Path], alone: bool, out: TextIO) -> int:
    """Validate rule files and run each rule on its examples, next to the built-in rules
    unless `alone`. Returns the number of rules with problems."""
    rules = load_rule_files(paths)
    context = [] if alone else load_builtin_rules()
    problems = check_rules(rules, context)
    console = Console(file=out, highlight=False)
    for rule in rules:
        if rule.id in problems:
            console.print(f"[red]✗[/red] {rule.id} [dim]({rule.source})[/dim]")
            for problem in problems[rule.id]:
                console.print(f"    {problem}", markup=False)
        else:
            examples = len(rule.positives) + len(rule.negatives)
            console.print(f"[green]✓[/green] {rule.id} [dim]({examples} examples)[/dim]")
    console.print(f"{len(rules) - len(problems)} of {len(rules)} rules pass their examples")
    return len(problems)
