#!/usr/bin/env bash
# pnpm bench [options] [--json]: throughput (and with sync_interval: always), recovery time,
# what the coordinator adds, an agent pool's claims after many tasks, the coordinator's
# start-up after 1k and 100k finished runs, an MCP tool call against a defineTool one, keyed
# agents (10,000 keys through one process, activation), tasks/s without and with metrics and
# traces (medians over alternating rounds), what spend control (rate limits, daily budgets) adds per model call, then the
# web console's task page on a long history.
# Every option goes to every part; each takes the ones that apply to it and says which it
# leaves (bench/args.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  exec tsx -e 'import("./bench/args.ts").then((m) => console.log(m.usage()))'
fi
# Each part checks the issues' goals it measures; the run ends with them all in one table
# (on stderr with --json, so stdout stays one JSON object per part).
SPOOL_BENCH_GOALS="${SPOOL_BENCH_GOALS:-$(mktemp)}"
export SPOOL_BENCH_GOALS
goals_table() {
  if [[ " $* " == *" --json "* ]]; then tsx bench/goals.ts "$SPOOL_BENCH_GOALS" >&2; else tsx bench/goals.ts "$SPOOL_BENCH_GOALS"; fi
}
trap 'goals_table "$@"' EXIT
tsx bench/throughput.ts "$@"
tsx bench/recovery.ts "$@"
tsx bench/workflow.ts "$@"
tsx bench/pool.ts "$@"
tsx bench/coordinator-startup.ts "$@"
tsx bench/mcp.ts "$@"
tsx bench/keyed.ts "$@"
tsx bench/observability.ts "$@"
tsx bench/limits.ts "$@"
tsx bench/console.ts "$@"
