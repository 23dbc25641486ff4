#!/usr/bin/env bash
# Run `leakstop action` with the inputs; record whether the findings fail the job, so that
# the SARIF upload and the summary happen before the last step fails it.
set -euo pipefail
args=(action --mode "$INPUT_MODE" --path "$INPUT_PATH" --fail-on "$INPUT_FAIL_ON"
  --sarif-category "$INPUT_SARIF_CATEGORY")
if [ -n "$INPUT_CONFIG" ]; then args+=(--config "$INPUT_CONFIG"); fi
if [ -n "$INPUT_BASELINE" ]; then args+=(--baseline "$INPUT_BASELINE"); fi
add_lines() {
  local flag=$1 text=$2 line
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%$'\r'}"
    if [ -n "${line// /}" ]; then args+=("$flag" "$line"); fi
  done <<< "$text"
}
add_lines --include-path "$INPUT_INCLUDE_PATHS"
add_lines --exclude-path "$INPUT_EXCLUDE_PATHS"
add_lines --rules "$INPUT_EXTRA_RULES"
case "$INPUT_LOG_LEVEL" in
  debug) args+=(-vv) ;;
  info) args+=(-v) ;;
  error) args+=(-q) ;;
esac
if [ "$INPUT_ANNOTATIONS" != "true" ]; then args+=(--no-annotations); fi
if [ "$INPUT_SUMMARY" != "true" ]; then args+=(--no-summary); fi

status=0
"$LEAKSTOP" "${args[@]}" || status=$?
case $status in
  0) echo "failed=false" >> "$GITHUB_OUTPUT" ;;
  1) echo "failed=true" >> "$GITHUB_OUTPUT" ;;
  *) exit "$status" ;;
esac
