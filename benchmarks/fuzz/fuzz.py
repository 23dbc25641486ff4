"""Fuzz one leakstop entry point: `python benchmarks/fuzz/fuzz.py TARGET [libFuzzer args]`.

TARGET is one of detector, decode, config, rules, baseline, audit, store. Under atheris the
leakstop package is instrumented for coverage; without it a hypothesis loop runs instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import main

#: The keys of targets.TARGETS, known before anything of leakstop is imported.
NAMES = ("detector", "decode", "config", "rules", "baseline", "audit", "store")


def run(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in NAMES:
        print(f"usage: fuzz.py {{{','.join(NAMES)}}} [libFuzzer options]", file=sys.stderr)
        return 2
    name = argv[1]
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        from targets import TARGETS
    else:
        # Nothing of leakstop may be imported before this: modules imported earlier are not
        # instrumented, and libFuzzer then sees almost no coverage (cov: 9 for baseline).
        with atheris.instrument_imports(include=["leakstop"]):
            from targets import TARGETS

            import leakstop.audit.verify
            import leakstop.baseline
            import leakstop.config
            import leakstop.scanner.detector
            import leakstop.store.local  # noqa: F401
    target = TARGETS[name]()
    return main(target, [argv[0], *argv[2:]])


if __name__ == "__main__":
    sys.exit(run(sys.argv))
