import { applyCommit, initialState, isAgentEvent, toSnapshot } from '@spool/core/internal';
import { results, submitTask } from '@spool/jetstream';
import type { MessagesBody } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, runAgentInProcess, startWorld, type World } from '../support/world.ts';

let world: World;
/** Answers the summarizer with a short summary, everything else with a long reply. */
const responder = (body: MessagesBody) => {
  const system = JSON.stringify(body.system ?? '');
  if (system.includes('compress'))
    return `SUMMARY covering ${String(body.messages?.[0]?.content ?? '').split('User:').length - 1} exchange(s)`;
  const question = body.messages?.at(-1)?.content;
  return `Answer to ${typeof question === 'string' ? question.slice(0, 20) : 'that'}: ${'details '.repeat(40)}`;
};

beforeAll(async () => {
  world = await startWorld({ responder });
});
afterAll(async () => world?.close());

describe('memory compaction', () => {
  it('summarizes older exchanges when a request would pass the window share; replay rebuilds it without the model', async () => {
    const spec = analystSpec({
      memory: { exchanges: 50, maxChars: 1_000_000, contextWindow: 2_000, compactAt: 0.5, keepRecent: 1 },
    });
    const agent = await runAgentInProcess(world, 'compacting', spec);
    for (let i = 0; i < 8; i++) {
      await submitTask(world.connection, 'compacting', {
        id: `c-${i}`,
        input: `Question ${i}: ${'context '.repeat(30)}`,
      });
      await results(world.connection).wait('compacting', `c-${i}`, AbortSignal.timeout(20_000));
    }
    // The last result is out before its publication is journaled: wait until nothing is active.
    await waitFor('the last publication to be journaled', () => agent.state()?.active.size === 0);
    const live = toSnapshot(agent.state() ?? initialState('compacting'));
    await agent.stop();

    const history = await world.probe.history('compacting');
    const compactions = history.flatMap((c) => c.events).filter((e) => e.type === 'memory.compacted');
    expect(compactions.length).toBeGreaterThan(0);
    expect(world.fake.requests.some((r) => r.path === '/v1/messages/count_tokens')).toBe(true);

    // The summarizing call has its own system prompt; later requests carry the summary, not the old turns.
    const calls = world.fake.requests.filter((r) => r.path === '/v1/messages');
    const summarizer = calls.find((r) =>
      JSON.stringify((r.body as MessagesBody).system).includes('compress'),
    );
    expect(summarizer).toBeDefined();
    const last = calls.at(-1)?.body as MessagesBody;
    expect(JSON.stringify(last.messages)).toContain('A summary of our earlier work');
    expect(JSON.stringify(last.messages)).not.toContain('Question 0:');
    // Every request stays within reach of the window: compaction kept the conversation bounded.
    expect(JSON.stringify(last).length / 4).toBeLessThan(2_000);

    // Replay folds the same state from the history alone: no model is called.
    const before = world.fake.requests.length;
    const replayed = initialState('compacting');
    for (const commit of history)
      applyCommit(replayed, { ...commit, events: commit.events.filter(isAgentEvent) });
    expect(toSnapshot(replayed)).toEqual(live);
    expect(world.fake.requests.length).toBe(before);
    expect(replayed.memorySummary?.text).toMatch(/^SUMMARY covering/);
  });
});
