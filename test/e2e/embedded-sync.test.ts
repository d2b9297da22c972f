/**
 * The embedded server's durability choice: it is one replica, the only copy of every history,
 * so it fsyncs each JetStream write before acknowledging it (`sync_interval: always`) when its
 * nats-server takes the option (2.10+); an older one runs with the server's default (every 2
 * minutes), as nats-server 2.9.10 here does.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findNatsServerBinary,
  freePort,
  natsServerVersion,
  startEmbeddedNats,
  takesSyncAlways,
} from '@spool/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const realBinary = findNatsServerBinary() as string;
const savedBin = process.env.NATS_SERVER_BIN;

describe('embedded nats-server - sync_interval', () => {
  afterEach(() => {
    if (savedBin === undefined) delete process.env.NATS_SERVER_BIN;
    else process.env.NATS_SERVER_BIN = savedBin;
  });

  it('knows which servers take sync_interval: always', () => {
    expect(takesSyncAlways('2.9.10')).toBe(false);
    expect(takesSyncAlways('2.9.25')).toBe(false);
    expect(takesSyncAlways('2.10.0')).toBe(true);
    expect(takesSyncAlways('2.11.4')).toBe(true);
    expect(takesSyncAlways('3.0.0')).toBe(true);
    expect(takesSyncAlways(undefined)).toBe(false);
    expect(natsServerVersion(realBinary)).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('runs the installed server with the sync it can have', async () => {
    const storeDir = mkdtempSync(join(tmpdir(), 'spool-sync-'));
    const server = await startEmbeddedNats({ host: '127.0.0.1', port: await freePort(), storeDir });
    try {
      expect(server.sync).toBe(takesSyncAlways(natsServerVersion(realBinary)) ? 'always' : 'default');
    } finally {
      await server.stop();
    }
  });

  it('asks a 2.10+ server for sync_interval: always (here a 2.9 server dressed as 2.10 refuses it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-sync-'));
    const wrapper = join(dir, 'nats-server');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "nats-server: v2.10.0"; exit 0; fi\nexec ${realBinary} "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    process.env.NATS_SERVER_BIN = wrapper;
    const storeDir = join(dir, 'store');
    const started = startEmbeddedNats({ host: '127.0.0.1', port: await freePort(), storeDir });
    if (takesSyncAlways(natsServerVersion(realBinary))) {
      const server = await started;
      expect(server.sync).toBe('always');
      await server.stop();
    } else await expect(started).rejects.toThrow('unknown field "sync_interval"');
    // Asked not to, it does not.
    const plain = await startEmbeddedNats({
      host: '127.0.0.1',
      port: await freePort(),
      storeDir,
      syncAlways: false,
    });
    expect(plain.sync).toBe('default');
    await plain.stop();
  });
});
