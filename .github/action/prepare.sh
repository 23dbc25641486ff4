#!/usr/bin/env bash
# Where the Action keeps leakstop's virtualenv and cache, and the cache key: OS, architecture,
# Python version and a digest of the action's own package, so a new release reinstalls.
set -euo pipefail
venv="${RUNNER_TEMP}/leakstop-venv"
bin=bin
exe=""
if [ "${RUNNER_OS:-}" = "Windows" ]; then
  bin=Scripts
  exe=.exe
fi
digest=$("$PYTHON" - "$ACTION_PATH" <<'PY'
import hashlib
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
digest = hashlib.sha256()
for path in sorted([root / "pyproject.toml", *(root / "leakstop").rglob("*")]):
    if path.is_file() and "__pycache__" not in path.parts:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
print(digest.hexdigest()[:20])
PY
)
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
{
  echo "venv=${venv}"
  echo "cache-dir=${RUNNER_TEMP}/leakstop-cache"
  echo "leakstop=${venv}/${bin}/leakstop${exe}"
  echo "cache-key=leakstop-${RUNNER_OS:-unknown}-${RUNNER_ARCH:-unknown}-py${version}-${digest}"
} >> "$GITHUB_OUTPUT"
