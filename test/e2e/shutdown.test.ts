import { results, submitTask } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => world?.close());

const requestsFor = (text: string) =>
  world.fake.requests.filter((r) => JSON.stringify(r.body).includes(text));

describe('graceful shutdown (SIGTERM)', () => {
  it('lets the call in flight finish, publishes its result, hands the queued task back, and exits 0', async () => {
    const config = writeConfig({
      agents: { calm: { instructions: 'Work.', model: 'claude-sonnet-4-6', shutdownGraceMs: 10_000 } },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    world.fake.setLatency(1_500);
    const agent = startCli(['agent', 'calm', '--config', config], env);
    await agent.waitForLog('history replayed');
    await submitTask(world.connection, 'calm', { id: 'g-1', input: 'in flight at SIGTERM' });
    await submitTask(world.connection, 'calm', { id: 'g-2', input: 'queued at SIGTERM' });
    await waitFor('the first call in flight', () => requestsFor('in flight at SIGTERM').length === 1, 10_000);

    const stopping = Date.now();
    const code = await agent.kill('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(8_000);
    expect((await results(world.connection).get('calm', 'g-1'))?.status).toBe('completed');
    expect(await results(world.connection).get('calm', 'g-2')).toBeUndefined();
    expect(requestsFor('queued at SIGTERM')).toHaveLength(0);
    world.fake.setLatency(0);

    // The queued task was handed back, not lost: the next process does it.
    const next = startCli(['agent', 'calm', '--config', config], env);
    const done = await results(world.connection).wait('calm', 'g-2', AbortSignal.timeout(20_000));
    expect(done.status).toBe('completed');
    expect(await next.kill('SIGTERM')).toBe(0);
  });

  it('abandons a call that outlives the grace period, exits in bounded time, and the task resumes on restart', async () => {
    const config = writeConfig({
      agents: { hasty: { instructions: 'Work.', model: 'claude-sonnet-4-6', shutdownGraceMs: 1_000 } },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    world.fake.stallNext(); // never answers
    const agent = startCli(['agent', 'hasty', '--config', config], env);
    await agent.waitForLog('history replayed');
    await submitTask(world.connection, 'hasty', { id: 'h-1', input: 'stalled at SIGTERM' });
    await waitFor('the stalled call', () => requestsFor('stalled at SIGTERM').length === 1, 10_000);

    const stopping = Date.now();
    expect(await agent.kill('SIGTERM')).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(6_000);

    const next = startCli(['agent', 'hasty', '--config', config], env);
    const done = await results(world.connection).wait('hasty', 'h-1', AbortSignal.timeout(20_000));
    expect(done.status).toBe('completed');
    const resumed = (await world.probe.history('hasty'))
      .flatMap((c) => c.events)
      .filter((e) => e.type === 'task.resumed');
    expect(resumed).toHaveLength(1);
    expect(await next.kill('SIGTERM')).toBe(0);
  });
});
