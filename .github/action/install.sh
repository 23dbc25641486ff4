#!/usr/bin/env bash
# Install leakstop from the action's own checkout into a virtualenv (cached between runs).
set -euo pipefail
"$PYTHON" -m venv "$VENV"
bin=bin
if [ "${RUNNER_OS:-}" = "Windows" ]; then
  bin=Scripts
fi
"$VENV/$bin/python" -m pip install --quiet --disable-pip-version-check "$ACTION_PATH"
