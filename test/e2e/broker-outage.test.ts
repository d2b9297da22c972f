import { startCoordinator } from '@spool/coordinator';
import { StatusReportSchema, subjects } from '@spool/core';
import { connect, requests, submitTask } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { runCli } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { capturingLogger, runAgentInProcess, startWorld, type World } from '../support/world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld({ latencyMs: 200 });
});
afterAll(async () => world?.close());

const TASKS = 12;

describe('a NATS outage in the middle of work (SIGKILL, restart on the same port and data)', () => {
  it('agent, coordinator and a waiting CLI carry on: every task ends once, nothing is lost', {
    timeout: 120_000,
  }, async () => {
    const { logger, messages } = capturingLogger();
    const agent = await runAgentInProcess(world, 'outlasting');
    // The coordinator on a connection of its own, whose logger shows what the user sees of the outage.
    const coordinatorConnection = await connect({ url: world.nats.url, name: 'coordinator', logger });
    const coordinator = await startCoordinator({
      connection: coordinatorConnection,
      agents: ['outlasting'],
      logger,
    });
    await coordinator.ready;
    try {
      // A CLI already waiting for a result when the broker dies.
      const waiting = runCli(
        ['submit', 'outlasting', 'waited across the outage', '--id', 'o-cli', '--wait', '--json'],
        {
          natsUrl: world.nats.url,
          anthropicBaseUrl: world.fake.url,
        },
      );
      await waitFor('the CLI to submit', async () =>
        (await world.probe.history('outlasting')).some((c) =>
          c.events.some((e) => e.id === 'outlasting:o-cli:received'),
        ),
      );
      for (let i = 0; i < TASKS; i++)
        await submitTask(world.connection, 'outlasting', { id: `o-${i}`, input: `outage task ${i}` });
      await waitFor(
        'some results',
        async () => (await world.probe.results('outlasting')).length >= 2,
        20_000,
      );

      await world.nats.kill();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await world.nats.restart();

      await waitFor(
        'every result',
        async () => (await world.probe.results('outlasting')).length >= TASKS + 1,
        40_000,
      );
      const stored = await world.probe.results('outlasting');
      expect(stored).toHaveLength(TASKS + 1);
      expect([...countBy(stored, (r) => r.taskId).values()].every((n) => n === 1)).toBe(true);
      expect(stored.every((r) => r.status === 'completed')).toBe(true);
      const events = (await world.probe.history('outlasting')).flatMap((c) => c.events);
      expect([...countBy(events, (e) => e.id).values()].every((n) => n === 1)).toBe(true);

      const cli = await waiting;
      expect(cli.code).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ taskId: 'o-cli', status: 'completed' });

      // The outage is in the logs, plainly.
      expect(messages).toContain('NATS connection lost; reconnecting');
      expect(messages).toContain('NATS connection is back');
      // The coordinator answers again, with the work done during and after the outage.
      await waitFor('the registry to catch up', async () => {
        const report = StatusReportSchema.parse(
          JSON.parse(await requests(world.connection).request(subjects.status, '{}', 2_000)),
        );
        return report.agents.find((a) => a.name === 'outlasting')?.counts.completed === TASKS + 1;
      });
    } finally {
      await coordinator.stop();
      await coordinatorConnection.close();
      await agent.stop();
    }
  });
});
