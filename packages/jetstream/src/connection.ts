import { Socket } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { errors, connect as natsConnect } from '@nats-io/transport-node';
import { namespacing } from '@spool/core/internal';
import { clientAuthOptions, redactUrl } from './connect-settings.ts';
import { encoder, internals, register } from './internal.ts';
import { avoidCancelErrorPerRequest } from './request-cancel.ts';
import type { ConnectOptions, SpoolConnection } from './types.ts';

/** No NATS server answered the first connect (as opposed to one that answers without JetStream). */
export class NatsUnreachableError extends Error {
  override readonly name = 'NatsUnreachableError';
}

/** A server answered and refused the credentials: waiting will not help. */
export class NatsAuthError extends Error {
  override readonly name = 'NatsAuthError';
}

/** A server answered, and the TLS handshake with it failed (certificate, CA, protocol). */
export class NatsTlsError extends Error {
  override readonly name = 'NatsTlsError';
}

/**
 * Connects with reconnect-forever (a broker restart never ends an agent), checks that
 * JetStream is enabled, and reports connection changes through the logger.
 */
export async function connect(options: ConnectOptions): Promise<SpoolConnection> {
  const { name, logger } = options;
  const auth = clientAuthOptions(options.url, options.credentials);
  const url = redactUrl(options.url);
  let nc: Awaited<ReturnType<typeof natsConnect>>;
  avoidCancelErrorPerRequest();
  try {
    nc = await natsConnect({
      servers: auth.servers,
      ...(auth.authenticator === undefined ? {} : { authenticator: auth.authenticator }),
      ...(auth.tls === undefined ? {} : { tls: auth.tls }),
      ...(options.inboxPrefix === undefined ? {} : { inboxPrefix: options.inboxPrefix }),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: options.connectTimeoutMs ?? 5_000,
      // Otherwise nats.js builds a RequestError and a TimeoutError (each capturing a stack) for
      // every request, journal appends and acks included, in case one fails: ~5% of an agent's
      // CPU under load. Our errors say what failed without those stacks.
      noAsyncTraces: true,
    });
  } catch (err) {
    throw connectError(err, auth.servers, auth.method);
  }
  const jsm = await jetstreamManager(nc, { timeout: 10_000 }).catch(async (err) => {
    await nc.close();
    throw new Error(
      `the NATS server at ${url} has JetStream disabled or unavailable to this user (${err instanceof Error ? err.message : String(err)}): start it with -js, or give the user JetStream access`,
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
    namespace: options.namespace,
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
  register(connection, { nc, js, jsm, onReconnect, ns: namespacing(options.namespace) });
  return connection;
}

/**
 * What a failed first connect means, in one line that never shows a secret: the credentials
 * were refused (naming how they were given), the TLS handshake failed (and why), or no server
 * answered (naming the addresses tried).
 */
function connectError(err: unknown, servers: readonly string[], method: string): Error {
  const causes = [err, (err as { cause?: unknown })?.cause].filter((e): e is Error => e instanceof Error);
  const text = causes.map((e) => `${e.message} ${(e as { code?: string }).code ?? ''}`).join(' ');
  if (causes.some((e) => e instanceof errors.AuthorizationError) || /authorization violation/i.test(text))
    return new NatsAuthError(
      `the NATS server at ${servers.join(', ')} refused the credentials (${method}): check NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS or NATS_NKEY (or the config's nats section)`,
    );
  const tls = /tls|ssl|certificate|self[- ]signed|unable to verify|CERT_|ERR_TLS|handshake/i.test(text);
  if (tls)
    return new NatsTlsError(
      `TLS handshake with the NATS server at ${servers.join(', ')} failed (${redactUrl(causes[0]?.message ?? String(err))}): set NATS_CA to the CA that signed the server's certificate (and NATS_CERT/NATS_KEY if the server verifies clients)`,
    );
  return new NatsUnreachableError(
    `no NATS server answers at ${servers.join(', ')} (${redactUrl(causes[0]?.message ?? String(err))}): start one (nats-server -js) or set NATS_URL`,
  );
}

/** Whether a NATS server answers at `url` (TCP connect and the server's INFO line). */
export function isNatsReachable(url: string, timeoutMs: number): Promise<boolean> {
  const first = url.split(',')[0]?.trim() ?? '';
  const target = new URL(first.replace(/^[a-z]+:/i, 'http:'));
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

/**
 * Whether the connection reaches its NATS server now: a round-trip within `timeoutMs`.
 * Resolves undefined when it does, else with why not (for health probes).
 */
export async function natsProblem(
  connection: SpoolConnection,
  timeoutMs = 2_000,
): Promise<string | undefined> {
  const { nc } = internals(connection);
  if (nc.isClosed()) return 'connection closed';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`no answer from NATS within ${timeoutMs} ms (reconnecting?)`),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      nc.rtt().then(
        () => undefined,
        (err: unknown) => `NATS unreachable: ${err instanceof Error ? err.message : String(err)}`,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
