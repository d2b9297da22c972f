import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const NATS_INSTALL_HINT =
  'install it with "apt-get install nats-server" (or set NATS_SERVER_BIN to its path)';

/** The nats-server binary: NATS_SERVER_BIN, else PATH, /usr/sbin and /usr/local/bin; undefined if none. */
export function findNatsServerBinary(): string | undefined {
  const fromEnv = process.env.NATS_SERVER_BIN?.trim();
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/bin', '/usr/bin'];
  const candidates = fromEnv ? [fromEnv] : dirs.filter(Boolean).map((dir) => join(dir, 'nats-server'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The version a nats-server binary reports (`nats-server --version`: "nats-server: v2.9.10"), e.g. "2.9.10". */
export function natsServerVersion(binary: string): string | undefined {
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 });
    return /v?(\d+\.\d+\.\d+\S*)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}
