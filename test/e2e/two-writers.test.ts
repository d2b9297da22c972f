import { type HistoryEvent, taskIdOf } from '@spool/core';
import type { Lease, Leases } from '@spool/jetstream';
import { submitTask } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, capturingLogger, runAgentInProcess, startWorld, type World } from '../support/world.ts';

/** A lease table that grants every claim at once: both writers believe they hold the name. */
const careless: Leases = {
  acquire: async (agent, holder): Promise<Lease> => ({
    agent,
    holder,
    lost: new AbortController().signal,
    takeover: false,
    release: async () => undefined,
  }),
  list: async () => [],
};

function checkHistory(events: HistoryEvent[], tasks: number): void {
  // Every event id is unique: no decision was written twice.
  expect([...countBy(events, (e) => e.id).values()].every((n) => n === 1)).toBe(true);
  const byType = (type: string) => events.filter((e) => e.type === type).map(taskIdOf);
  expect(new Set(byType('task.completed')).size).toBe(tasks);
  expect(byType('task.completed')).toHaveLength(tasks);
  expect(byType('result.published')).toHaveLength(tasks);
}

describe('single writer - two processes with the same agent name', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ latencyMs: 20 });
  });
  afterAll(() => world?.close());

  it('keeps the second process standing by while the first holds the name, then hands over', async () => {
    const config = writeConfig({
      agents: {
        twin: { instructions: 'Work.', model: 'claude-sonnet-4-6', concurrency: 2, leaseTtlMs: 2000 },
      },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    const a = startCli(['agent', 'twin', '--config', config], env);
    await a.waitForLog('history replayed');
    const b = startCli(['agent', 'twin', '--config', config], env);
    await b.waitForLog('standing by');
    for (let i = 0; i < 20; i++)
      await submitTask(world.connection, 'twin', { id: `t-${i}`, input: `task ${i}` });
    await waitFor('some results', async () => (await world.probe.results('twin')).length >= 5);
    await a.kill('SIGKILL');
    await b.waitForLog('history replayed');
    await waitFor('all results', async () => (await world.probe.results('twin')).length >= 20, 30_000);
    await b.kill('SIGTERM');

    const stored = await world.probe.results('twin');
    expect(stored).toHaveLength(20);
    checkHistory(
      (await world.probe.history('twin')).flatMap((c) => c.events),
      20,
    );
  });

  it('fences a writer that believes it holds the name: appends never interleave', async () => {
    const spec = analystSpec({ concurrency: 4 });
    const { logger, messages } = capturingLogger();
    const one = await runAgentInProcess(world, 'fenced', spec, { leases: careless, logger });
    const two = await runAgentInProcess(world, 'fenced', spec, { leases: careless, logger });
    for (let i = 0; i < 40; i++)
      await submitTask(world.connection, 'fenced', { id: `f-${i}`, input: `fenced ${i}` });
    await waitFor('all results', async () => (await world.probe.results('fenced')).length >= 40, 60_000);
    await Promise.all([one.stop(), two.stop()]);

    const stored = await world.probe.results('fenced');
    expect(stored).toHaveLength(40);
    expect(new Set(stored.map((r) => r.taskId)).size).toBe(40);
    checkHistory(
      (await world.probe.history('fenced')).flatMap((c) => c.events),
      40,
    );
    // The race really happened: appends on a stale view were refused and their writer stepped back.
    expect(messages.filter((m) => m.includes('another writer appended')).length).toBeGreaterThan(0);
  });
});
