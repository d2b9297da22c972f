import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { isNatsReachable, redactUrl } from '@spool/jetstream';
import { findNatsServerBinary, findOrphan, startEmbeddedNats } from '@spool/nats-server';
import type { Logger } from 'pino';
import type { NatsTarget } from './env.ts';

export interface NatsEndpoint {
  /** Where to connect: the target, or the embedded server that now serves it. */
  readonly target: NatsTarget;
  /** The servers, safe to show (no userinfo). */
  readonly url: string;
  /** True when this process runs the server (it started it, or adopted one left behind) and stops it on exit. */
  readonly embedded: boolean;
  stop(): Promise<void>;
}

/** Where `spool up` keeps the embedded server's data. */
export const EMBEDDED_DATA_DIR = '.spool/nats';

const LOCAL_HOSTS = ['127.0.0.1', 'localhost', '::1', '[::1]'];

/**
 * The embedded default: use the server at `url` if one answers, else start
 * `nats-server -js` on that host and port with its data under `.spool/`, so that every
 * later command (NATS_URL unchanged) finds the same server and the same histories.
 * A server an earlier `spool` left behind on that data (it was SIGKILLed) is adopted when it
 * serves `url`, and stopped otherwise: never two servers on one data directory.
 */
export async function ensureNats(target: NatsTarget, logger: Logger): Promise<NatsEndpoint> {
  const url = redactUrl(target.url);
  const storeDir = resolve(EMBEDDED_DATA_DIR);
  const first = new URL((target.url.split(',')[0] ?? '').trim().replace(/^[a-z]+:/i, 'http:'));
  const host = first.hostname || '127.0.0.1';
  const port = Number(first.port || 4222);
  const orphan = findOrphan(storeDir);
  if (await isNatsReachable(target.url, 1_500)) {
    if (orphan === undefined || orphan.url !== `nats://127.0.0.1:${port}`) {
      logger.debug({ url }, 'using the NATS server that answers at NATS_URL');
      return { target, url, embedded: false, stop: async () => undefined };
    }
  } else if (target.url.includes(',') || !LOCAL_HOSTS.includes(host)) {
    throw new Error(
      `no NATS server answers at ${url}; start it there, or unset NATS_URL to use a local embedded one`,
    );
  }
  if (orphan === undefined && findNatsServerBinary() === undefined) {
    throw new Error(
      `no NATS server answers at ${url} and nats-server is not installed: run "apt-get install nats-server" (or set NATS_SERVER_BIN, or NATS_URL to a running server)`,
    );
  }
  mkdirSync(storeDir, { recursive: true });
  const server = await startEmbeddedNats({
    host: '127.0.0.1',
    port,
    storeDir,
    onOrphan: (found, action) =>
      logger.warn(
        { pid: found.pid, url: found.url, storeDir, startedAt: found.startedAt },
        action === 'reused'
          ? 'adopted the embedded nats-server an earlier spool left running on this data; it stops with this one'
          : 'stopped the embedded nats-server an earlier spool left running on this data (another address)',
      ),
  });
  if (!server.adopted)
    logger.info(
      {
        url,
        storeDir,
        // One replica, the only copy: fsync each write when the server can (2.10+).
        sync:
          server.sync === 'always'
            ? 'always'
            : 'every 2 minutes (nats-server before 2.10 cannot fsync each write)',
      },
      'no NATS server answered; started an embedded nats-server -js',
    );
  // A CLI that dies without stopping it (a closed pipe: `spool replay … | head`, a signal) must
  // not leave the server behind; only SIGKILL of the CLI can, and the next start adopts it.
  const stopOnExit = () => {
    if (server.pid === undefined) return;
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', stopOnExit);
  return {
    target: { ...target, url: server.url },
    url: server.url,
    embedded: true,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      await server.stop();
    },
  };
}
