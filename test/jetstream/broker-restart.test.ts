import { eventIds, type HistoryEvent } from '@spool/core/internal';
import { connect, historyStore, provision, type SpoolConnection } from '@spool/jetstream';
import { type NatsServer, startNats } from '@spool/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { capturingLogger } from '../support/world.ts';

const received = (taskId: string): HistoryEvent => ({
  id: eventIds.received('survivor', taskId),
  type: 'task.received',
  v: 1,
  data: { taskId, input: 'x', at: new Date().toISOString() },
});

let nats: NatsServer | undefined;
let connection: SpoolConnection | undefined;
afterEach(async () => {
  await connection?.close().catch(() => undefined);
  await nats?.close();
});

describe('a broker that dies and comes back', () => {
  it('keeps the history across SIGKILL and SIGTERM restarts; a client reconnects and appends go on', async () => {
    nats = await startNats();
    const { logger, messages } = capturingLogger();
    connection = await connect({ url: nats.url, name: 'survivor', logger });
    await provision(connection);
    const store = historyStore(connection);
    const first = await store.append('survivor', [received('t-1')], 0);

    await nats.kill(); // no chance to flush: the store must still have the acknowledged commit
    await nats.restart();
    const second = await store.append('survivor', [received('t-2')], first.seq);

    await nats.stop();
    await nats.restart();
    await store.append('survivor', [received('t-3')], second.seq);

    const ids: string[] = [];
    for await (const commit of store.replay('survivor')) ids.push(...commit.events.map((e) => e.id));
    expect(ids).toEqual(['t-1', 't-2', 't-3'].map((t) => eventIds.received('survivor', t)));
    // The user sees the outage in the logs.
    expect(messages.some((m) => m.includes('NATS connection lost'))).toBe(true);
    expect(messages.some((m) => m.includes('NATS connection is back'))).toBe(true);
  });

  it('an append made while the server is down completes, once, when it is back', async () => {
    nats = await startNats();
    connection = await connect({ url: nats.url, name: 'patient', logger: capturingLogger().logger });
    await provision(connection);
    const store = historyStore(connection);
    const first = await store.append('survivor', [received('t-1')], 0);

    await nats.kill();
    const during = store.append('survivor', [received('t-2')], first.seq);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await nats.restart();
    const outcome = await during;

    expect(outcome.seq).toBeGreaterThan(first.seq);
    expect(await store.lastSeq('survivor')).toBe(outcome.seq);
    let commits = 0;
    for await (const _ of store.replay('survivor')) commits += 1;
    expect(commits).toBe(2);
  });
});
