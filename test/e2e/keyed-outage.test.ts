import type { AgentEvent } from '@spool/core';
import { keyedHistoryStore, results, submitTask } from '@spool/jetstream';
import { type KeyedHostHandle, startKeyedOnNats } from '@spool/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, capturingLogger, startWorld, type World } from '../support/world.ts';

/**
 * A keyed host cut off from NATS for longer than its lease's ttl: other hosts would adopt its
 * keys the moment its lease looks expired, so it stops its instances by then, and holds a new
 * lease as a new host that adopts what the old one left (here: itself, the only host).
 */

let world: World | undefined;
let host: KeyedHostHandle | undefined;
afterEach(async () => {
  await host?.stop();
  await world?.close();
});

const TTL_MS = 1_000;

describe('a keyed host through a NATS outage longer than its lease ttl', () => {
  it('stops its instances at the lease’s expiry, comes back as a new host, and finishes the task once', async () => {
    world = await startWorld();
    const { logger, records } = capturingLogger();
    host = await startKeyedOnNats(world.connection, {
      name: 'desk',
      spec: analystSpec({ keyed: true, leaseTtlMs: TTL_MS }),
      holder: 'test',
      model: world.model,
      logger,
      ackWaitMs: 2_000,
      fetchExpiresMs: 500,
    });
    await host.ready;
    const running = records.find((r) => r.msg === 'keyed agent host running');
    const firstHost = String(running?.host);

    // A task whose model call is in flight when NATS goes away.
    const held = world.fake.holdNextCall();
    await submitTask(world.connection, 'desk.acme', { id: 'a1', input: 'acme one' });
    await held.started;
    await world.nats.kill();
    const lost = await waitFor(
      'the host to give its lease up',
      () => records.find((r) => String(r.msg).startsWith('host lease lost')),
      10_000,
    );
    expect(String(lost.err)).toContain('not renewed within its ttl');
    expect(lost.next).toBe(`${firstHost}-2`);
    // Its instances end with the lease, at once: the one whose model call is in flight gives
    // the call up rather than finish it within the stop's grace period (shutdownGraceMs, 10 s by default).
    const h = host;
    expect(h.activeKeys()).toEqual([]);
    await waitFor('its instance to stop', () => h.instanceState('acme') === undefined, 5_000);
    await world.nats.restart();
    held.finish();

    const sink = results(world.connection);
    const a1 = await sink.wait('desk.acme', 'a1', AbortSignal.timeout(30_000));
    expect(a1).toMatchObject({ status: 'completed', output: 'fake reply to: acme one' });
    // Served under the new host id: a new key's task, and the next task of the adopted one.
    await submitTask(world.connection, 'desk.globex', { id: 'g1', input: 'globex one' });
    await submitTask(world.connection, 'desk.acme', { id: 'a2', input: 'acme two' });
    expect((await sink.wait('desk.globex', 'g1', AbortSignal.timeout(20_000))).status).toBe('completed');
    expect((await sink.wait('desk.acme', 'a2', AbortSignal.timeout(20_000))).output).toBe(
      'fake reply to: acme two',
    );
    expect(
      records.find((r) => r.msg === 'keyed agent host running' && r.host === `${firstHost}-2`),
    ).toBeDefined();

    // Each decision once in the key's history, and one result per task.
    const events: AgentEvent[] = [];
    const store = keyedHistoryStore(world.connection, (json) => json as { events: AgentEvent[] });
    for await (const commit of store.replay('desk.acme')) events.push(...commit.events);
    const count = (type: AgentEvent['type']) => events.filter((e) => e.type === type).length;
    expect({ received: count('task.received'), completed: count('task.completed') }).toEqual({
      received: 2,
      completed: 2,
    });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(await world.probe.results('desk')).toHaveLength(3);
  });
});
