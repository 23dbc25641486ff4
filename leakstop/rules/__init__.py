"""Rules as data: the YAML files in this folder and the loader that validates them."""

from leakstop.rules.loader import builtin_rule_files, load_builtin_rules, load_rule_files
from leakstop.rules.model import Example, Rule

__all__ = ["Example", "Rule", "builtin_rule_files", "load_builtin_rules", "load_rule_files"]
