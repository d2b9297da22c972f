import { Socket } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { encoder, register } from './internal.ts';
import type { ConnectOptions, SpoolConnection } from './types.ts';

/** No NATS server answered the first connect (as opposed to one that answers without JetStream). */
export class NatsUnreachableError extends Error {
  override readonly name = 'NatsUnreachableError';
}

/**
 * Connects with reconnect-forever (a broker restart never ends an agent), checks that
 * JetStream is enabled, and reports connection changes through the logger.
 */
export async function connect(options: ConnectOptions): Promise<SpoolConnection> {
  const { url, name, logger } = options;
  let nc: Awaited<ReturnType<typeof natsConnect>>;
  try {
    nc = await natsConnect({
      // NATS_URL may list a cluster's servers, comma-separated, as the NATS tools read it.
      servers: url.split(',').map((server) => server.trim()).filter(Boolean),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: options.connectTimeoutMs ?? 5_000,
    });
  } catch (err) {
    throw new NatsUnreachableError(
      `no NATS server answers at ${url} (${err instanceof Error ? err.message : String(err)}): start one (nats-server -js) or set NATS_URL`,
    );
  }
  const jsm = await jetstreamManager(nc, { timeout: 10_000 }).catch(async (err) => {
    await nc.close();
    throw new Error(
      `the NATS server at ${url} has JetStream disabled or unavailable (${err instanceof Error ? err.message : String(err)}): start it with -js`,
    );
  });
  const js = jetstream(nc, { timeout: 10_000 });
  const reconnectListeners = new Set<() => void>();
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect')
        logger?.warn({ server: status.server }, 'NATS connection lost; reconnecting');
      else if (status.type === 'reconnect') {
        logger?.info({ server: status.server }, 'NATS connection is back');
        for (const listener of reconnectListeners) listener();
      }
    }
  })().catch(() => undefined);
  const connection: SpoolConnection = {
    url,
    serverVersion: nc.info?.version ?? 'unknown',
    closed: nc.closed().then(() => undefined),
    close: async () => {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
  const onReconnect = (listener: () => void) => {
    reconnectListeners.add(listener);
    return () => reconnectListeners.delete(listener);
  };
  register(connection, { nc, js, jsm, onReconnect });
  return connection;
}

/** Whether a NATS server answers at `url` (TCP connect and the server's INFO line). */
export function isNatsReachable(url: string, timeoutMs: number): Promise<boolean> {
  const target = new URL(url.replace(/^nats:/, 'http:'));
  const port = Number(target.port || 4222);
  const host = target.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return new Promise((resolve) => {
    const socket = new Socket();
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('data', (data) => finish(data.toString().startsWith('INFO')));
    socket.connect(port, host, () => socket.write(encoder.encode('')));
  });
}
