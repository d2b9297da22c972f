/**
 * pnpm bench: what metrics and traces cost. Tasks/s through one agent (fake model at zero
 * latency) on one server, in three variants: without metrics or traces, with the prom-client
 * metrics (scraped each second, as Prometheus would), and with metrics and traces exported over
 * OTLP/HTTP (http/protobuf, batched, the SDK's default queue) to a receiver on loopback that
 * counts what it is sent. On a shared machine one run of each says little (the noise between
 * runs is as large as the overhead), so the variants alternate over --obs-rounds rounds, each
 * round in another order, and the median of each is reported with the spread.
 *
 * Each measurement is a child process of its own (a warm-up run, then the measured one): a
 * registered tracer provider stays for its process, so "without" must be a process that never
 * registered one. The children share the parent's nats-server, fake model and OTLP receiver.
 * Options: bench/args.ts (pnpm bench --help).
 */
import { spawn } from 'node:child_process';
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

const VARIANTS = ['plain', 'metrics', 'traced'] as const;
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  plain: 'without metrics or traces',
  metrics: 'with metrics',
  traced: 'with metrics and traces',
};
const CONCURRENCY = 32;
/** Set in a child: what it measures, and where the parent's server, model and receiver are. */
const CHILD_ENV = 'SPOOL_BENCH_OBSERVABILITY_CHILD';

interface ChildJob {
  readonly variant: Variant;
  readonly name: string;
  readonly tasks: number;
  readonly natsUrl: string;
  readonly fakeUrl: string;
  readonly otlpUrl: string;
}
interface ChildResult {
  readonly tasksPerSec: number;
  /** Spans the SDK said it dropped from a full queue (traced variant). */
  readonly droppedSpans: number;
}

const job = process.env[CHILD_ENV];
if (job === undefined) await parent();
else await child(JSON.parse(job) as ChildJob);

async function parent(): Promise<void> {
  const { values: args, json } = benchArgs('observability');
  const TASKS = args['obs-tasks'];
  const ROUNDS = args['obs-rounds'];
  const say = (line: string) => {
    if (!json) console.log(line);
  };
  const nats = await startNats();
  const fake = await startFakeClaude();
  const receiver = await otlpSink();
  const connection = await connect({ url: nats.url, name: 'bench', logger: pino({ level: 'silent' }) });
  await provision(connection);
  await connection.close();
  try {
    say(
      `nats-server on ${nats.url}; ${TASKS} tasks per run, agent concurrency ${CONCURRENCY}; ${ROUNDS} rounds of the 3 variants, each in a process of its own, in turn`,
    );
    const runs: Record<Variant, number[]> = { plain: [], metrics: [], traced: [] };
    let droppedSpans = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with another variant, so none is always first (or last) on a drifting machine.
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
      const line: string[] = [];
      for (const variant of order) {
        const result = await runChild({
          variant,
          name: `obs-${variant}-${round}`,
          tasks: TASKS,
          natsUrl: nats.url,
          fakeUrl: fake.url,
          otlpUrl: receiver.url,
        });
        runs[variant].push(result.tasksPerSec);
        droppedSpans += result.droppedSpans;
        line.push(`${variant} ${result.tasksPerSec.toFixed(0)}`);
      }
      say(`round ${round + 1}: ${line.join(', ')} tasks/s`);
    }
    const medians = Object.fromEntries(VARIANTS.map((v) => [v, median(runs[v])])) as Record<Variant, number>;
    // Also each round's own ratio (its variants ran minutes apart at most): its median is
    // steadier still when the machine's load drifts over the whole run.
    const ratios = Object.fromEntries(
      VARIANTS.map((v) => [v, median(runs[v].map((x, i) => x / (runs.plain[i] as number)))]),
    ) as Record<Variant, number>;
    for (const variant of VARIANTS) {
      const all = runs[variant];
      say(
        `${LABEL[variant]}: median ${medians[variant].toFixed(0)} tasks/s (${pct(medians[variant], medians.plain)} of without; median of the rounds' ratios ${(ratios[variant] * 100).toFixed(0)}%; runs ${Math.min(...all).toFixed(0)}–${Math.max(...all).toFixed(0)})`,
      );
    }
    say(
      `traces: ${receiver.requests()} OTLP exports, ${(receiver.bytes() / 1024).toFixed(0)} KiB; ${droppedSpans} spans dropped from the SDK's queue (default OTEL_BSP_* settings)`,
    );
    if (json)
      console.log(
        JSON.stringify({
          tasks: TASKS,
          rounds: ROUNDS,
          plainTasksPerSec: medians.plain,
          metricsTasksPerSec: medians.metrics,
          metricsAndTracesTasksPerSec: medians.traced,
          metricsRatio: ratios.metrics,
          metricsAndTracesRatio: ratios.traced,
          runs,
          otlpExports: receiver.requests(),
          droppedSpans,
        }),
      );
  } finally {
    await receiver.close();
    await fake.close();
    await nats.close();
  }
}

/** Runs one measurement in a child process (this file, the same loader flags) and reads its result line. */
function runChild(childJob: ChildJob): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, process.argv[1] as string], {
      env: { ...process.env, [CHILD_ENV]: JSON.stringify(childJob) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as ChildResult);
      else
        reject(new Error(`bench observability: the ${childJob.variant} run exited ${code}: ${out.trim()}`));
    });
  });
}

/** One variant: a warm-up run (JIT, connections), then the measured run; prints its result as JSON. */
async function child(childJob: ChildJob): Promise<void> {
  const logger = pino({ level: 'silent' });
  let droppedSpans = 0;
  let observer: Observer | undefined;
  /** Run in order after the measurement: tracing's flush first, then the metrics server. */
  const stops: (() => Promise<void>)[] = [];
  if (childJob.variant !== 'plain') {
    const metrics = spoolMetrics();
    const server = await serveMetrics({ metrics, port: 0, natsProblem: async () => undefined });
    const scraping = setInterval(() => void fetch(`${server.url}/metrics`).then((r) => r.text()), 1000);
    observer = metrics;
    stops.push(async () => {
      clearInterval(scraping);
      await server.close();
    });
  }
  if (childJob.variant === 'traced') {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = childJob.otlpUrl;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/protobuf';
    const tracing = startTracing('spool-bench', {
      log: {
        warn: (fields) => {
          droppedSpans += (fields as { droppedSpans?: number }).droppedSpans ?? 0;
        },
        error: () => undefined,
      },
    });
    stops.unshift(() => tracing.shutdown());
  }
  const connection = await connect({ url: childJob.natsUrl, name: `bench-${childJob.name}`, logger });
  try {
    const model = anthropicModel({ baseURL: childJob.fakeUrl, apiKey: 'bench', maxRetries: 0 });
    await run(
      connection,
      model,
      `${childJob.name}-warm`,
      Math.max(1, Math.round(childJob.tasks / 4)),
      observer,
    );
    const tasksPerSec = await run(connection, model, childJob.name, childJob.tasks, observer);
    for (const stop of stops) await stop();
    const result: ChildResult = { tasksPerSec, droppedSpans };
    console.log(JSON.stringify(result));
  } finally {
    await connection.close();
  }
}

/** `tasks` tasks through a fresh agent (its own name, so its own empty history); tasks/s. */
async function run(
  connection: SpoolConnection,
  model: ReturnType<typeof anthropicModel>,
  name: string,
  tasks: number,
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
    model,
    logger: pino({ level: 'silent' }),
    ...(observer === undefined ? {} : { observer }),
  });
  await agent.ready;
  const sink = results(connection);
  const started = performance.now();
  const waits = Array.from({ length: tasks }, (_, i) => sink.wait(name, `b-${i}`));
  await Promise.all(
    Array.from({ length: tasks }, (_, i) =>
      submitTask(connection, name, { id: `b-${i}`, input: `task ${i}` }),
    ),
  );
  await Promise.all(waits);
  const elapsed = (performance.now() - started) / 1000;
  await agent.stop();
  return tasks / elapsed;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function pct(a: number, b: number): string {
  return `${((a / b) * 100).toFixed(0)}%`;
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
