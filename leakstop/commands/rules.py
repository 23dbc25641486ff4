"""`leakstop rules list|check`: the rules a scan runs; validate custom rule files."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from leakstop.commands.base import Outcome, Parser, verbosity
from leakstop.config import find_config, load_config
from leakstop.rules.loader import load_builtin_rules, load_rule_files
from leakstop.textsafe import sanitize


def register(commands: argparse._SubParsersAction[Parser]) -> None:
    rules = commands.add_parser("rules", help="list rules, or check rule files")
    rules.set_defaults(run=run)
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION", parser_class=Parser)
    actions.required = True
    listing = actions.add_parser("list", parents=[verbosity()], help="list the rules a scan runs")
    listing.add_argument(
        "-c", "--config", type=Path, metavar="FILE", help="config file whose rules to list"
    )
    listing.add_argument("-f", "--format", choices=["text", "json"], default="text")
    check = actions.add_parser(
        "check",
        parents=[verbosity()],
        help="validate rule files and run each rule on its examples",
        description="Validate rule files and run every rule on its own positive and negative "
        "examples, on every available engine. Exit code 1 if any rule fails.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument(
        "--alone", action="store_true", help="do not run the built-in rules alongside"
    )


def run(args: argparse.Namespace) -> Outcome:
    if args.rules_command == "list":
        list_rules(args.config, args.format, sys.stdout)
        return Outcome.CLEAN
    failed = check_rule_files(args.files, args.alone, sys.stdout)
    return Outcome.FAILED if failed else Outcome.CLEAN


def list_rules(config_path: Path | None, fmt: str, out: TextIO) -> None:
    config = load_config(find_config(config_path, Path.cwd()))
    if fmt == "json":
        rows = [
            {
                "id": rule.id,
                "category": rule_category(rule.source),
                "description": rule.description,
                "severity": rule.severity.value,
                "tags": list(rule.tags),
                "validator": rule.validator,
                "generic": rule.generic,
            }
            for rule in config.rules
        ]
        categories = Counter(str(row["category"]) for row in rows)
        listing = {
            "total": len(rows),
            "categories": dict(sorted(categories.items())),
            "rules": rows,
        }
        json.dump(listing, out, indent=2)
        out.write("\n")
        return
    # rich is imported for these listings only, not with every command (~20 ms).
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(config.rules)} rules", show_lines=False)
    table.add_column("id", style="magenta", no_wrap=True)
    table.add_column("severity")
    table.add_column("description")
    for rule in config.rules:
        table.add_row(rule.id, rule.severity.value, sanitize(rule.description))
    Console(file=out, highlight=False).print(table)


def rule_category(source: str) -> str:
    """A rule's category is the name of the file that holds it (`ai`, `payment`, ...)."""
    return Path(source).stem if source else "config"


def check_rule_files(paths: list[Path], alone: bool, out: TextIO) -> int:
    """Validate rule files and run each rule on its examples, next to the built-in rules
    unless `alone`. Returns the number of rules with problems."""
    rules = load_rule_files(paths)
    context = [] if alone else load_builtin_rules()
    from leakstop.scanner.rule_check import check_rules  # the checker builds engines

    problems = check_rules(rules, context)
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=out, highlight=False)
    for rule in rules:
        if rule.id in problems:
            console.print(f"[red]✗[/red] {rule.id} [dim]({escape(sanitize(rule.source))})[/dim]")
            for problem in problems[rule.id]:
                console.print(f"    {sanitize(problem)}", markup=False)
        else:
            examples = len(rule.positives) + len(rule.negatives)
            console.print(f"[green]✓[/green] {rule.id} [dim]({examples} examples)[/dim]")
    console.print(f"{len(rules) - len(problems)} of {len(rules)} rules pass their examples")
    return len(problems)
