import { defineTool, type HistoryEvent, taskIdOf } from '@spool/core';
import { connect, results, spend, submitTask } from '@spool/jetstream';
import { type AgentHandle, startPoolOnNats } from '@spool/runtime';
import type { MessagesBody, RecordedRequest } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../support/cli.ts';
import {
  analystSpec,
  capturingLogger,
  runAgentInProcess,
  startWorld,
  testLogger,
  type World,
} from '../support/world.ts';

let world: World;
let running: AgentHandle[] = [];
beforeAll(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await Promise.all(running.map((a) => a.stop()));
  running = [];
  world.fake.setLatency(0);
});
afterAll(async () => world?.close());

const submit = (agent: string, id: string, input: string) =>
  submitTask(world.connection, agent, { id, input });
const result = (agent: string, id: string) =>
  results(world.connection).wait(agent, id, AbortSignal.timeout(30_000));
async function eventsOf(agent: string, taskId: string): Promise<HistoryEvent[]> {
  return (await world.probe.history(agent)).flatMap((c) => c.events).filter((e) => taskIdOf(e) === taskId);
}
/** The Messages calls (not token counts) whose request carries `marker`. */
const callsWith = (marker: string): RecordedRequest[] =>
  world.fake.requests.filter((r) => r.path === '/v1/messages' && JSON.stringify(r.body).includes(marker));

const mean = defineTool({
  name: 'mean',
  description: 'The arithmetic mean of a list of numbers.',
  input: z.object({ values: z.array(z.number()).min(1) }),
  handler: ({ values }) => values.reduce((a, b) => a + b, 0) / values.length,
});

describe('budgets that refuse before paying', () => {
  it('refuses a first call over the task budget without reaching the model, names the limit, and runs the next task', async () => {
    const spec = analystSpec({ budget: { maxTokens: 300 }, memory: { exchanges: 0 } });
    running.push(await runAgentInProcess(world, 'frugal', spec));
    const big = `summarize: big-task ${'lorem ipsum dolor sit amet '.repeat(120)}`; // ~800 tokens
    await submit('frugal', 'f-1', big);
    const refused = await result('frugal', 'f-1');
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    expect(refused.error?.message).toMatch(
      /the next model call needs up to \d+ tokens .* of the 300 tokens allowed is used \(budget\.maxTokens\); the call was not made/,
    );
    expect(callsWith('big-task')).toEqual([]);
    // The exact count was asked (the estimate was within reach), the call was not.
    expect(world.fake.requests.some((r) => r.path === '/v1/messages/count_tokens')).toBe(true);
    const events = await eventsOf('frugal', 'f-1');
    expect(events.map((e) => e.type)).toContain('model.refused');
    expect(events.find((e) => e.type === 'model.refused')).toMatchObject({
      data: { limit: 'budget.maxTokens', unit: 'tokens', max: 300, used: 0 },
    });
    // spool replay shows why the call was not made.
    const replay = await runCli(['replay', 'frugal'], { natsUrl: world.nats.url });
    expect(replay.stdout).toMatch(/model\.refused .*step 0: call not made: the next model call needs up to/);

    // The next task fits once its max_tokens is lowered to what the budget leaves.
    await submit('frugal', 'f-2', 'small-task: hi');
    expect((await result('frugal', 'f-2')).status).toBe('completed');
    const [call] = callsWith('small-task');
    const maxTokens = ((call?.body ?? {}) as MessagesBody).max_tokens ?? 0;
    expect(maxTokens).toBeGreaterThanOrEqual(256);
    expect(maxTokens).toBeLessThan(300);
  });

  it('a restart does not ask again: the refusal is in the history', async () => {
    const spec = analystSpec({ budget: { maxTokens: 300 } });
    const first = await runAgentInProcess(world, 'refused-once', spec);
    await submit('refused-once', 'r-1', `again-task ${'word '.repeat(800)}`);
    await result('refused-once', 'r-1');
    await first.stop();
    const counts = world.fake.requests.length;
    running.push(await runAgentInProcess(world, 'refused-once', spec));
    await submit('refused-once', 'r-2', 'small-two: hi');
    await result('refused-once', 'r-2');
    expect(callsWith('again-task')).toEqual([]);
    expect(
      world.fake.requests.slice(counts).filter((r) => JSON.stringify(r.body).includes('again-task')),
    ).toEqual([]);
  });

  it('stops a tool loop before the call that would pass the budget', async () => {
    const spec = analystSpec({ tools: [mean], budget: { maxTokens: 2_000 } });
    running.push(await runAgentInProcess(world, 'looper', spec));
    world.fake.script({
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'mean', input: { values: [1, 2] } }],
      usage: { input_tokens: 1_600, output_tokens: 200 },
    });
    await submit('looper', 'l-1', 'loop-task: mean of 1 and 2');
    const failed = await result('looper', 'l-1');
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    // The reply's 1600 + 200 tokens (and the cache writes the fake reports) are used.
    const used = Number(
      /and (\d+) tokens of the 2000 tokens allowed is used \(budget\.maxTokens\)/.exec(
        failed.error?.message ?? '',
      )?.[1],
    );
    expect(used).toBeGreaterThanOrEqual(1_800);
    expect(callsWith('loop-task')).toHaveLength(1); // the first call only
    const types = (await eventsOf('looper', 'l-1')).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['tool.completed', 'model.refused', 'task.failed']));
  });

  it('makes the call with max_tokens lowered when that alone would pass the budget', async () => {
    const spec = analystSpec({ maxTokens: 4_096, budget: { maxTokens: 1_000, minOutputTokens: 200 } });
    running.push(await runAgentInProcess(world, 'lowered', spec));
    await submit('lowered', 'w-1', 'lowered-task: hello');
    expect((await result('lowered', 'w-1')).status).toBe('completed');
    const maxTokens = ((callsWith('lowered-task')[0]?.body ?? {}) as MessagesBody).max_tokens ?? 0;
    expect(maxTokens).toBeGreaterThan(900);
    expect(maxTokens).toBeLessThan(1_000);
  });
});

describe('the daily budget, shared through NATS', () => {
  it('32 concurrent calls against a daily limit that allows 10 make at most 10', async () => {
    // Output only is priced: each call is worth exactly its 300 output tokens, $0.0003.
    const spec = analystSpec({
      concurrency: 32,
      maxTokens: 300,
      prices: { 'claude-sonnet-4-6': { inputPerMTok: 0, outputPerMTok: 1 } },
      budget: { dailyCostUsd: 0.00315 },
    });
    world.fake.setLatency(300);
    const { logger, messages } = capturingLogger();
    running.push(
      await runAgentInProcess(world, 'daily', spec, { spend: await spend(world.connection), logger }),
    );
    world.fake.script(...Array.from({ length: 32 }, () => ({ text: 'ok', usage: { output_tokens: 300 } })));
    const ids = Array.from({ length: 32 }, (_, i) => `d-${i}`);
    await Promise.all(ids.map((id) => submit('daily', id, `daily-task ${id}`)));
    const outcomes = await Promise.all(ids.map((id) => result('daily', id)));
    const made = callsWith('daily-task').length;
    expect(made).toBeLessThanOrEqual(10);
    expect(made).toBeGreaterThanOrEqual(9);
    expect(outcomes.filter((r) => r.status === 'completed')).toHaveLength(made);
    const refused = outcomes.filter((r) => r.status === 'failed');
    expect(refused).toHaveLength(32 - made);
    for (const r of refused) expect(r.error?.message).toContain('(budget.dailyCostUsd)');
    // The shared ledger has the spend, and the 80% warning was logged.
    const today = await (await spend(world.connection)).read('daily');
    expect(today.spentUsd).toBeCloseTo(made * 0.0003, 6);
    expect(today.reservedUsd).toBe(0);
    expect(messages.some((m) => m.includes('of its daily budget of $0.0032 (budget.dailyCostUsd)'))).toBe(
      true,
    );
  });

  it("a pool's replicas on two connections (as two processes) share one daily budget: 32 calls in flight, at most 10 made", async () => {
    const spec = analystSpec({
      replicas: 2,
      concurrency: 16,
      maxTokens: 300,
      prices: { 'claude-sonnet-4-6': { inputPerMTok: 0, outputPerMTok: 1 } },
      budget: { dailyCostUsd: 0.00315 },
    });
    world.fake.setLatency(300);
    world.fake.script(...Array.from({ length: 32 }, () => ({ text: 'ok', usage: { output_tokens: 300 } })));
    const connections = await Promise.all(
      [1, 2].map((k) => connect({ url: world.nats.url, name: `replica-${k}`, logger: testLogger })),
    );
    const replicas = await Promise.all(
      connections.map((connection, i) =>
        startPoolOnNats(connection, {
          name: 'shared',
          spec,
          replicas: [i + 1],
          holder: `process-${i + 1}`,
          model: world.model,
          logger: testLogger,
          fetchExpiresMs: 500,
        }),
      ),
    );
    try {
      await Promise.all(replicas.map((r) => r.ready));
      const ids = Array.from({ length: 32 }, (_, i) => `s-${i}`);
      await Promise.all(ids.map((id) => submit('shared', id, `shared-task ${id}`)));
      const outcomes = await Promise.all(ids.map((id) => result('shared', id)));
      const made = callsWith('shared-task').length;
      expect(made).toBeLessThanOrEqual(10);
      expect(made).toBeGreaterThanOrEqual(9);
      expect(outcomes.filter((r) => r.status === 'completed')).toHaveLength(made);
      // Both replicas worked, and both were refused by the one budget.
      expect(new Set(outcomes.map((r) => r.replica)).size).toBe(2);
      for (const r of outcomes.filter((o) => o.status === 'failed'))
        expect(r.error?.message).toContain('(budget.dailyCostUsd)');
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await Promise.all(connections.map((c) => c.close()));
    }
  });
});
