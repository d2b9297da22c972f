import { results, submitTask } from '@spool/jetstream';
import { analystResponder } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgentInProcess, startWorld, type World } from '../support/world.ts';

const TASK_1 = 'Analyze this dataset: [1,2,3,4,5]. Calculate the mean.';
const TASK_2 = 'Now calculate the standard deviation and compare it with the mean.';

describe('agent memory - the seed scenario across a restart', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ responder: analystResponder });
  });
  afterAll(() => world?.close());

  it('carries the first exchange into the second request, rebuilt from replayed history', async () => {
    const sink = results(world.connection);
    let agent = await runAgentInProcess(world, 'analyst');
    await submitTask(world.connection, 'analyst', { id: 'seed-1', input: TASK_1 });
    const first = await sink.wait('analyst', 'seed-1', AbortSignal.timeout(20_000));
    expect(first.status).toBe('completed');
    expect(first.output).toMatch(/mean is 3/);

    // A new process: nothing survives but the history.
    await agent.stop();
    agent = await runAgentInProcess(world, 'analyst');
    await submitTask(world.connection, 'analyst', { id: 'seed-2', input: TASK_2 });
    const second = await sink.wait('analyst', 'seed-2', AbortSignal.timeout(20_000));
    await agent.stop();

    expect(second.status).toBe('completed');
    expect(second.output).toMatch(/standard deviation/i);
    expect(second.output).toMatch(/1\.414/);
    const lastRequest = world.fake.requests.at(-1)?.body as {
      messages: { role: string; content: unknown }[];
      system: unknown;
    };
    expect(lastRequest.messages).toEqual([
      { role: 'user', content: TASK_1 },
      { role: 'assistant', content: first.output },
      { role: 'user', content: TASK_2 },
    ]);
    // The system prompt comes from the spec on every call, marked for prompt caching.
    expect(lastRequest.system).toEqual([
      { type: 'text', text: 'You analyze data.', cache_control: { type: 'ephemeral' } },
    ]);
  });
});
