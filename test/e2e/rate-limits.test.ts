import { requests, results, submitTask } from '@spool/jetstream';
import type { FakeClaude, MessagesBody, RecordedRequest } from '@spool/testkit';
import { startFakeClaude } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StatusReportSchema, subjects } from '@spool/core';
import {
  type CliEnv,
  type CliProcess,
  printLogOnFailure,
  runCli,
  startCli,
  writeConfig,
} from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { type Broker, startBroker } from '../support/world.ts';

/**
 * Two agent processes (real `spool agent` processes) share one rate limit of 60 requests a
 * minute on one model, through the bucket in NATS.
 */
let broker: Broker;
let fake: FakeClaude;
let config: string;
let env: CliEnv;
const processes: Record<string, CliProcess> = {};

const AGENTS = ['alpha', 'beta'] as const;
const start = async (agent: string) => {
  const p = startCli(['agent', agent, '--config', config], env);
  processes[agent] = p;
  await p.waitForLog('history replayed');
};

beforeAll(async () => {
  broker = await startBroker();
  fake = await startFakeClaude();
  config = writeConfig({
    agents: Object.fromEntries(
      AGENTS.map((a) => [
        a,
        {
          instructions: `You are ${a}.`,
          model: 'claude-sonnet-4-6',
          concurrency: 16,
          memory: { exchanges: 0 },
          ...(a === 'beta' ? { budget: { dailyCostUsd: 1 } } : {}),
        },
      ]),
    ),
    limits: { models: { 'claude-sonnet': { requestsPerMinute: 60 } } },
  });
  env = { natsUrl: broker.nats.url, anthropicBaseUrl: fake.url };
  await Promise.all(AGENTS.map(start));
}, 60_000);
afterEach((context) => {
  for (const p of Object.values(processes)) printLogOnFailure(context, p);
});
afterAll(async () => {
  await Promise.all(Object.values(processes).map((p) => p.kill('SIGKILL')));
  await fake?.close();
  await broker?.close();
});

const calls = (): RecordedRequest[] => fake.requests.filter((r) => r.path === '/v1/messages');
const agentOf = (r: RecordedRequest) =>
  ((r.body as MessagesBody).system as { text: string }[] | undefined)?.[0]?.text.includes('alpha')
    ? 'alpha'
    : 'beta';
const submitMany = (agent: string, prefix: string, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      submitTask(broker.connection, agent, { id: `${prefix}-${i}`, input: `${prefix} ${i}` }),
    ),
  );
const waitAll = (agent: string, prefix: string, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      results(broker.connection).wait(agent, `${prefix}-${i}`, AbortSignal.timeout(90_000)),
    ),
  );

/** The most calls in any window of `ms` (each window starting at a call). */
function busiestWindow(times: readonly number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[j] ?? 0) < (sorted[i] ?? 0) - ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('a rate limit shared by every process on the same NATS', () => {
  it('two processes at 60 a minute: at most 10 calls plus a burst of 6 in any 10 s, fair to the agent that did not flood, all tasks complete', async () => {
    const before = calls().length;
    await submitMany('alpha', 'flood', 16);
    await new Promise((resolve) => setTimeout(resolve, 300)); // alpha is flooding when beta asks
    await submitMany('beta', 'few', 4);
    const [alpha, beta] = await Promise.all([waitAll('alpha', 'flood', 16), waitAll('beta', 'few', 4)]);
    expect([...alpha, ...beta].every((r) => r.status === 'completed')).toBe(true);
    const made = calls().slice(before);
    expect(made).toHaveLength(20);
    expect(
      busiestWindow(
        made.map((r) => r.at),
        10_000,
      ),
    ).toBeLessThanOrEqual(16);
    // Beta was not starved: its 4 calls were done well before alpha's flood was.
    const lastBeta = Math.max(...made.filter((r) => agentOf(r) === 'beta').map((r) => r.at));
    const lastAlpha = Math.max(...made.filter((r) => agentOf(r) === 'alpha').map((r) => r.at));
    expect(lastBeta).toBeLessThan(lastAlpha - 4_000);
  }, 90_000);

  it('a 429 with retry-after 3 pauses both processes, not only the one that got it', async () => {
    fake.failNext(429, { retryAfterSeconds: 3 });
    const before = calls().length;
    await submitMany('alpha', 'p', 3);
    await submitMany('beta', 'q', 3);
    const all = await Promise.all([waitAll('alpha', 'p', 3), waitAll('beta', 'q', 3)]);
    expect(all.flat().every((r) => r.status === 'completed')).toBe(true);
    const made = calls().slice(before);
    const refused = made.find((r) => r.status === 429);
    expect(refused).toBeDefined();
    const at = refused?.at ?? 0;
    // Calls already on their way when it came are not paused; every later one waits about 3 s.
    const after = made.filter((r) => r.at > at + 250);
    for (const agent of AGENTS) {
      const first = after.find((r) => agentOf(r) === agent);
      expect(first, `${agent} called again`).toBeDefined();
      expect((first?.at ?? 0) - at, `${agent} paused`).toBeGreaterThanOrEqual(2_700);
    }
  }, 60_000);

  it("a reply saying a limit of the API has nothing left pauses both processes until that limit's reset", async () => {
    const before = calls().length;
    const reset = () => new Date(Date.now() + 3_000).toISOString();
    fake.script((body) => ({
      text: `reply to ${JSON.stringify(body.messages?.at(-1)?.content ?? '')}`,
      headers: {
        'anthropic-ratelimit-input-tokens-remaining': '0',
        'anthropic-ratelimit-input-tokens-reset': reset(),
      },
    }));
    await submitMany('alpha', 'h', 1);
    const at = await waitFor('the reply that used up the limit', () => calls().slice(before)[0]?.at);
    await submitMany('alpha', 'h2', 2);
    await submitMany('beta', 'g', 2);
    const all = await Promise.all([waitAll('alpha', 'h2', 2), waitAll('beta', 'g', 2)]);
    expect(all.flat().every((r) => r.status === 'completed')).toBe(true);
    const after = calls().slice(before + 1);
    for (const agent of AGENTS) {
      const first = after.find((r) => agentOf(r) === agent);
      expect((first?.at ?? 0) - at, `${agent} paused`).toBeGreaterThanOrEqual(2_500);
    }
  }, 60_000);

  it('spool status shows each limit, the calls waiting in every process, and spend today against the daily budget', async () => {
    const coordinator = startCli(['coordinator', '--config', config], env);
    processes.coordinator = coordinator;
    await coordinator.waitForLog('coordinator answering status requests');
    await submitMany('alpha', 'w', 12);
    await submitMany('beta', 'v', 2);
    // Asked in-process: a CLI per poll takes seconds on a loaded machine, longer than the calls wait.
    const report = await waitFor('calls waiting in status', async () => {
      const reply = await requests(broker.connection).request(subjects.status, '{}', 5_000);
      const parsed = StatusReportSchema.parse(JSON.parse(reply));
      return (parsed.rateLimits[0]?.waiting ?? 0) > 0 ? parsed : undefined;
    });
    expect(report.rateLimits).toEqual([
      expect.objectContaining({
        key: 'claude-sonnet',
        source: 'limits.models.claude-sonnet',
        limit: { requestsPerMinute: 60 },
        paused: false,
      }),
    ]);
    const text = await runCli(['status'], env);
    expect(text.stdout).toMatch(
      /rate limit claude-sonnet \(limits\.models\.claude-sonnet\): 60 requests\/min \(\d+% of the burst in use\); \d+ call\(s\) waiting/,
    );
    await Promise.all([waitAll('alpha', 'w', 12), waitAll('beta', 'v', 2)]);
    const after = StatusReportSchema.parse(JSON.parse((await runCli(['status', '--json'], env)).stdout));
    const beta = after.spend.find((row) => row.agent === 'beta');
    expect(beta).toMatchObject({ dailyCostUsd: 1, heldUsd: 0 });
    expect(beta?.spentTodayUsd).toBeGreaterThan(0);
    expect(beta?.share).toBeCloseTo((beta?.spentTodayUsd ?? 0) / 1, 3);
    expect((await runCli(['status'], env)).stdout).toMatch(
      /spend today: alpha \$[0-9.]+ · beta \$[0-9.]+ of \$1\.00 \(\d+%\)/,
    );
    await coordinator.kill('SIGTERM');
  }, 90_000);

  it('the limit survives a restart of every process: a pause set before is still kept', async () => {
    fake.failNext(429, { retryAfterSeconds: 8 });
    const before = calls().length;
    await submitMany('alpha', 'r', 1);
    const at = await waitFor(
      'the 429',
      () =>
        calls()
          .slice(before)
          .find((r) => r.status === 429)?.at,
    );
    await Promise.all(AGENTS.map((a) => processes[a]?.kill('SIGKILL')));
    await Promise.all(AGENTS.map(start));
    await submitMany('beta', 's', 1);
    const done = await Promise.all([waitAll('alpha', 'r', 1), waitAll('beta', 's', 1)]);
    expect(done.flat().every((r) => r.status === 'completed')).toBe(true);
    const later = calls()
      .slice(before)
      .filter((r) => r.at > at + 250);
    for (const r of later) expect(r.at - at).toBeGreaterThanOrEqual(7_500);
    expect(later.length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
