import type { AgentEvent } from '@spool/core';
import { keyedCensus, keyedHistoryStore, keyedOwnership, type KeyedOwnership } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { type Broker, startBroker } from '../support/world.ts';

/**
 * Keyed agents' ownership records (jetstream's keyed-ownership.ts) against a real nats-server:
 * one owner per key by compare-and-swap, valid while its host's lease lives, adopted once that
 * lease expires, released only by the owner it still names; wake records; and the census that
 * `spool status` shows.
 */
let broker: Broker;
let ownership: KeyedOwnership;
beforeAll(async () => {
  broker = await startBroker();
  ownership = await keyedOwnership(broker.connection);
});
afterAll(async () => broker?.close());

describe('keyed ownership', () => {
  it('gives a free key to the first host, tells others who owns it, and lets it go only by its revision', async () => {
    const a = await ownership.hostLease('own1', 'ha', 10_000);
    const b = await ownership.hostLease('own1', 'hb', 10_000);
    try {
      const first = await ownership.claim('own1', 'acme', 'ha');
      // Never claimed before: nothing of it can exist (its first activation reads nothing).
      expect(first).toMatchObject({ mine: true, takeover: false, fresh: true });
      // The owner asking again keeps it; another live host is told who has it.
      expect(await ownership.claim('own1', 'acme', 'ha')).toMatchObject({ mine: true, takeover: false });
      expect(await ownership.claim('own1', 'acme', 'hb')).toEqual({ mine: false, host: 'ha' });
      expect(await ownership.owner('own1', 'acme')).toMatchObject({ host: 'ha' });

      // A stale revision releases nothing.
      if (!first.mine) throw new Error('unreachable');
      await ownership.release('own1', 'acme', first.revision + 1_000);
      expect((await ownership.owner('own1', 'acme'))?.host).toBe('ha');
      await ownership.release('own1', 'acme', first.revision);
      expect(await ownership.owner('own1', 'acme')).toBeUndefined();

      // Free again: the other host takes it (not a takeover), then the first gets it back after
      // its release (the swap on the delete marker it remembered).
      const second = await ownership.claim('own1', 'acme', 'hb');
      expect(second).toMatchObject({ mine: true, takeover: false });
      expect(second.mine && second.fresh).not.toBe(true);
      if (!second.mine) throw new Error('unreachable');
      await ownership.release('own1', 'acme', second.revision);
      expect(await ownership.claim('own1', 'acme', 'hb')).toMatchObject({ mine: true, takeover: false });
      expect(await ownership.claim('own1', 'acme', 'ha')).toEqual({ mine: false, host: 'hb' });
    } finally {
      await Promise.all([a.release(), b.release()]);
    }
  });

  it('gives a key to exactly one of many hosts claiming it at once', async () => {
    const hosts = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const held = await Promise.all(hosts.map((h) => ownership.hostLease('race', h, 10_000)));
    try {
      for (const key of ['k1', 'k2', 'k3']) {
        const claims = await Promise.all(hosts.map((h) => ownership.claim('race', key, h)));
        const winners = claims.flatMap((c, i) => (c.mine ? [hosts[i]] : []));
        expect(winners).toHaveLength(1);
        // Every loser names the winner.
        for (const c of claims) if (!c.mine) expect(c.host).toBe(winners[0]);
      }
      expect((await ownership.owners('race')).map((o) => o.key).sort()).toEqual(['k1', 'k2', 'k3']);
    } finally {
      await Promise.all(held.map((l) => l.release()));
    }
  });

  it('lets a live host adopt the keys of a host whose lease expired, and the dead host cannot release them after', async () => {
    const dead = await ownership.hostLease('adopt', 'hdead', 600);
    const live = await ownership.hostLease('adopt', 'hlive', 10_000);
    try {
      const mine = await ownership.claim('adopt', 'globex', 'hdead');
      if (!mine.mine) throw new Error('expected the dead host to own globex');
      // While its lease lives, its key is its own.
      expect(await ownership.claim('adopt', 'globex', 'hlive')).toEqual({ mine: false, host: 'hdead' });
      dead.abandon?.();
      await waitFor(
        'the lease of hdead to expire',
        async () => (await ownership.hostState('adopt', 'hdead')) === 'expired',
      );
      expect((await ownership.hosts('adopt')).find((h) => h.host === 'hdead')?.state).toBe('expired');

      const adopted = await ownership.claim('adopt', 'globex', 'hlive');
      expect(adopted).toMatchObject({ mine: true, takeover: true, from: 'hdead' });
      // The dead host waking up and releasing with its old revision changes nothing.
      await ownership.release('adopt', 'globex', mine.revision);
      expect((await ownership.owner('adopt', 'globex'))?.host).toBe('hlive');

      // Its lease record goes only with its current revision.
      const record = (await ownership.hosts('adopt')).find((h) => h.host === 'hdead');
      if (record === undefined) throw new Error('expected the dead host’s lease record');
      await ownership.forgetHost('adopt', 'hdead', record.revision + 1_000);
      expect((await ownership.hosts('adopt')).some((h) => h.host === 'hdead')).toBe(true);
      await ownership.forgetHost('adopt', 'hdead', record.revision);
      expect((await ownership.hosts('adopt')).map((h) => h.host)).toEqual(['hlive']);
    } finally {
      await live.release();
    }
  });

  it('keeps wake records of passivated instances and lists them until removed', async () => {
    const changes: { key: string; waits: number | undefined }[] = [];
    const stop = new AbortController();
    const watching = (async () => {
      for await (const change of ownership.watchWakes('wakes', stop.signal))
        changes.push({ key: change.key, waits: change.wake?.results.length });
    })();
    await ownership.putWake('wakes', 'acme', { results: [{ agent: 'billing', taskId: 'child-1' }] });
    await waitFor('the watch to see the wake record', () => changes.some((c) => c.key === 'acme'));
    expect(changes).toContainEqual({ key: 'acme', waits: 1 });
    expect(await ownership.wakeKeys('wakes')).toEqual(['acme']);
    await ownership.removeWake('wakes', 'acme');
    expect(await ownership.wakeKeys('wakes')).toEqual([]);
    stop.abort();
    await watching;
  });

  it('counts instances active, passivated and known, and hosts alive, for status', async () => {
    const store = keyedHistoryStore(broker.connection, (json) => json as { events: AgentEvent[] });
    const event = (id: string) =>
      ({ id, type: 'agent.spec', v: 1, data: { specHash: 'x', at: new Date().toISOString() } }) as never;
    for (const key of ['a', 'b', 'c']) await store.append(`census.${key}`, [event(`census-${key}`)], 0);
    expect(await keyedCensus(broker.connection, 'census')).toEqual({
      hosts: { alive: [], expired: 0 },
      instances: { active: 0, passivated: 3, known: 3, orphaned: 0, waiting: 0 },
    });
    const host = await ownership.hostLease('census', 'hc', 10_000);
    try {
      await ownership.claim('census', 'a', 'hc');
      // An instance active before its first event: active, not yet known.
      await ownership.claim('census', 'd', 'hc');
      await ownership.putWake('census', 'b', { results: [{ agent: 'billing', taskId: 't' }] });
      expect(await keyedCensus(broker.connection, 'census')).toEqual({
        hosts: { alive: ['hc'], expired: 0 },
        instances: { active: 2, passivated: 2, known: 3, orphaned: 0, waiting: 1 },
      });
    } finally {
      await host.release();
    }
    // Its host gone without passivating them: orphaned, no longer active.
    const census = await keyedCensus(broker.connection, 'census');
    expect(census.hosts.alive).toEqual([]);
    expect(census.instances).toMatchObject({ active: 0, passivated: 3, orphaned: 2 });
  });
});
