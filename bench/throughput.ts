/**
 * pnpm bench: tasks/s through one agent with the fake model at zero latency (the agent in a
 * process of its own, the tasks sent from this one, as users run them), and, in the
 * same run and on the same server, the raw JetStream publish + consume rate for the same
 * message count; prints both and their ratio. Then the same agent run on a second server
 * started with `jetstream { sync_interval: always }` (every write fsynced before it is
 * acknowledged), beside the default (fsync every 2 minutes): what durability against a machine
 * crash costs on one replica. nats-server takes that option from 2.10.0; an older one refuses
 * to start with it, and the bench says so. With --profile, the agent process's CPU is profiled
 * (the inspector's profiler, as `node --cpu-prof`) and its self time is printed by package (bench/cpu-profile.ts).
 * Options: bench/args.ts (pnpm bench --help).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { connect, provision, results, submitTask } from '@spool/jetstream';
import { startFakeClaude, startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';
import { checkGoal } from './goals.ts';
import { formatProfile, summarizeProfile } from './cpu-profile.ts';

const { values: args, json, profile } = benchArgs('throughput');
const AGENT_PROCESS = new URL('./agent-process.ts', import.meta.url).pathname;
/**
 * SPOOL_BENCH_BASELINE=<another checkout with deps installed>: its agent is measured too, in
 * turns with this one (the machine's load drifts over a run), for before/after from one run.
 */
const BASELINE = process.env.SPOOL_BENCH_BASELINE;
const BASELINE_ROUNDS = 3;
const TASKS = args.tasks;
const CONCURRENCY = args.concurrency;
/** Tasks sent one at a time to the idle agent afterwards: what one workflow hop or delegation waits. */
const IDLE_SAMPLES = 20;
const say = (line: string) => {
  if (!json) console.log(line);
};

const nats = await startNats();
const fake = await startFakeClaude();
try {
  say(`nats-server on ${nats.url}; ${TASKS} tasks, agent concurrency ${CONCURRENCY}`);
  const raw = await rawJetStream(nats.url, TASKS);
  say(`raw JetStream publish + consume: ${raw.toFixed(0)} msg/s`);
  const profileDir = profile ? mkdtempSync(join(tmpdir(), 'spool-bench-profile-')) : undefined;
  const agent = await agentThroughput(nats.url, fake.url, TASKS, CONCURRENCY, { profileDir });
  say(`spool agent (journaled, fake model at zero latency): ${agent.rate.toFixed(0)} tasks/s`);
  say(
    `one task at a time to the idle agent: median ${agent.idleLatencyMs.toFixed(1)} ms from submit to result (${IDLE_SAMPLES} tasks)`,
  );
  const ratio = agent.rate / raw;
  say(
    `ratio: ${(ratio * 100).toFixed(1)}% of the raw rate (each task is ~5 journal appends, a model call, a result and an ack)`,
  );
  checkGoal(
    {
      part: 'throughput',
      goal: 'one agent process (concurrency 32) against raw JetStream publish + consume',
      measured: ratio * 100,
      bound: 'at-least',
      target: 20,
      unit: '% of raw',
    },
    say,
  );
  checkGoal(
    {
      part: 'throughput',
      goal: "an idle agent's submit-to-result median",
      measured: agent.idleLatencyMs,
      bound: 'at-most',
      target: 3,
      unit: ' ms',
    },
    say,
  );
  const summary = agent.profile === undefined ? undefined : summarizeProfile(agent.profile);
  if (summary !== undefined) {
    for (const line of formatProfile(summary)) say(line);
    say(`  (the profile: ${agent.profile})`);
  }
  const baseline = BASELINE === undefined ? undefined : await againstBaseline(BASELINE, raw);
  const synced = await syncAlways(fake.url, TASKS, CONCURRENCY);
  if (typeof synced === 'number')
    say(
      `spool agent with sync_interval: always (each write fsynced before its ack): ${synced.toFixed(0)} tasks/s, ${((synced / agent.rate) * 100).toFixed(0)}% of the default (sync every 2 minutes)`,
    );
  else say(`spool agent with sync_interval: always: not measured: ${synced}`);
  if (json)
    console.log(
      JSON.stringify({
        tasks: TASKS,
        concurrency: CONCURRENCY,
        rawMsgPerSec: raw,
        agentTasksPerSec: agent.rate,
        idleLatencyMs: agent.idleLatencyMs,
        ratio,
        serverVersion: agent.serverVersion,
        agentTasksPerSecSyncAlways: typeof synced === 'number' ? synced : null,
        ...(typeof synced === 'number' ? {} : { syncAlwaysNotMeasured: synced }),
        ...(baseline === undefined ? {} : { baseline }),
        ...(summary === undefined ? {} : { profile: { file: agent.profile, ...summary } }),
      }),
    );
} finally {
  await fake.close();
  await nats.close();
}

/** Publishes N messages (async, in flight) to a fresh stream, then consumes and acks all of them. */
async function rawJetStream(url: string, count: number): Promise<number> {
  const nc = await natsConnect({ servers: url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw'], storage: 'file' as never });
  const js = jetstream(nc);
  const payload = new TextEncoder().encode(JSON.stringify({ id: 'x'.repeat(16), input: 'y'.repeat(120) }));
  const started = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    inFlight.push(js.publish('bench.raw', payload, { msgID: `raw-${i}` }));
    if (inFlight.length >= 256) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
  await jsm.consumers.add('BENCH_RAW', { durable_name: 'raw', ack_policy: 'explicit' as never });
  const consumer = await js.consumers.get('BENCH_RAW', 'raw');
  let seen = 0;
  while (seen < count) {
    const batch = await consumer.fetch({ max_messages: Math.min(500, count - seen), expires: 2000 });
    for await (const m of batch) {
      m.ack();
      seen += 1;
    }
  }
  await nc.flush();
  const elapsed = (performance.now() - started) / 1000;
  await nc.close();
  return count / elapsed;
}

async function agentThroughput(
  url: string,
  fakeUrl: string,
  count: number,
  concurrency: number,
  how: { name?: string; script?: string; profileDir?: string | undefined } = {},
): Promise<{ rate: number; idleLatencyMs: number; serverVersion: string; profile?: string }> {
  const name = how.name ?? 'bench';
  const logger = pino({ level: 'silent' });
  const connection = await connect({ url, name: 'bench', logger });
  await provision(connection);
  const agent = await startAgentProcess(url, fakeUrl, name, concurrency, how.script, how.profileDir);
  const sink = results(connection);
  const started = performance.now();
  const waits: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) waits.push(sink.wait(name, `b-${i}`));
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      submitTask(connection, name, { id: `b-${i}`, input: `task ${i}` }),
    ),
  );
  await Promise.all(waits);
  const elapsed = (performance.now() - started) / 1000;
  const latencies: number[] = [];
  for (let i = 0; i < IDLE_SAMPLES; i++) {
    const sentAt = performance.now();
    const done = sink.wait(name, `idle-${i}`);
    await submitTask(connection, name, { id: `idle-${i}`, input: `idle task ${i}` });
    await done;
    latencies.push(performance.now() - sentAt);
  }
  latencies.sort((a, b) => a - b);
  const profile = await agent.stop();
  await connection.close();
  return {
    rate: count / elapsed,
    idleLatencyMs: latencies[Math.floor(latencies.length / 2)] ?? 0,
    serverVersion: connection.serverVersion,
    ...(profile === undefined ? {} : { profile }),
  };
}

/** This checkout's agent and the baseline's, in turns: the median of each, as tasks/s and idle latency. */
async function againstBaseline(checkout: string, raw: number) {
  const script = join(checkout, 'bench/agent-process.ts');
  const runs: Record<'current' | 'baseline', { rate: number; idleLatencyMs: number }[]> = {
    current: [],
    baseline: [],
  };
  for (let round = 0; round < BASELINE_ROUNDS; round++) {
    runs.current.push(
      await agentThroughput(nats.url, fake.url, TASKS, CONCURRENCY, { name: `now-${round}` }),
    );
    runs.baseline.push(
      await agentThroughput(nats.url, fake.url, TASKS, CONCURRENCY, { name: `base-${round}`, script }),
    );
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const of = (which: keyof typeof runs) => {
    const rate = median(runs[which].map((r) => r.rate));
    return { rate, ratio: rate / raw, idleLatencyMs: median(runs[which].map((r) => r.idleLatencyMs)) };
  };
  const current = of('current');
  const base = of('baseline');
  say(`against ${checkout} (median of ${BASELINE_ROUNDS} rounds each, in turns):`);
  for (const [label, m] of [
    ['this checkout', current],
    ['baseline', base],
  ] as const)
    say(
      `  ${label.padEnd(13)} ${m.rate.toFixed(0)} tasks/s (${(m.ratio * 100).toFixed(1)}% of raw), idle median ${m.idleLatencyMs.toFixed(1)} ms`,
    );
  return { checkout, current, baseline: base };
}

/**
 * The agent as its own process (bench/agent-process.ts), as `spool agent` runs; with a
 * profile directory, its CPU profiled while it takes tasks. `stop` closes its stdin, waits for
 * it to exit and returns the profile's path.
 */
async function startAgentProcess(
  url: string,
  fakeUrl: string,
  name: string,
  concurrency: number,
  script = AGENT_PROCESS,
  profileDir?: string,
): Promise<{ stop: () => Promise<string | undefined> }> {
  const profile = profileDir === undefined ? undefined : join(profileDir, `${name}.cpuprofile`);
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), script, url, fakeUrl, name, String(concurrency)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...(profile === undefined ? {} : { BENCH_PROFILE: profile }) },
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    exited.then((code) => reject(new Error(`the agent process exited (${code}) before it was ready`)));
  });
  return {
    async stop() {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`the agent process exited with ${code}`);
      return profile;
    },
  };
}

/**
 * The agent's tasks/s on a server of its own with `jetstream { sync_interval: always }`; or why
 * it could not be measured (a server older than 2.10.0 refuses the option at start-up).
 */
async function syncAlways(fakeUrl: string, count: number, concurrency: number): Promise<number | string> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-bench-sync-'));
  const file = join(dir, 'sync-always.conf');
  writeFileSync(file, 'jetstream {\n  sync_interval: always\n}\n');
  try {
    let server: Awaited<ReturnType<typeof startNats>>;
    try {
      server = await startNats({ args: ['-c', file] });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const refused = /unknown field "sync_interval"/.test(message);
      const version = /Version:\s+(\S+)/.exec(message)?.[1] ?? (await serverVersionOf());
      return refused
        ? `nats-server ${version} refuses the option (unknown field "sync_interval": it exists from nats-server 2.10.0); NATS_SERVER_BIN=<a 2.10+ nats-server> pnpm bench measures it`
        : `the server did not start with it: ${message.split('\n')[0]}`;
    }
    try {
      return (await agentThroughput(server.url, fakeUrl, count, concurrency)).rate;
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The version the default server reports (for the message when the second one cannot start). */
async function serverVersionOf(): Promise<string> {
  const nc = await natsConnect({ servers: nats.url });
  const version = nc.info?.version ?? 'unknown';
  await nc.close();
  return version;
}
