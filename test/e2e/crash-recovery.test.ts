import { submitTask } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

const TASKS = 24;

describe('agent process - SIGKILL with tasks in flight, then restart', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ latencyMs: 300 });
  });
  afterAll(() => world?.close());

  it('gives every task exactly one result and never re-requests a journaled reply', async () => {
    const config = writeConfig({
      agents: {
        worker: { instructions: 'Work.', model: 'claude-sonnet-4-6', concurrency: 4, leaseTtlMs: 2000 },
      },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    const first = startCli(['agent', 'worker', '--config', config], env);
    await first.waitForLog('history replayed');
    for (let i = 0; i < TASKS; i++)
      await submitTask(world.connection, 'worker', { id: `job-${i}`, input: `job number ${i}` });

    // Kill once some replies are journaled and more calls are in flight.
    await waitFor('journaled replies and calls in flight', async () => {
      const responded = (await world.probe.history('worker'))
        .flatMap((c) => c.events)
        .filter((e) => e.type === 'model.responded');
      return responded.length >= 6 && world.fake.requests.length > responded.length;
    });
    await first.kill('SIGKILL');
    const requestsAtKill = world.fake.requests.length;
    const journaledAtKill = (await world.probe.history('worker'))
      .flatMap((c) => c.events)
      .filter((e) => e.type === 'model.responded').length;

    const second = startCli(['agent', 'worker', '--config', config], env);
    await waitFor(
      'every task to have a result',
      async () => (await world.probe.results('worker')).length >= TASKS,
      60_000,
    );
    await second.kill('SIGTERM');

    const stored = await world.probe.results('worker');
    expect(stored).toHaveLength(TASKS);
    expect([...countBy(stored, (r) => r.taskId).values()].every((n) => n === 1)).toBe(true);
    expect(stored.every((r) => r.status === 'completed')).toBe(true);

    // No request for a step whose reply was already in the history when the request arrived.
    const history = await world.probe.history('worker');
    const journaledAt = new Map<string, number>();
    const inputOf = new Map<string, string>();
    for (const commit of history) {
      for (const event of commit.events) {
        if (event.type === 'task.received') inputOf.set(event.data.input, event.data.taskId);
        if (event.type === 'model.responded') journaledAt.set(event.data.taskId, commit.time);
      }
    }
    const repeats = world.fake.requests.filter((r) => {
      const body = r.body as { messages: { content: unknown }[] };
      const taskId = inputOf.get(String(body.messages.at(-1)?.content));
      const at = taskId === undefined ? undefined : journaledAt.get(taskId);
      return at !== undefined && r.at > at;
    });
    expect(repeats).toEqual([]);
    // Only calls in flight at the kill may have been made twice.
    expect(world.fake.requests.length).toBeLessThanOrEqual(TASKS + (requestsAtKill - journaledAtKill));
    const completed = history.flatMap((c) => c.events).filter((e) => e.type === 'task.completed');
    expect(completed).toHaveLength(TASKS);
  });
});
