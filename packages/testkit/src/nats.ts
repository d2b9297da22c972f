import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type NatsServer, spawnNatsServer } from '@spool/nats-server';

/** Starts a throwaway nats-server for a test: free port, temporary store, removed on close. */
export async function startNats(
  options: { storeDir?: string; port?: number; args?: string[] } = {},
): Promise<NatsServer> {
  const ownDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'spool-nats-'));
  const port = options.port ?? (await freePort());
  const server = await spawnNatsServer({ port, storeDir, ...(options.args ? { args: options.args } : {}) });
  const close = async () => {
    await server.stop();
    if (ownDir) rmSync(storeDir, { recursive: true, force: true });
  };
  return {
    url: server.url,
    host: server.host,
    port: server.port,
    storeDir,
    get pid() {
      return server.pid;
    },
    stop: () => server.stop(),
    kill: () => server.kill(),
    restart: () => server.restart(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
