"""Runs one fuzz target: under atheris (coverage-guided libFuzzer) when it is installed, else
a hypothesis-driven loop over random bytes for the same time.

A target takes bytes and returns normally for any input, raising only the errors its entry
point documents (which it catches itself); anything else escapes, and the run stops with the
input that caused it (atheris writes `crash-<sha1>`, the fallback prints the bytes).

Arguments follow libFuzzer: `-max_total_time=SECONDS`, `-runs=N`, a corpus folder. The
fallback reads the first two and ignores the rest.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

Target = Callable[[bytes], None]


def main(target: Target, argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        return _fallback(target, args)
    atheris.Setup(args, target)
    atheris.Fuzz()
    return 0  # atheris.Fuzz() exits the process itself


def _option(args: Sequence[str], name: str) -> int | None:
    for arg in args:
        if arg.startswith(f"-{name}="):
            return int(arg.split("=", 1)[1])
    return None


def _fallback(target: Target, args: Sequence[str]) -> int:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    seconds = _option(args, "max_total_time") or 10
    runs = _option(args, "runs")
    deadline = time.monotonic() + seconds
    executions = 0

    # Rounds of 200 examples, each with a fresh random seed, until time or runs run out.
    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.binary(max_size=4096))
    def round_of_examples(data: bytes) -> None:
        nonlocal executions
        executions += 1
        target(data)

    started = time.monotonic()
    while time.monotonic() < deadline and (runs is None or executions < runs):
        round_of_examples()
    elapsed = time.monotonic() - started
    print(f"fallback (no atheris): {executions} executions in {elapsed:.1f} s", file=sys.stderr)
    return 0
