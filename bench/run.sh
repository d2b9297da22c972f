#!/usr/bin/env bash
# pnpm bench [--json]: throughput, recovery time, then what the coordinator adds; arguments go to all three.
set -euo pipefail
cd "$(dirname "$0")/.."
tsx bench/throughput.ts "$@"
tsx bench/recovery.ts "$@"
tsx bench/workflow.ts "$@"
