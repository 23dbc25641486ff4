"""leakstop: find leaked credentials, report them, rotate what is confirmed."""

__version__ = "0.1.0"
