"""Fuzz one leakstop entry point: `python benchmarks/fuzz/fuzz.py TARGET [libFuzzer args]`.

TARGET is one of detector, decode, config, rules, baseline, audit, store. Under atheris the
leakstop package is instrumented for coverage; without it a hypothesis loop runs instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import main
from targets import TARGETS


def run(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in TARGETS:
        print(f"usage: fuzz.py {{{','.join(TARGETS)}}} [libFuzzer options]", file=sys.stderr)
        return 2
    name = argv[1]
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        target = TARGETS[name]()
    else:
        with atheris.instrument_imports(include=["leakstop"]):
            import leakstop.audit.verify
            import leakstop.baseline
            import leakstop.config
            import leakstop.scanner.detector
            import leakstop.store.local  # noqa: F401
        target = TARGETS[name]()
    return main(target, [argv[0], *argv[2:]])


if __name__ == "__main__":
    sys.exit(run(sys.argv))
