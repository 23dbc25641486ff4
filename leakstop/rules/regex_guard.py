"""Refuse user regexes that would hang a scan: nested or ambiguous repetition (exponential
backtracking in the confirm step) and repeat counts that explode a Hyperscan compile.

A static look at the parsed pattern, so it runs in microseconds at load time. It cannot see
every slow pattern; the confirm step's time budget (scanner/engine.py) is the backstop. Python's
own `re` parser reads the pattern: `regex`-only syntax it cannot parse is left to that budget.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

with warnings.catch_warnings():  # deprecated aliases of re._parser, kept through 3.13
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sre
    import sre_parse

#: The most one bounded repeat, or nested bounded repeats multiplied, may allow: a rule's
#: match is at most 64 KiB anyway (loader.MAX_RULE_LENGTH), and Hyperscan's compile time and
#: memory grow with the count.
MAX_REPEAT_EXPANSION = 65536
_DIGITS = set(range(0x30, 0x3A))
_WORD = _DIGITS | set(range(0x41, 0x5B)) | set(range(0x61, 0x7B)) | {0x5F}
_CATEGORIES = {
    sre.CATEGORY_DIGIT: _DIGITS,
    sre.CATEGORY_WORD: _WORD,
    sre.CATEGORY_SPACE: {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20},
}
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT) + (
    (sre.POSSESSIVE_REPEAT,) if hasattr(sre, "POSSESSIVE_REPEAT") else ()
)


def regex_hazard(source: str) -> str | None:
    """Why `source` could take exponential time or explode a Hyperscan compile, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = sre_parse.parse(source)
    except (sre.error, RecursionError, OverflowError, ValueError):
        return None
    return _walk(list(parsed.data), 1)


def _walk(items: list[tuple[Any, Any]], expansion: int) -> str | None:
    for op, argument in items:
        if op in _REPEATS:
            _low, high, body = argument
            body = list(body)
            unbounded = high == sre.MAXREPEAT
            if not unbounded:
                total = expansion * max(high, 1)
                if total > MAX_REPEAT_EXPANSION:
                    return (
                        f"repetition allows {total} repeats (at most {MAX_REPEAT_EXPANSION}): "
                        "Hyperscan's compile would take too long"
                    )
            if unbounded or high > 1:
                problem = _ambiguous_body(body)
                if problem is not None:
                    return problem
            found = _walk(body, expansion if unbounded else expansion * max(high, 1))
            if found is not None:
                return found
        elif op == sre.SUBPATTERN:
            found = _walk(list(argument[-1]), expansion)
            if found is not None:
                return found
        elif op == sre.BRANCH:
            for branch in argument[1]:
                found = _walk(list(branch), expansion)
                if found is not None:
                    return found
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = _walk(list(argument[1]), expansion)
            if found is not None:
                return found
    return None


def _ambiguous_body(body: list[tuple[Any, Any]]) -> str | None:
    """A repeated body that can match one string in many ways: an unbounded repeat next to
    nothing that must match (`(a+)+`, `(?:\\w+\\s*)*`), two unbounded repeats of the same
    characters in a row (`(x+x+)+`), or an optional alternative that repeats what came before
    it (`(a|aa)+`, which the parser stores as `a(?:|a)`)."""
    core = _single_group([item for item in body if not _can_be_empty(item)])
    if len(core) == 1 and _unbounded(core[0]):
        return (
            "nested repetition such as (a+)+ can take exponential time: drop the inner or outer +/*"
        )
    flat = _single_group(body)
    for one, other in itertools.pairwise(flat):
        if _unbounded(one) and (other[0] in _REPEATS) and _overlap([one], [other]):
            return (
                "two repeats of the same characters in a row inside a repetition, such as "
                "(x+x+)+, can take exponential time: merge them"
            )
    for index, (op, argument) in enumerate(flat):
        if op != sre.BRANCH:
            continue
        branches = [list(branch) for branch in argument[1]]
        # `a(?:|a)`: the text after the prefix may start like the prefix itself.
        optional = any(not branch for branch in branches) and index > 0
        if optional and any(_overlap(flat[:index], branch) for branch in branches if branch):
            return _AMBIGUOUS_ALTERNATIVES
        # Alternatives that merely start with the same byte (`\\/|\\u002B`) are common and
        # rarely slow; comparing first bytes would refuse them, so they are left to the budget.
    return None


_AMBIGUOUS_ALTERNATIVES = (
    "repeated alternatives that can match the same text, such as (a|aa)+, can take "
    "exponential time: make the alternatives start differently"
)


def _unbounded(item: tuple[Any, Any]) -> bool:
    return item[0] in _REPEATS and item[1][1] == sre.MAXREPEAT


def _overlap(one: list[tuple[Any, Any]], other: list[tuple[Any, Any]]) -> bool:
    """Both can start with the same byte, as far as can be told (unknown: no)."""
    first, second = _first_chars(one), _first_chars(other)
    return first is not None and second is not None and bool(first & second)


def _single_group(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    while len(items) == 1 and items[0][0] == sre.SUBPATTERN:
        items = [item for item in items[0][1][-1] if not _can_be_empty(item)]
    return items


def _can_be_empty(item: tuple[Any, Any]) -> bool:
    op, argument = item
    if op in _REPEATS:
        return bool(argument[0] == 0)
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return True
    if op == sre.SUBPATTERN:
        return all(_can_be_empty(i) for i in argument[-1])
    return False


def _first_chars(items: list[tuple[Any, Any]]) -> set[int] | None:
    """The bytes a match of `items` can start with; None when too hard to say (any)."""
    for op, argument in items:
        if op == sre.LITERAL:
            return {argument}
        if op == sre.IN:
            chars: set[int] = set()
            for kind, value in argument:
                if kind == sre.LITERAL:
                    chars.add(value)
                elif kind == sre.RANGE:
                    chars.update(range(value[0], value[1] + 1))
                elif kind == sre.CATEGORY and value in _CATEGORIES:
                    chars.update(_CATEGORIES[value])
                else:
                    return None
            return chars
        if op in _REPEATS:
            first = _first_chars(list(argument[2]))
            if argument[0] > 0 or first is None:
                return first
            rest = _first_chars(items[items.index((op, argument)) + 1 :])
            return None if rest is None else first | rest
        if op == sre.SUBPATTERN:
            return _first_chars(list(argument[-1]))
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        return None
    return None
