/**
 * pnpm bench (seventh part): what spend control costs per model call. Three agents in one
 * process (concurrency 32, fake model at zero latency, --limits-tasks tasks each, one model
 * call per task): none; a shared rate limit far above the load (limits.models, 10M requests
 * and 1G tokens a minute: the limiter's work with nothing to wait for); and that limit with a
 * daily budget far above the spend (every call held and settled in spool_spend). Reported:
 * tasks/s of each (best of 3 rounds taken in turn, after a warm-up round), the added time per
 * call against the first, and the limiter's and the spend ledger's own time per call measured
 * alone (sequential calls, same NATS).
 * Options: bench/args.ts (pnpm bench --help).
 */
import { anthropicModel } from '@spool/claude';
import { AgentSpecSchema, type AgentSpecInput } from '@spool/core';
import { LimitsSchema } from '@spool/core/internal';
import { connect, provision, rateLimiter, results, spend, submitTask } from '@spool/jetstream';
import { startAgentOnNats } from '@spool/runtime';
import { startFakeClaude, startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';

const { values: args, json } = benchArgs('limits');
const TASKS = args['limits-tasks'];
const ROUNDS = 3;
const say = (line: string) => {
  if (!json) console.log(line);
};

const nats = await startNats();
const fake = await startFakeClaude();
try {
  const logger = pino({ level: 'silent' });
  const connection = await connect({ url: nats.url, name: 'bench-limits', logger });
  await provision(connection);
  const model = anthropicModel({ baseURL: fake.url, apiKey: 'bench', maxRetries: 0 });
  const limits = LimitsSchema.parse({
    models: {
      'claude-sonnet': {
        requestsPerMinute: 10_000_000,
        inputTokensPerMinute: 1_000_000_000,
        outputTokensPerMinute: 1_000_000_000,
      },
    },
  });
  const rates = await rateLimiter(connection, limits, { holder: 'bench' });
  const base: AgentSpecInput = { instructions: 'Bench.', model: 'claude-sonnet-4-6', concurrency: 32 };
  const kinds = [
    { name: 'bench-unlimited', spec: base, limited: false },
    { name: 'bench-rate-limited', spec: base, limited: true },
    { name: 'bench-rate-and-daily', spec: { ...base, budget: { dailyCostUsd: 1_000_000 } }, limited: true },
  ];
  /** Seconds for TASKS one-call tasks through a fresh agent of this kind. */
  const runKind = async (kind: (typeof kinds)[number], round: number): Promise<number> => {
    const name = `${kind.name}-${round}`;
    const spec = AgentSpecSchema.parse(kind.spec);
    const agent = await startAgentOnNats(connection, {
      name,
      spec,
      holder: 'bench',
      model,
      logger,
      ...(kind.limited ? { rates } : {}),
    });
    await agent.ready;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: TASKS }, (_, i) => submitTask(connection, name, { id: `l-${i}`, input: 'hi' })),
    );
    await Promise.all(
      Array.from({ length: TASKS }, (_, i) =>
        results(connection).wait(name, `l-${i}`, AbortSignal.timeout(600_000)),
      ),
    );
    const elapsed = (performance.now() - started) / 1000;
    await agent.stop();
    return elapsed;
  };
  // A warm-up round (JIT, connections), then rounds taking the kinds in turn: the machine's
  // load changes over a run, so each kind's best round is compared.
  const best = new Map<string, number>();
  for (let round = 0; round <= ROUNDS; round++)
    for (const kind of kinds) {
      const elapsed = await runKind(kind, round);
      if (round > 0) best.set(kind.name, Math.min(best.get(kind.name) ?? Number.POSITIVE_INFINITY, elapsed));
    }
  const report: Record<string, { tasksPerSec: number; addedMsPerCall?: number }> = {};
  const unlimitedSec = best.get('bench-unlimited') ?? Number.NaN;
  for (const kind of kinds) {
    const elapsed = best.get(kind.name) ?? Number.NaN;
    const added = kind.limited ? ((elapsed - unlimitedSec) * 1000) / TASKS : undefined;
    report[kind.name] = {
      tasksPerSec: TASKS / elapsed,
      ...(added === undefined ? {} : { addedMsPerCall: added }),
    };
    say(
      `${kind.name}: ${TASKS} tasks, best of ${ROUNDS} rounds ${(TASKS / elapsed).toFixed(0)} tasks/s${added === undefined ? '' : `; ${added.toFixed(3)} ms more per call than without`}`,
    );
  }

  // Alone: one call after another, so each number is one call's own cost.
  const signal = new AbortController().signal;
  const timed = async (n: number, op: () => Promise<unknown>) => {
    const spans: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await op();
      spans.push(performance.now() - t);
    }
    spans.sort((a, b) => a - b);
    const at = (q: number) => spans[Math.min(spans.length - 1, Math.floor(q * spans.length))] ?? Number.NaN;
    return { meanMs: spans.reduce((a, b) => a + b, 0) / n, medianMs: at(0.5), p95Ms: at(0.95) };
  };
  const call = { model: 'claude-sonnet-4-6', agent: 'bench', inputTokens: 500, maxTokens: 1024 };
  const limiter = await timed(TASKS, async () => (await rates.acquire(call, signal))?.settle(100));
  const ledger = await spend(connection);
  let n = 0;
  const held = await timed(Math.min(TASKS, 1_000), async () => {
    const id = `bench-${n++}`;
    await ledger.hold('bench', id, 0.01, Date.now() + 60_000, () => true);
    await ledger.settle('bench', id, 0.005);
  });
  const ms = (x: number) => x.toFixed(3);
  say(
    `rate limiter alone (limit far above the load): mean ${ms(limiter.meanMs)} ms per call, median ${ms(limiter.medianMs)}, p95 ${ms(limiter.p95Ms)}`,
  );
  say(
    `daily budget hold + settle alone: mean ${ms(held.meanMs)} ms per call, median ${ms(held.medianMs)}, p95 ${ms(held.p95Ms)}`,
  );
  if (json)
    console.log(
      JSON.stringify({ limitsTasks: TASKS, ...report, limiterAlone: limiter, dailyHoldSettle: held }),
    );
  await connection.close();
} finally {
  await fake.close();
  await nats.close();
}
