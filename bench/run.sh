#!/usr/bin/env bash
# pnpm bench [options] [--json]: throughput, recovery time, then what the coordinator adds.
# Every option goes to all three parts; each takes the ones that apply to it and says which it
# leaves (bench/args.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  exec tsx -e 'import("./bench/args.ts").then((m) => console.log(m.usage()))'
fi
tsx bench/throughput.ts "$@"
tsx bench/recovery.ts "$@"
tsx bench/workflow.ts "$@"
