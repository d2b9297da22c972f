/**
 * pnpm bench: what metrics and traces cost. Tasks/s through one agent (fake model at zero
 * latency) on one server in one run: without metrics or traces, with the prom-client metrics
 * (scraped each second, as Prometheus would), then with metrics and traces exported over
 * OTLP/HTTP (http/protobuf, batched) to a receiver on loopback that counts what it is sent.
 * A warm-up run comes first; tracing, once registered, stays for the process, so it runs last.
 * Options: bench/args.ts (pnpm bench --help).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicModel } from '@spool/claude';
import { AgentSpecSchema, type Observer } from '@spool/core/internal';
import { connect, provision, results, type SpoolConnection, submitTask } from '@spool/jetstream';
import { serveMetrics, spoolMetrics, startTracing } from '@spool/observability';
import { startAgentOnNats } from '@spool/runtime';
import { startFakeClaude, startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';

const { values: args, json } = benchArgs('observability');
const TASKS = args['obs-tasks'];
const CONCURRENCY = 32;
const say = (line: string) => {
  if (!json) console.log(line);
};

const nats = await startNats();
const fake = await startFakeClaude();
const receiver = await otlpSink();
const logger = pino({ level: 'silent' });
const connection = await connect({ url: nats.url, name: 'bench', logger });
await provision(connection);
try {
  say(`nats-server on ${nats.url}; ${TASKS} tasks per run, agent concurrency ${CONCURRENCY}`);
  // A first run warms the JIT, the model client's connections and the server: not counted.
  await run(connection, 'warm-up', undefined);
  const plain = await run(connection, 'plain', undefined);
  say(`without metrics or traces: ${plain.toFixed(0)} tasks/s`);
  const metrics = spoolMetrics();
  const server = await serveMetrics({ metrics, port: 0, natsProblem: async () => undefined });
  const scraping = setInterval(() => void fetch(`${server.url}/metrics`).then((r) => r.text()), 1000);
  const withMetrics = await run(connection, 'metrics', metrics);
  say(`with metrics: ${withMetrics.toFixed(0)} tasks/s (${pct(withMetrics, plain)} of without)`);
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
  const tracing = startTracing('spool-bench');
  const withBoth = await run(connection, 'traced', metrics);
  await tracing.shutdown();
  clearInterval(scraping);
  await server.close();
  say(
    `with metrics and traces (${tracing.exporter}): ${withBoth.toFixed(0)} tasks/s (${pct(withBoth, plain)} of without); the receiver got ${receiver.requests()} exports, ${(receiver.bytes() / 1024).toFixed(0)} KiB`,
  );
  if (json)
    console.log(
      JSON.stringify({
        tasks: TASKS,
        plainTasksPerSec: plain,
        metricsTasksPerSec: withMetrics,
        metricsAndTracesTasksPerSec: withBoth,
        otlpExports: receiver.requests(),
      }),
    );
} finally {
  await connection.close();
  await receiver.close();
  await fake.close();
  await nats.close();
}

function pct(a: number, b: number): string {
  return `${((a / b) * 100).toFixed(0)}%`;
}

/** TASKS tasks through a fresh agent (its own name, so its own empty history); tasks/s. */
async function run(
  connection: SpoolConnection,
  name: string,
  observer: Observer | undefined,
): Promise<number> {
  const spec = AgentSpecSchema.parse({
    instructions: 'Bench.',
    model: 'claude-sonnet-4-6',
    concurrency: CONCURRENCY,
  });
  const agent = await startAgentOnNats(connection, {
    name,
    spec,
    holder: 'bench',
    model: anthropicModel({ baseURL: fake.url, apiKey: 'bench', maxRetries: 0 }),
    logger,
    ...(observer === undefined ? {} : { observer }),
  });
  await agent.ready;
  const sink = results(connection);
  const started = performance.now();
  const waits = Array.from({ length: TASKS }, (_, i) => sink.wait(name, `b-${i}`));
  await Promise.all(
    Array.from({ length: TASKS }, (_, i) =>
      submitTask(connection, name, { id: `b-${i}`, input: `task ${i}` }),
    ),
  );
  await Promise.all(waits);
  const elapsed = (performance.now() - started) / 1000;
  await agent.stop();
  return TASKS / elapsed;
}

/** An OTLP/HTTP endpoint on loopback that takes every export and counts it. */
async function otlpSink(): Promise<{
  url: string;
  requests(): number;
  bytes(): number;
  close(): Promise<void>;
}> {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    bytes: () => bytes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
