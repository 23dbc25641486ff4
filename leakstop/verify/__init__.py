"""Live verification: does a found credential still work at its issuer?

Each verifier declares the hosts it may contact and turns one credential into read-only "who
am I" requests (`registry.VERIFIERS`); `runner.verify_findings` runs them for a scan. Kept
free of imports, as `leakstop.finding` imports `verify.model`.
"""
