/**
 * pnpm bench (seventh part): keyed agents. --keys keys × 1 task through one process hosting a
 * keyed agent (maxActive 1000, fake model at zero latency): tasks/s and peak RSS; then the same
 * number of tasks through one plain agent (concurrency 32) in the same run; then the activation
 * of a passivated instance whose history holds about --activation-events events (with a
 * snapshot every 1000): p50 and p95 from a task's submission to the instance's replayed state.
 * Each phase also says the CPU it took per task, in this process and in nats-server (Linux's
 * /proc): on a shared machine, other work changes the tasks/s of one phase and not the
 * other's, while CPU per task stays put, so the ratio by CPU is the steadier comparison.
 * Options: bench/args.ts (pnpm bench --help).
 */
import { readFileSync } from 'node:fs';
import { anthropicModel } from '@spool/claude';
import { AgentSpecSchema, parseAgentCommit } from '@spool/core';
import { connect, keyedHistoryStore, provision, results, submitTask } from '@spool/jetstream';
import { startAgentOnNats, startKeyedOnNats } from '@spool/runtime';
import { startFakeClaude, startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';
import { checkGoal } from './goals.ts';

const { values: args, json } = benchArgs('keyed');
const KEYS = args.keys;
const HISTORY_EVENTS = args['activation-events'];
const say = (line: string) => {
  if (!json) console.log(line);
};

const nats = await startNats();
const fake = await startFakeClaude();

/** CPU ms used so far by this process and by nats-server (undefined where /proc cannot say). */
const cpuNow = (): { here: number; server: number | undefined } => {
  const usage = process.cpuUsage();
  let server: number | undefined;
  try {
    // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
    const fields = readFileSync(`/proc/${nats.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    server = (Number(fields[11]) + Number(fields[12])) * 10;
    if (!Number.isFinite(server)) server = undefined;
  } catch {
    server = undefined;
  }
  return { here: (usage.user + usage.system) / 1000, server };
};
/** CPU ms per task between two readings, here and in nats-server. */
const cpuPerTask = (from: ReturnType<typeof cpuNow>, tasks: number) => {
  const to = cpuNow();
  const here = (to.here - from.here) / tasks;
  const server =
    to.server === undefined || from.server === undefined ? undefined : (to.server - from.server) / tasks;
  return { here, server, total: here + (server ?? 0) };
};
const cpuText = (cpu: ReturnType<typeof cpuPerTask>) =>
  `CPU per task ${cpu.here.toFixed(2)} ms here${cpu.server === undefined ? '' : ` + ${cpu.server.toFixed(2)} ms nats-server`}`;
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);
try {
  const logger = pino({ level: 'silent' });
  const connection = await connect({ url: nats.url, name: 'bench-keyed', logger });
  await provision(connection);
  const model = anthropicModel({ baseURL: fake.url, apiKey: 'bench', maxRetries: 0 });
  const sink = results(connection);
  const submitAll = async (to: (i: number) => string, id: (i: number) => string) => {
    for (let from = 0; from < KEYS; from += 500)
      await Promise.all(
        Array.from({ length: Math.min(500, KEYS - from) }, (_, i) =>
          submitTask(connection, to(from + i), { id: id(from + i), input: `task ${from + i}` }),
        ),
      );
  };

  // 1. KEYS keys × 1 task through one process.
  const keyedSpec = AgentSpecSchema.parse({
    instructions: 'Bench.',
    model: 'claude-sonnet-4-6',
    keyed: { maxActive: 1000, idleMs: 1000 },
  });
  const host = await startKeyedOnNats(connection, {
    name: 'support',
    spec: keyedSpec,
    holder: 'bench',
    model,
    logger,
  });
  await host.ready;
  peakRss = process.memoryUsage().rss;
  const rssBefore = peakRss;
  let started = performance.now();
  let cpuFrom = cpuNow();
  await submitAll(
    (i) => `support.k${i}`,
    () => 't1',
  );
  for (let i = 0; i < KEYS; i++) await sink.wait(`support.k${i}`, 't1');
  const keyedSecs = (performance.now() - started) / 1000;
  const keyedCpu = cpuPerTask(cpuFrom, KEYS);
  const keyedPeak = peakRss;
  say(
    `keyed: ${KEYS} keys × 1 task in one process: ${(KEYS / keyedSecs).toFixed(0)} tasks/s (${keyedSecs.toFixed(1)} s), peak RSS ${(keyedPeak / 2 ** 20).toFixed(0)} MiB (${(rssBefore / 2 ** 20).toFixed(0)} MiB before); ${cpuText(keyedCpu)}`,
  );

  // 2. The same tasks through one plain agent.
  const plain = await startAgentOnNats(connection, {
    name: 'plain',
    spec: AgentSpecSchema.parse({ instructions: 'Bench.', model: 'claude-sonnet-4-6', concurrency: 32 }),
    holder: 'bench',
    model,
    logger,
  });
  await plain.ready;
  started = performance.now();
  cpuFrom = cpuNow();
  await submitAll(
    () => 'plain',
    (i) => `p${i}`,
  );
  for (let i = 0; i < KEYS; i++) await sink.wait('plain', `p${i}`);
  const plainSecs = (performance.now() - started) / 1000;
  const plainCpu = cpuPerTask(cpuFrom, KEYS);
  await plain.stop();
  say(
    `unkeyed: the same ${KEYS} tasks through one agent (concurrency 32): ${(KEYS / plainSecs).toFixed(0)} tasks/s (${plainSecs.toFixed(1)} s); ${cpuText(plainCpu)}; keyed/unkeyed ${(plainSecs / keyedSecs).toFixed(2)}× by tasks/s, ${(plainCpu.total / keyedCpu.total).toFixed(2)}× by CPU per task`,
  );

  // 3. Activation of a passivated instance with a long history (snapshot + tail).
  // About 5 events per task (received, started, responded, completed, published); counted after.
  const tasks = Math.ceil(HISTORY_EVENTS / 5);
  for (let from = 0; from < tasks; from += 50) {
    const batch = Array.from({ length: Math.min(50, tasks - from) }, (_, i) => `h${from + i}`);
    await Promise.all(
      batch.map((id) => submitTask(connection, 'support.long', { id, input: `history ${id}` })),
    );
    for (const id of batch) await sink.wait('support.long', id);
  }
  let eventCount = 0;
  for await (const commit of keyedHistoryStore(connection, parseAgentCommit).replay('support.long'))
    eventCount += commit.events.length;
  const activations: number[] = [];
  for (let round = 0; round < 20; round++) {
    while (host.activeKeys().includes('long')) await new Promise((resolve) => setTimeout(resolve, 50));
    const at = performance.now();
    await submitTask(connection, 'support.long', { id: `a${round}`, input: `again ${round}` });
    while (host.instanceState('long') === undefined) await new Promise((resolve) => setImmediate(resolve));
    activations.push(performance.now() - at);
    await sink.wait('support.long', `a${round}`);
  }
  activations.sort((a, b) => a - b);
  const p50 = activations[Math.floor(activations.length / 2)] ?? 0;
  const p95 = activations[Math.floor(activations.length * 0.95)] ?? 0;
  say(
    `activation of a passivated instance (about ${eventCount} events, ${tasks} tasks, snapshot every 1000): p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (submission to replayed state)`,
  );
  checkGoal(
    {
      part: 'keyed',
      goal: `${KEYS} keys × 1 task through one keyed process against the same tasks through one plain agent`,
      measured: plainSecs / keyedSecs,
      bound: 'at-least',
      target: 0.7,
      unit: '×',
    },
    say,
  );
  checkGoal(
    {
      part: 'keyed',
      goal: `activation p50 of a passivated instance with about ${eventCount} events`,
      measured: p50,
      bound: 'at-most',
      target: 20,
      unit: ' ms',
    },
    say,
  );
  await host.stop();
  if (json)
    console.log(
      JSON.stringify({
        keys: KEYS,
        keyedTasksPerSec: KEYS / keyedSecs,
        keyedPeakRssMiB: keyedPeak / 2 ** 20,
        keyedCpuMsPerTask: keyedCpu,
        unkeyedTasksPerSec: KEYS / plainSecs,
        unkeyedCpuMsPerTask: plainCpu,
        activationP50Ms: p50,
        activationP95Ms: p95,
      }),
    );
  await connection.close();
} finally {
  clearInterval(sampler);
  await fake.close();
  await nats.close();
}
