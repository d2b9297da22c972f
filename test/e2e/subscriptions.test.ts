import { submitTask } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => world?.close());

describe('subscriptions', () => {
  it('turns each completed result of another agent into one task, exactly once across a crash', async () => {
    const config = writeConfig({
      agents: {
        researcher: { instructions: 'Research.', model: 'claude-sonnet-4-6' },
        writer: {
          instructions: 'Write.',
          model: 'claude-sonnet-4-6',
          leaseTtlMs: 1_000,
          subscriptions: [
            { name: 'research', subject: 'spool.results.researcher.>', input: 'Write up: {{output}}' },
          ],
        },
      },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    const first = startCli(['up', '--config', config], env);
    await first.waitForLog('spool is up');
    for (let i = 0; i < 3; i++)
      await submitTask(world.connection, 'researcher', { id: `r-${i}`, input: `topic ${i}` });
    await waitFor('three write-ups', async () => (await world.probe.results('writer')).length >= 3, 30_000);
    world.fake.failNext(400); // a failed research result is not written up
    await submitTask(world.connection, 'researcher', { id: 'r-bad', input: 'topic bad' });
    await waitFor('the failed research', async () =>
      (await world.probe.results('researcher')).some((r) => r.taskId === 'r-bad'),
    );

    await first.kill('SIGKILL');
    const second = startCli(['up', '--config', config], env);
    await second.waitForLog('spool is up');
    for (let i = 3; i < 5; i++)
      await submitTask(world.connection, 'researcher', { id: `r-${i}`, input: `topic ${i}` });
    await waitFor('five write-ups', async () => (await world.probe.results('writer')).length >= 5, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // any duplicate would show up now
    await second.kill('SIGTERM');

    const writeUps = await world.probe.results('writer');
    expect(writeUps).toHaveLength(5);
    expect([...countBy(writeUps, (r) => r.taskId).values()].every((n) => n === 1)).toBe(true);
    expect(writeUps.every((r) => /^research-\d+$/.test(r.taskId) && r.status === 'completed')).toBe(true);
    expect(writeUps.map((r) => r.meta?.from)).toEqual(
      expect.arrayContaining([0, 1, 2, 3, 4].map((i) => ({ agent: 'researcher', taskId: `r-${i}` }))),
    );
    expect(writeUps[0]?.output).toContain('fake reply to: Write up: fake reply to: topic');
  });
});
