#!/usr/bin/env bash
# pnpm bench [--json]: throughput, then recovery time; arguments go to both.
set -euo pipefail
cd "$(dirname "$0")/.."
tsx bench/throughput.ts "$@"
tsx bench/recovery.ts "$@"
