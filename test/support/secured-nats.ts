import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type NatsServer, spawnNatsServer } from '@spool/testkit';

export interface User {
  readonly user: string;
  readonly password: string;
  /** A nats-server `permissions` object (as `spool permissions` prints it); none: everything. */
  readonly permissions?: unknown;
}

/** A real nats-server with JetStream whose `authorization` block holds exactly these users. */
export async function startSecuredNats(users: readonly User[]): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-secured-'));
  const config = join(dir, 'server.conf');
  // JSON is valid nats-server config syntax.
  writeFileSync(config, JSON.stringify({ authorization: { users } }, null, 2));
  const server = await spawnNatsServer({
    port: await freePort(),
    storeDir: join(dir, 'store'),
    args: ['-c', config],
  });
  const close = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { ...server, url: server.url, close, [Symbol.asyncDispose]: close };
}
