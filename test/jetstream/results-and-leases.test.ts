import type { TaskResult } from '@spool/core';
import { connect, type LeaseInfo, leases, results, watchResults } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { type Broker, startBroker, testLogger } from '../support/world.ts';

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => broker?.close());

const completed = (agent: string, taskId: string, output: string): TaskResult => ({
  taskId,
  agent,
  status: 'completed',
  output,
  usage: { inputTokens: 1, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
  steps: 1,
  attempts: 1,
  finishedAt: new Date().toISOString(),
});

describe('results', () => {
  it('stores one result per task id: a second publish is a no-op and the first stays', async () => {
    const store = results(broker.connection);
    const first = await store.publish(completed('pub', 't-1', 'first'));
    expect(first.alreadyPublished).toBe(false);
    expect(await store.publish(completed('pub', 't-1', 'first'))).toEqual({
      seq: first.seq,
      alreadyPublished: true,
    });
    // A different result for the same id (a second writer) is refused as well.
    expect((await store.publish(completed('pub', 't-1', 'other'))).alreadyPublished).toBe(true);
    expect((await store.get('pub', 't-1'))?.output).toBe('first');
    expect(await store.get('pub', 'missing')).toBeUndefined();
    expect((await broker.probe.results('pub')).length).toBe(1);
  });

  it('wait resolves with a result already stored, and with one that arrives later', async () => {
    const store = results(broker.connection);
    await store.publish(completed('waiter', 'early', 'was there'));
    expect((await store.wait('waiter', 'early')).output).toBe('was there');

    const later = store.wait('waiter', 'late');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await store.publish(completed('waiter', 'late', 'arrived'));
    expect((await later).output).toBe('arrived');
  });

  it('wait stops when its signal aborts', async () => {
    const controller = new AbortController();
    const waiting = results(broker.connection).wait('waiter', 'never', controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow();
  });

  it('watchResults delivers stored results, catches up, then delivers new ones live', async () => {
    const store = results(broker.connection);
    await store.publish(completed('watched', 'r-1', 'one'));
    const watch = await watchResults(broker.connection);
    const seen: string[] = [];
    const consuming = (async () => {
      for await (const { result } of watch) if (result.agent === 'watched') seen.push(result.taskId);
    })();
    try {
      await watch.caughtUp;
      expect(seen).toEqual(['r-1']);
      await store.publish(completed('watched', 'r-2', 'two'));
      await waitFor('the live result', () => seen.includes('r-2'), 10_000);
    } finally {
      await watch.stop();
      await consuming;
    }
  });

  it("watchResults from 'now' skips stored results and delivers new ones", async () => {
    const store = results(broker.connection);
    await store.publish(completed('watched-now', 'n-1', 'old'));
    const watch = await watchResults(broker.connection, undefined, { from: 'now' });
    const seen: string[] = [];
    const consuming = (async () => {
      for await (const { result } of watch) if (result.agent === 'watched-now') seen.push(result.taskId);
    })();
    try {
      await store.publish(completed('watched-now', 'n-2', 'new'));
      await waitFor('the new result', () => seen.includes('n-2'), 10_000);
      expect(seen).toEqual(['n-2']);
    } finally {
      await watch.stop();
      await consuming;
    }
  });
});

describe('leases', () => {
  it('gives a free name to the first holder; a second waits until it is released', async () => {
    const registry = await leases(broker.connection);
    const first = await registry.acquire('leased', 'holder-a', { ttlMs: 2_000 });
    expect(first.takeover).toBe(false);
    expect(await registry.list()).toContainEqual(
      expect.objectContaining({ agent: 'leased', holder: 'holder-a', expired: false }),
    );

    const waits: LeaseInfo[] = [];
    const second = registry.acquire('leased', 'holder-b', { ttlMs: 2_000, onWait: (i) => waits.push(i) });
    await waitFor('the second holder to wait', () => waits.length > 0, 5_000);
    expect(waits[0]?.holder).toBe('holder-a');

    await first.release();
    const lease = await second;
    expect(lease.takeover).toBe(false); // released, not taken over
    expect(first.lost.aborted).toBe(true);
    await lease.release();
  });

  it('a standby stops waiting when its signal aborts', async () => {
    const registry = await leases(broker.connection);
    const held = await registry.acquire('busy', 'holder-a', { ttlMs: 5_000 });
    const controller = new AbortController();
    const waiting = registry.acquire('busy', 'holder-b', { ttlMs: 5_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutting down')), 300);
    await expect(waiting).rejects.toThrow('shutting down');
    await held.release();
  });

  it('a holder that stops renewing loses the name after its ttl, and the next one takes it over', async () => {
    // The first holder has a connection of its own: closing it is the holder dying.
    const dying = await connect({ url: broker.nats.url, name: 'dying', logger: testLogger });
    const dead = await (await leases(dying)).acquire('crashy', 'holder-a', { ttlMs: 1_000 });
    await dying.close();

    const started = Date.now();
    const successor = await (await leases(broker.connection)).acquire('crashy', 'holder-b', { ttlMs: 1_000 });
    expect(successor.takeover).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor('the dead holder to notice it lost the lease', () => dead.lost.aborted, 5_000);
    await successor.release();
  });
});
