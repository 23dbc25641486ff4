#!/usr/bin/env bash
# Run `leakstop respond` for the event's scan: plan, or apply an approved plan. The guards
# (no apply for pull requests or forks, config from the default branch, masked credentials)
# are in leakstop itself; this only turns the inputs into arguments.
set -euo pipefail
case "$INPUT_RESPOND" in
  plan) args=(respond --github-event --dry-run) ;;
  apply) args=(respond --github-event --apply) ;;
  *)
    echo "::error title=leakstop::The respond input must be plan or apply."
    exit 2
    ;;
esac
args+=(--plan-out "${RUNNER_TEMP}/leakstop/plan.json")
if [ -n "$INPUT_PLAN_DIGEST" ]; then args+=(--expect-digest "$INPUT_PLAN_DIGEST"); fi
if [ -n "$INPUT_CONFIG" ]; then args+=(--config "$INPUT_PATH/$INPUT_CONFIG"); fi
add_lines() {
  local flag=$1 text=$2 line
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%$'\r'}"
    if [ -n "${line// /}" ]; then args+=("$flag" "$line"); fi
  done <<< "$text"
}
add_lines --include-path "$INPUT_INCLUDE_PATHS"
add_lines --exclude-path "$INPUT_EXCLUDE_PATHS"
case "$INPUT_LOG_LEVEL" in
  debug) args+=(-vv) ;;
  info) args+=(-v) ;;
  error) args+=(-q) ;;
esac
"$LEAKSTOP" "${args[@]}" -- "$INPUT_PATH"
