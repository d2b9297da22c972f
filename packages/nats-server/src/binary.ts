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
