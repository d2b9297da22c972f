import { connect, leases, provision, type SpoolConnection } from '@spool/jetstream';
import { type NatsServer, startNats } from '@spool/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { testLogger } from '../support/world.ts';

let nats: NatsServer | undefined;
let connection: SpoolConnection | undefined;
afterEach(async () => {
  await connection?.close().catch(() => undefined);
  await nats?.close();
});

const TTL_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a lease that is lost when it expires (a keyed host)', () => {
  it('holds while renewed; cut off, it is lost before any reader sees it expired, and stays lost when NATS is back', async () => {
    nats = await startNats();
    connection = await connect({ url: nats.url, name: 'holder', logger: testLogger });
    await provision(connection);
    const registry = await leases(connection);
    const strict = await registry.acquire('strict', 'host-a', { ttlMs: TTL_MS, loseWhenExpired: true });
    // An agent's lease (the default) rides out an outage: its appends are fenced.
    const patient = await registry.acquire('patient', 'agent-a', { ttlMs: TTL_MS });

    // Renewed every ttl/3: never lost while NATS answers.
    await sleep(3 * TTL_MS);
    expect(strict.lost.aborted).toBe(false);

    let lostAt: number | undefined;
    strict.lost.addEventListener('abort', () => {
      lostAt = Date.now();
    });
    await nats.kill();
    await sleep(TTL_MS + 500);
    await nats.restart();

    expect(lostAt).toBeDefined();
    expect(String((strict.lost.reason as Error).message)).toContain('not renewed within its ttl');
    // The record still carries the last renewal that landed: readers judge it expired from
    // renewedAt + ttl, and the holder had stopped before that moment.
    const record = await waitFor(
      'the lease records to be readable again',
      () =>
        registry
          .list()
          .then((all) => all.find((l) => l.agent === 'strict'))
          .catch(() => undefined),
      10_000,
    );
    expect(record.holder).toBe('host-a');
    expect(lostAt).toBeLessThan(Date.parse(record.renewedAt) + TTL_MS);

    // Back on NATS, the agent's lease renews on and is kept; the lost one never renews again.
    await waitFor(
      'the patient lease to be renewed after the outage',
      () =>
        registry
          .list()
          .then((all) => all.find((l) => l.agent === 'patient' && !l.expired))
          .catch(() => undefined),
      10_000,
    );
    expect(patient.lost.aborted).toBe(false);
    await sleep(TTL_MS);
    const after = (await registry.list()).find((l) => l.agent === 'strict');
    expect(after?.renewedAt).toBe(record.renewedAt);
    expect(after?.expired).toBe(true);
    await patient.release();
  });
});
