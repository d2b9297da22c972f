import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The first nats-server that takes `jetstream { sync_interval: always }`. */
export const SYNC_ALWAYS_SINCE = '2.10.0';

/** Whether nats-server `version` (e.g. "2.9.10") takes `sync_interval: always`. */
export function takesSyncAlways(version: string | undefined): boolean {
  const parts = /^(\d+)\.(\d+)\.(\d+)/
    .exec(version ?? '')
    ?.slice(1, 4)
    .map(Number);
  if (parts === undefined) return false;
  const [major = 0, minor = 0] = parts;
  return major > 2 || (major === 2 && minor >= 10);
}

/**
 * How often the embedded server writes JetStream to disk: `always` (each write is fsynced before
 * it is acknowledged) when the binary takes it, else the server's default (every 2 minutes).
 */
export type EmbeddedSync = 'always' | 'default';

/**
 * The arguments that make a server fsync every JetStream write before acknowledging it: a config
 * file beside the store (`<storeDir>/spool-sync-always.conf`) holding `sync_interval: always`.
 */
export function syncAlwaysArgs(storeDir: string): string[] {
  mkdirSync(storeDir, { recursive: true });
  const file = join(storeDir, 'spool-sync-always.conf');
  writeFileSync(
    file,
    '# Written by Spool: fsync each JetStream write before acknowledging it (one replica: the only copy).\njetstream {\n  sync_interval: always\n}\n',
  );
  return ['-c', file];
}
