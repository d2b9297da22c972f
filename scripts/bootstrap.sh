# Sourced by scripts/demo and scripts/test: installs what Spool needs on a fresh
# Debian-like machine, or says precisely what to install. Idempotent and quiet when
# everything is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PNPM_VERSION=$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' package.json)

say() { printf '[spool setup] %s\n' "$*" >&2; }
fail() { printf '[spool setup] error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi; }

# Node.js 20 or newer.
if ! command -v node >/dev/null; then
  fail "Node.js is not installed: install Node.js 20 or newer (e.g. apt-get install nodejs, or https://nodejs.org)"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node.js $(node --version) is too old: Spool needs Node.js 20 or newer"

# pnpm, the version pinned in package.json.
if ! command -v pnpm >/dev/null || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  say "installing pnpm@$PNPM_VERSION"
  npm install --global --silent "pnpm@$PNPM_VERSION" >/dev/null 2>&1 \
    || as_root npm install --global --silent "pnpm@$PNPM_VERSION" >/dev/null 2>&1 \
    || fail "could not install pnpm: run \"npm install --global pnpm@$PNPM_VERSION\" (or \"corepack enable\")"
fi

# Dependencies, exactly as locked.
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.pnpm/lock.yaml ]; then
  say "installing dependencies (pnpm install --frozen-lockfile)"
  pnpm install --frozen-lockfile --reporter=silent >&2 || fail "pnpm install failed: see the output above"
fi

# nats-server, for the embedded default and the tests (which start their own).
find_nats() { command -v nats-server 2>/dev/null || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; } || true; }
if [ -z "${NATS_SERVER_BIN:-}" ] && [ -z "$(find_nats)" ]; then
  if command -v apt-get >/dev/null; then
    say "installing nats-server (apt-get install nats-server)"
    { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server; } >/dev/null 2>&1 \
      || fail "could not install nats-server: run \"sudo apt-get install nats-server\" (or set NATS_SERVER_BIN to its path)"
  else
    fail "nats-server is not installed: install it (https://github.com/nats-io/nats-server/releases) or set NATS_SERVER_BIN to its path"
  fi
fi
