import type { ControlMessage } from '@spool/core';
import { results, sendControl, submitTask } from '@spool/jetstream';
import type { AgentHandle } from '@spool/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { capturingLogger, runAgentInProcess, startWorld, type World } from '../support/world.ts';

let world: World;
let running: AgentHandle[] = [];
let controlIds = 0;

beforeAll(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await Promise.all(running.map((a) => a.stop()));
  running = [];
  world.fake.setLatency(0);
});
afterAll(async () => world?.close());

async function run(name: string, logger = capturingLogger()) {
  const agent = await runAgentInProcess(world, name, undefined, { logger: logger.logger });
  running.push(agent);
  return { agent, ...logger };
}

const control = (agent: string, message: ControlMessage) =>
  sendControl(world.connection, agent, message, `c-${++controlIds}`);
const submit = (agent: string, id: string, input = `input of ${id}`) =>
  submitTask(world.connection, agent, { id, input });
const result = (agent: string, id: string) =>
  results(world.connection).wait(agent, id, AbortSignal.timeout(20_000));
const requestsFor = (text: string) =>
  world.fake.requests.filter((r) => JSON.stringify(r.body).includes(text)).length;

describe('pause and resume', () => {
  it('a paused agent starts nothing, restarts paused, and works again once resumed', async () => {
    const first = await run('pausable');
    await control('pausable', { type: 'pause', reason: 'maintenance' });
    await waitFor('the pause to be journaled', () => first.agent.state()?.paused === true, 10_000);

    await submit('pausable', 'p-1', 'paused work one');
    await submit('pausable', 'p-2', 'paused work two');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(requestsFor('paused work')).toBe(0);
    expect(await results(world.connection).get('pausable', 'p-1')).toBeUndefined();

    // A restart keeps it paused: the pause is in the history, not in memory.
    await first.agent.stop();
    const second = await run('pausable');
    expect(second.agent.state()?.paused).toBe(true);
    expect(second.messages).toContain('agent is paused: it queues tasks and starts none until resumed');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(requestsFor('paused work')).toBe(0);

    await control('pausable', { type: 'resume' });
    expect((await result('pausable', 'p-1')).status).toBe('completed');
    expect((await result('pausable', 'p-2')).status).toBe('completed');
    expect(second.messages).toContain('agent resumed');
  });

  it('the model call in flight when the pause arrives finishes; the next task waits', async () => {
    const { agent } = await run('midflight');
    world.fake.setLatency(1_000);
    await submit('midflight', 'm-1', 'slow call one');
    await waitFor('the first call to be in flight', () => requestsFor('slow call one') === 1, 10_000);
    await control('midflight', { type: 'pause' });
    await submit('midflight', 'm-2', 'slow call two');
    expect((await result('midflight', 'm-1')).status).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(requestsFor('slow call two')).toBe(0);
    expect(agent.state()?.paused).toBe(true);
  });
});

describe('cancel', () => {
  it('cancels a running task: its model call is abandoned and the result says cancelled', async () => {
    await run('canceller');
    world.fake.stallNext(); // this call never answers
    await submit('canceller', 'c-1', 'never answered');
    await waitFor('the stalled call', () => requestsFor('never answered') === 1, 10_000);
    await control('canceller', { type: 'cancel', taskId: 'c-1', reason: 'taking too long' });
    const cancelled = await result('canceller', 'c-1');
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      error: { code: 'cancelled', message: 'taking too long' },
    });
    // The agent goes on with the next task.
    await submit('canceller', 'c-2');
    expect((await result('canceller', 'c-2')).status).toBe('completed');
  });

  it('cancels a task sent before the agent ever ran, without calling the model', async () => {
    await control('latecomer', { type: 'cancel', taskId: 'early-cancel' });
    await submit('latecomer', 'early-cancel', 'cancelled before it ran');
    await run('latecomer');
    expect((await result('latecomer', 'early-cancel')).status).toBe('cancelled');
    expect(requestsFor('cancelled before it ran')).toBe(0);
  });

  it('leaves a finished task as it is and says so', async () => {
    const { messages } = await run('finisher');
    await submit('finisher', 'done-1');
    expect((await result('finisher', 'done-1')).status).toBe('completed');
    await control('finisher', { type: 'cancel', taskId: 'done-1' });
    await waitFor(
      'the refusal',
      () => messages.some((m) => m.includes('the task has already finished')),
      10_000,
    );
    expect((await result('finisher', 'done-1')).status).toBe('completed');
  });
});

describe('bad control messages', () => {
  it('are refused in the log with the reason, and the agent keeps working', async () => {
    const { messages } = await run('strict');
    const raw = [
      'not json',
      '{"type":"explode"}',
      '{"type":"cancel"}',
      '{"type":"pause","extra":1}',
      '[1,2]',
    ];
    for (const payload of raw)
      await world.probe.nc.request('spool.control.strict', payload).catch(() => undefined);
    await waitFor(
      'a refusal per bad message',
      () => messages.filter((m) => m.startsWith('control message refused')).length === raw.length,
      10_000,
    );
    const refusals = messages.filter((m) => m.startsWith('control message refused'));
    expect(refusals[0]).toContain('not JSON');
    expect(refusals[1]).toContain(
      'type must be "pause", "resume", "cancel", "retry", "drop", "approve" or "deny"',
    );
    expect(refusals[2]).toContain('taskId');
    expect(refusals[3]).toContain('unknown field(s) extra');
    await submit('strict', 's-1');
    expect((await result('strict', 's-1')).status).toBe('completed');
  });
});
