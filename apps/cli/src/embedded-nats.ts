import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { isNatsReachable } from '@spool/jetstream';
import { findNatsServerBinary, spawnNatsServer } from '@spool/testkit';
import type { Logger } from 'pino';

export interface NatsEndpoint {
  readonly url: string;
  /** True when this process started the server (and stops it on exit). */
  readonly embedded: boolean;
  stop(): Promise<void>;
}

/** Where `spool up` keeps the embedded server's data. */
export const EMBEDDED_DATA_DIR = '.spool/nats';

/**
 * The embedded default: use the server at `url` if one answers, else start
 * `nats-server -js` on that host and port with its data under `.spool/`, so that every
 * later command (NATS_URL unchanged) finds the same server and the same histories.
 */
export async function ensureNats(url: string, logger: Logger): Promise<NatsEndpoint> {
  if (await isNatsReachable(url, 1_500)) {
    logger.debug({ url }, 'using the NATS server that answers at NATS_URL');
    return { url, embedded: false, stop: async () => undefined };
  }
  const target = new URL(url.replace(/^nats:/, 'http:'));
  const host = target.hostname || '127.0.0.1';
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    throw new Error(
      `no NATS server answers at ${url}; start it there, or unset NATS_URL to use a local embedded one`,
    );
  }
  const binary = findNatsServerBinary();
  if (binary === undefined) {
    throw new Error(
      `no NATS server answers at ${url} and nats-server is not installed: run "apt-get install nats-server" (or set NATS_SERVER_BIN, or NATS_URL to a running server)`,
    );
  }
  const storeDir = resolve(EMBEDDED_DATA_DIR);
  mkdirSync(storeDir, { recursive: true });
  const port = Number(target.port || 4222);
  logger.info({ url, storeDir }, 'no NATS server answered; starting an embedded nats-server -js');
  const server = await spawnNatsServer({ host: '127.0.0.1', port, storeDir });
  // A CLI that dies without stopping it (a closed pipe: `spool replay … | head`) must not leave
  // the server behind; only SIGKILL of the CLI can, as nothing runs then.
  const stopOnExit = () => {
    if (server.pid !== undefined) {
      try {
        process.kill(server.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', stopOnExit);
  return {
    url: server.url,
    embedded: true,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      await server.stop();
    },
  };
}
