#!/usr/bin/env bash
# Run `leakstop rotations run` for a schedule workflow, in the checkout (the config is read
# from its default branch); the summary and outputs come from leakstop.
set -euo pipefail
cd "$INPUT_PATH"
args=(rotations run --github-summary)
if [ -n "$INPUT_CONFIG" ]; then args+=(--config "$INPUT_CONFIG"); fi
case "$INPUT_LOG_LEVEL" in
  debug) args+=(-vv) ;;
  info) args+=(-v) ;;
  error) args+=(-q) ;;
esac
"$LEAKSTOP" "${args[@]}"
