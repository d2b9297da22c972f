import { ConcurrencyError } from '@spool/core';
import { connect, leases, runLeaseTerms } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { type Broker, capturingLogger, startBroker, testLogger } from '../support/world.ts';

/** runLeaseTerms against real leases: what agents and the coordinator's workflow actor share. */

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => broker?.close());

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

describe('runLeaseTerms', () => {
  it('says why a term ended (another writer, a failed append; not "lease lost") and runs the next one', async () => {
    const table = await leases(broker.connection);
    const { logger, messages } = capturingLogger();
    const stop = new AbortController();
    const failures: unknown[] = [
      new ConcurrencyError('spool.history.terms', 3),
      new Error('store unavailable'),
      undefined,
    ];
    let terms = 0;
    const done = runLeaseTerms({
      leases: table,
      name: 'terms',
      holder: 'test',
      ttlMs: 2_000,
      signal: stop.signal,
      logger,
      role: 'agent',
      sleep,
      term: async (signal) => {
        terms += 1;
        const journalFailure = failures.shift();
        // The third term works until it is stopped.
        if (journalFailure === undefined)
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
        return { journalFailure };
      },
    });
    await waitFor('the third term', () => terms === 3);
    stop.abort();
    await done;
    expect(messages.filter((m) => m === 'agent name claimed')).toHaveLength(3);
    expect(messages).toContain('another writer appended to this history; stepping back');
    expect(messages).toContain('history append failed; replaying and resuming');
    expect(messages.some((m) => m.startsWith('lease lost'))).toBe(false);
    // Released on the way out: the next holder gets the name at once, not after the ttl.
    const next = await table.acquire('terms', 'other', { ttlMs: 2_000, signal: AbortSignal.timeout(1_000) });
    expect(next.takeover).toBe(false);
    await next.release();
  });

  it('with once, gives up at once when the name is held elsewhere, and runs no term', async () => {
    const table = await leases(broker.connection);
    const holder = await table.acquire('held', 'someone', { ttlMs: 10_000 });
    const { logger, messages } = capturingLogger();
    let terms = 0;
    await runLeaseTerms({
      leases: table,
      name: 'held',
      holder: 'adopter',
      ttlMs: 10_000,
      signal: AbortSignal.timeout(5_000),
      logger,
      role: 'agent',
      once: true,
      sleep,
      term: async () => {
        terms += 1;
        return { journalFailure: undefined };
      },
    });
    expect(terms).toBe(0);
    expect(messages).toContain('agent is held by another process; standing by');
    await holder.release();
  });

  it('after a takeover, lets the new holder reclaim before the term, and reports a lost lease as lost', async () => {
    const table = await leases(broker.connection);
    // A holder whose connection dies without releasing: its lease is left to expire.
    const doomed = await connect({ url: broker.nats.url, name: 'doomed', logger: testLogger });
    await (await leases(doomed)).acquire('taken', 'crashed', { ttlMs: 1_000 });
    await doomed.close();
    const { logger, messages } = capturingLogger();
    const stop = new AbortController();
    const order: string[] = [];
    const done = runLeaseTerms({
      leases: table,
      name: 'taken',
      holder: 'next',
      ttlMs: 1_000,
      signal: stop.signal,
      logger,
      role: 'coordinator',
      sleep,
      afterTakeover: async () => {
        order.push('reclaim');
      },
      term: async (signal) => {
        order.push('term');
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        return { journalFailure: undefined };
      },
    });
    await waitFor('the term', () => order.includes('term'));
    expect(order).toEqual(['reclaim', 'term']);
    expect(messages).toContain('coordinator name claimed');
    stop.abort();
    await done;
  });
});
