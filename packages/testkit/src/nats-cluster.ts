import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type NatsServer, spawnNatsServer } from '@spool/nats-server';

/** One server of a test cluster: a real nats-server with routes to the others. */
export interface NatsClusterNode extends NatsServer {
  /** Its server_name (`n1`, `n2`, …), as stream info's `cluster.leader` names it. */
  readonly name: string;
  /** Whether it runs (not killed or stopped since its last start). */
  readonly running: boolean;
  /** Its monitoring endpoint (`http://127.0.0.1:<port>`): /healthz, /jsz. */
  readonly monitorUrl: string;
}

/** A JetStream cluster of real nats-server processes on loopback. */
export interface NatsCluster {
  readonly nodes: readonly NatsClusterNode[];
  /** Every node's client URL, comma-separated (as NATS_URL takes a cluster). */
  readonly url: string;
  /** The node of this server_name. */
  node(name: string): NatsClusterNode;
  /** Waits until every running node says JetStream is healthy (/healthz: it knows the meta leader). */
  healthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their data. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface NatsClusterOptions {
  /** Servers (default 3). */
  readonly size?: number;
  /** Extra nats-server arguments for every node. */
  readonly args?: readonly string[];
}

/**
 * Starts a JetStream cluster for a test: `size` nats-server processes on free ports, each with
 * its own server_name (`n1`…), data directory, route port and monitoring port, routes to all
 * the others; resolves once every node is healthy. Each node can be killed and restarted on
 * its port and data, as a single test server can.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const clusterName = `spool-test-${process.pid}`;
  const base = mkdtempSync(join(tmpdir(), 'spool-cluster-'));
  const taken = new Set<number>();
  const port = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (taken.has(p)) continue;
      taken.add(p);
      return p;
    }
  };
  const ports: { client: number; route: number; monitor: number }[] = [];
  for (let i = 0; i < size; i++)
    ports.push({ client: await port(), route: await port(), monitor: await port() });
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
  const nodes = await Promise.all(
    ports.map(async (p, i) => {
      const name = `n${i + 1}`;
      const server = await spawnNatsServer({
        port: p.client,
        storeDir: join(base, name),
        args: [
          '--server_name',
          name,
          '--cluster_name',
          clusterName,
          '--cluster',
          `nats://127.0.0.1:${p.route}`,
          '--routes',
          routes,
          '--http_port',
          String(p.monitor),
          ...(options.args ?? []),
        ],
      });
      return node(name, server, `http://127.0.0.1:${p.monitor}`);
    }),
  );
  const healthy = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(nodes.filter((n) => n.running).map((n) => health(n.monitorUrl)));
      if (states.every((s) => s === 'ok')) return;
      if (Date.now() > deadline)
        throw new Error(`nats cluster not healthy after ${timeoutMs} ms: ${states.join('; ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const close = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await healthy();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    node: (name) => {
      const found = nodes.find((n) => n.name === name);
      if (found === undefined)
        throw new Error(`no node ${name} in the cluster (${nodes.map((n) => n.name)})`);
      return found;
    },
    healthy,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function node(name: string, server: NatsServer, monitorUrl: string): NatsClusterNode {
  let running = true;
  const down = (op: () => Promise<void>) => async () => {
    running = false;
    await op();
  };
  return {
    name,
    monitorUrl,
    url: server.url,
    host: server.host,
    port: server.port,
    storeDir: server.storeDir,
    get pid() {
      return server.pid;
    },
    get running() {
      return running;
    },
    stop: down(() => server.stop()),
    kill: down(() => server.kill()),
    close: down(() => server.close()),
    restart: async () => {
      await server.restart();
      running = true;
    },
    [Symbol.asyncDispose]: down(() => server.close()),
  };
}

/** `ok`, or what /healthz says is wrong. */
async function health(monitorUrl: string): Promise<string> {
  try {
    const response = await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { status?: string; error?: string };
    return body.status === 'ok' ? 'ok' : `${monitorUrl}: ${body.error ?? body.status}`;
  } catch (err) {
    return `${monitorUrl}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
