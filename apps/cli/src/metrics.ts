import { noObserver, type Observer } from '@spool/core/internal';
import { natsProblem, type SpoolConnection } from '@spool/jetstream';
import { serveMetrics, spoolMetrics } from '@spool/observability';
import type { Logger } from 'pino';
import { UsageError } from './usage-error.ts';

/** A long-running process's metrics: the observer its actors report to, and the server that shows them. */
export interface ProcessMetrics {
  readonly observer: Observer;
  /** The connection /healthz checks, once there is one. */
  connected(connection: SpoolConnection): void;
  close(): Promise<void>;
}

const none: ProcessMetrics = {
  observer: noObserver,
  connected: () => undefined,
  close: async () => undefined,
};

/**
 * Serves /metrics, /healthz and /readyz on 127.0.0.1 (SPOOL_METRICS_HOST) at `--metrics-port`
 * or SPOOL_METRICS_PORT, before NATS is reached so that probes answer while the process waits
 * for it; nothing when neither is set.
 */
export async function startMetrics(
  command: string,
  flag: string | undefined,
  logger: Logger,
): Promise<ProcessMetrics> {
  const port = metricsPort(command, flag);
  if (port === undefined) return none;
  const metrics = spoolMetrics();
  let connection: SpoolConnection | undefined;
  const host = process.env.SPOOL_METRICS_HOST?.trim() || '127.0.0.1';
  const server = await serveMetrics({
    metrics,
    port,
    host,
    natsProblem: async () =>
      connection === undefined ? 'not connected yet (waiting for a NATS server)' : natsProblem(connection),
  });
  logger.info(
    { metrics: `${server.url}/metrics`, healthz: `${server.url}/healthz`, readyz: `${server.url}/readyz` },
    'serving metrics',
  );
  return {
    observer: metrics,
    connected: (c) => {
      connection = c;
    },
    close: () => server.close(),
  };
}

/** `--metrics-port` over SPOOL_METRICS_PORT: a port number (0: any free one), or undefined for none. */
function metricsPort(command: string, flag: string | undefined): number | undefined {
  const fromEnv = process.env.SPOOL_METRICS_PORT?.trim();
  const raw = flag ?? (fromEnv === '' ? undefined : fromEnv);
  if (raw === undefined) return undefined;
  const port = Number(raw);
  if (!/^[0-9]+$/.test(raw) || port > 65_535) {
    const where = flag === undefined ? 'SPOOL_METRICS_PORT' : `spool ${command}: --metrics-port`;
    throw new UsageError(`${where} must be a port number from 0 to 65535 (0: any free port), got "${raw}"`);
  }
  return port;
}
