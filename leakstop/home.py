"""Where leakstop keeps its state: `$LEAKSTOP_HOME`, else the user data directory.

One home for everything that must outlive a run: `audit/` (the audit trail), `store/` (the
local encrypted store). The cache (compiled rule databases) lives apart, in the user cache
directory: it can always be rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

HOME_VARIABLE = "LEAKSTOP_HOME"


def home(environ: Mapping[str, str] = os.environ) -> Path:
    """`$LEAKSTOP_HOME`, else the platform's user data folder for leakstop (not created)."""
    override = environ.get(HOME_VARIABLE)
    if override:
        return Path(override).expanduser()
    import platformdirs  # ~10 ms of start-up that a scan never needs

    return Path(platformdirs.user_data_dir("leakstop", appauthor=False))
