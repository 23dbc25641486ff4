"""Hypothesis profiles for the fuzz tests: `ci` (the default: the folder runs in well under a
minute on 2 cores) and `dev` (`HYPOTHESIS_PROFILE=dev`: many more examples, for a local hunt).

Every test here runs through `fuzz_settings`, which scales the test's own example count by the
profile, so a slow entry point (a scan with 1,069 rules) and a fast one (a decoder) both stay
bounded in CI."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: Examples per test are multiplied by this; `dev` hunts 20 times longer.
SCALE = {"ci": 1, "dev": 20}

# The autouse fixtures of tests/conftest.py (a private LEAKSTOP_HOME per test) are function
# scoped; these tests make their own temporary folders per example and do not depend on them.
_COMMON = {
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "deadline": None,
    "print_blob": True,
}
settings.register_profile("ci", max_examples=100, derandomize=False, **_COMMON)
settings.register_profile("dev", max_examples=2000, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in SCALE:
    raise ValueError(f"HYPOTHESIS_PROFILE must be one of {', '.join(SCALE)}, not {PROFILE!r}")
settings.load_profile(PROFILE)
