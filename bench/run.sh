#!/usr/bin/env bash
# pnpm bench [--json]: throughput, then recovery time; arguments go to both.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsx bench/throughput.ts "$@"
npx tsx bench/recovery.ts "$@"
