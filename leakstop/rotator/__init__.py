"""Responding to confirmed leaks: which issuer rotates or revokes what (policy), and later
the rotation machine and providers."""
