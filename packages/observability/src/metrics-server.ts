import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActorPhase } from '@spool/core/internal';
import type { SpoolMetrics } from './metrics.ts';

export interface MetricsServerOptions {
  readonly metrics: SpoolMetrics;
  /** 0 picks a free port (the address is in `url`). */
  readonly port: number;
  /** Default 127.0.0.1: metrics and probes are not for the world. */
  readonly host?: string;
  /** Whether the process reaches NATS (a round-trip); resolves with why not, or undefined when it does. */
  readonly natsProblem: () => Promise<string | undefined>;
}

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

/** Phases in which an actor is where it should be: working, or standing by for another process. */
const READY_PHASES: readonly ActorPhase[] = ['active', 'standby'];

/**
 * Serves `/metrics` (Prometheus text), `/healthz` (the process runs and reaches NATS) and
 * `/readyz` (every actor of the process holds its name and has caught up, or stands by
 * while another process holds it). Probes answer 200 or 503 with a JSON body that says why.
 */
export async function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (status: number, body: object) =>
      reply(status, 'application/json', `${JSON.stringify(body)}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'only GET' });
    (async () => {
      switch (path) {
        case '/metrics':
          return reply(200, metrics.registry.contentType, await metrics.registry.metrics());
        case '/healthz': {
          const problem = await options.natsProblem();
          return problem === undefined
            ? json(200, { status: 'ok', nats: 'reachable' })
            : json(503, { status: 'unhealthy', nats: problem });
        }
        case '/readyz': {
          const actors = metrics.probes().map((p) => ({ name: p.name, role: p.role, phase: p.phase() }));
          const waiting = actors.filter((a) => !READY_PHASES.includes(a.phase));
          const ready = actors.length > 0 && waiting.length === 0;
          return json(ready ? 200 : 503, {
            status: ready ? 'ready' : 'not ready',
            ...(actors.length === 0 ? { reason: 'no actor started yet' } : {}),
            actors,
          });
        }
        default:
          return json(404, { error: `no ${path}: try /metrics, /healthz or /readyz` });
      }
    })().catch((err: unknown) => json(500, { error: err instanceof Error ? err.message : String(err) }));
  });
  const host = options.host ?? '127.0.0.1';
  await listen(server, options.port, host);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `metrics port ${port} on ${host} is in use: choose another with --metrics-port or SPOOL_METRICS_PORT`
            : `cannot serve metrics on ${host}:${port}: ${err.message}`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
}
