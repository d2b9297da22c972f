import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  ConcurrencyError,
  ErrorCode,
  eventIds,
  type HistoryEvent,
  type StoredCommit,
} from '@spool/core/internal';
import { type HistoryStore, historyStore, provision, watchHistories } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { type Broker, startBroker } from '../support/world.ts';

/** A `task.received` event, the simplest valid history event. */
const received = (agent: string, taskId: string): HistoryEvent => ({
  id: eventIds.received(agent, taskId),
  type: 'task.received',
  v: 1,
  data: { taskId, input: `input of ${taskId}`, at: new Date().toISOString() },
});

async function collect(iterable: AsyncIterable<StoredCommit>): Promise<StoredCommit[]> {
  const out: StoredCommit[] = [];
  for await (const commit of iterable) out.push(commit);
  return out;
}

const taskIds = (commits: StoredCommit[]) =>
  commits.flatMap((c) => c.events.map((e) => (e.data as { taskId: string }).taskId));

let broker: Broker;
let store: HistoryStore;

beforeAll(async () => {
  broker = await startBroker();
  store = historyStore(broker.connection);
});
afterAll(async () => broker?.close());

describe('append', () => {
  it('appends when the expected sequence is the last one, and refuses a stale one with ConcurrencyError', async () => {
    const first = await store.append('conflict', [received('conflict', 't-1')], 0);
    expect(first).toEqual({ seq: expect.any(Number), duplicate: false });
    const second = await store.append('conflict', [received('conflict', 't-2')], first.seq);
    expect(second.seq).toBeGreaterThan(first.seq);

    // A writer that still believes the history ends at `first` is refused, with a stable code.
    const stale = store.append('conflict', [received('conflict', 't-3')], first.seq);
    await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(stale).rejects.toMatchObject({ code: ErrorCode.ConcurrencyConflict, retryable: false });
    // So is one that believes the history is empty.
    await expect(store.append('conflict', [received('conflict', 't-4')], 0)).rejects.toBeInstanceOf(
      ConcurrencyError,
    );

    const stored = await broker.probe.history('conflict');
    expect(stored.map((c) => c.seq)).toEqual([first.seq, second.seq]);
    expect(await store.lastSeq('conflict')).toBe(second.seq);
  });

  it('stores a repeated append of the same commit once and answers it as a duplicate', async () => {
    const events = [received('dedup', 't-1')];
    const first = await store.append('dedup', events, 0);
    // The retry of an append whose acknowledgement was lost carries the same events and expected sequence.
    const retry = await store.append('dedup', events, 0);
    expect(retry).toEqual({ seq: first.seq, duplicate: true });
    // A multi-event commit is recognised by its events' ids as well.
    const pair = [received('dedup', 't-2'), received('dedup', 't-3')];
    const a = await store.append('dedup', pair, first.seq);
    expect(await store.append('dedup', pair, first.seq)).toEqual({ seq: a.seq, duplicate: true });

    expect((await broker.probe.history('dedup')).length).toBe(2);
  });

  it('recognises its own commit after the server forgot its id (new leader, or past the duplicate window)', async () => {
    const jsm = await jetstreamManager(broker.probe.nc);
    const info = await jsm.streams.info('SPOOL_HISTORY');
    const window = info.config.duplicate_window;
    // The server's duplicate window made short: a retry after it meets the expected-sequence check.
    await jsm.streams.update('SPOOL_HISTORY', { ...info.config, duplicate_window: 100_000_000 });
    try {
      const events = [received('forgot', 't-1')];
      const first = await store.append('forgot', events, 0);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await store.append('forgot', events, 0)).toEqual({ seq: first.seq, duplicate: true });
      // Another writer's commit in that place is still refused.
      await expect(store.append('forgot', [received('forgot', 't-2')], 0)).rejects.toBeInstanceOf(
        ConcurrencyError,
      );
      expect((await broker.probe.history('forgot')).length).toBe(1);
    } finally {
      await jsm.streams.update('SPOOL_HISTORY', { ...info.config, duplicate_window: window });
    }
  });

  it('replay names the sequence of a message on the subject that is not a valid commit', async () => {
    // Anyone with access can publish on the subject; replay must say where the bad message is.
    const js = jetstream(broker.probe.nc);
    await store.append('corrupt', [received('corrupt', 't-1')], 0);
    const ack = await js.publish('spool.history.corrupt', new TextEncoder().encode('{"v":1,"events":[]}'));
    await expect(collect(store.replay('corrupt'))).rejects.toThrow(
      new RegExp(`history of corrupt: message ${ack.seq} is not a valid commit`),
    );
  });
});

describe('validate on write, check the schema version on read', () => {
  const bad = { id: 'x-1', type: 'task.received', v: 1, data: { taskId: 't-1' } } as unknown as HistoryEvent;

  it('refuses to append an event its schema rejects, and writes nothing', async () => {
    await expect(store.append('refuser', [bad], 0)).rejects.toThrow(
      /spool.history.refuser: refused to append a commit that does not match the event schema/,
    );
    expect(await store.lastSeq('refuser')).toBe(0);
  });

  it('marks its commits with the schema version; a commit without it (or with another) is checked in full', async () => {
    const js = jetstream(broker.probe.nc);
    const jsm = await jetstreamManager(broker.probe.nc);
    for (const [agent, commit] of [
      ['unmarked', { v: 1, events: [bad] }],
      ['another-version', { v: 1, schema: 'v1-0000000000000000', events: [bad] }],
    ] as const) {
      await store.append(agent, [received(agent, 't-1')], 0);
      const raw = await jsm.streams.getMessage('SPOOL_HISTORY', { last_by_subj: `spool.history.${agent}` });
      expect((raw?.json() as { schema?: string } | undefined)?.schema).toMatch(/^v1-[0-9a-f]{16}$/);
      expect(taskIds(await collect(store.replay(agent)))).toEqual(['t-1']);
      const ack = await js.publish(
        `spool.history.${agent}`,
        new TextEncoder().encode(JSON.stringify(commit)),
      );
      await expect(collect(store.replay(agent)), agent).rejects.toThrow(
        new RegExp(`message ${ack.seq} is not a valid commit`),
      );
    }
  });
});

describe('replay', () => {
  let seqs: number[] = [];

  beforeAll(async () => {
    // Two agents interleaved: stream sequences of one agent are not contiguous.
    let last = 0;
    for (let i = 1; i <= 5; i += 1) {
      last = (await store.append('replayer', [received('replayer', `t-${i}`)], last)).seq;
      seqs.push(last);
      await store.append('other', [received('other', `o-${i}`)], await store.lastSeq('other'));
    }
  });

  it('yields nothing for an agent without history', async () => {
    expect(await collect(store.replay('nobody'))).toEqual([]);
    expect(await store.lastSeq('nobody')).toBe(0);
  });

  it("yields only this agent's commits, in order, and ends once caught up", async () => {
    const commits = await collect(store.replay('replayer'));
    expect(commits.map((c) => c.seq)).toEqual(seqs);
    expect(taskIds(commits)).toEqual(['t-1', 't-2', 't-3', 't-4', 't-5']);
    expect(commits.every((c) => !Number.isNaN(Date.parse(c.time)))).toBe(true);
  });

  it('starts at fromSeq and stops at untilSeq', async () => {
    const tail = await collect(store.replay('replayer', { fromSeq: seqs[2] }));
    expect(taskIds(tail)).toEqual(['t-3', 't-4', 't-5']);
    const head = await collect(store.replay('replayer', { untilSeq: seqs[1] }));
    expect(taskIds(head)).toEqual(['t-1', 't-2']);
    expect(await collect(store.replay('replayer', { fromSeq: (seqs[4] ?? 0) + 1 }))).toEqual([]);
  });

  it('does not wait for commits appended after it started', async () => {
    const iterator = store.replay('replayer')[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    await store.append('replayer', [received('replayer', 't-6')], await store.lastSeq('replayer'));
    let rest = 0;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest += 1;
    expect(rest).toBe(4); // t-2..t-5: what existed at start, not t-6
    seqs = [...seqs, await store.lastSeq('replayer')];
  });

  it('fails, rather than waiting forever, when its consumer is removed under it', async () => {
    // More commits than one pull brings, so that the replay must ask the server again.
    const js = jetstream(broker.probe.nc);
    for (let i = 0; i < 6_000; i += 500)
      await Promise.all(
        Array.from({ length: 500 }, (_, j) =>
          js.publish(
            'spool.history.vanishing',
            new TextEncoder().encode(JSON.stringify({ v: 1, events: [received('vanishing', `t-${i + j}`)] })),
          ),
        ),
      );
    const iterator = store.replay('vanishing')[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    const jsm = await jetstreamManager(broker.probe.nc);
    for await (const consumer of jsm.consumers.list('SPOOL_HISTORY'))
      if (consumer.name.startsWith('replay_')) await jsm.consumers.delete('SPOOL_HISTORY', consumer.name);
    const rest = (async () => {
      for (let r = await iterator.next(); !r.done; r = await iterator.next());
    })();
    await expect(rest).rejects.toThrow(/consumer/i);
  });

  it("reads one commit by its sequence, and nothing at another agent's sequence or past the end", async () => {
    const third = await store.commitAt('replayer', seqs[2] as number);
    expect(third?.seq).toBe(seqs[2]);
    expect(taskIds(third === undefined ? [] : [third])).toEqual(['t-3']);
    // The next stream sequence is the other agent's commit.
    expect(await store.commitAt('replayer', (seqs[2] as number) + 1)).toBeUndefined();
    expect(await store.commitAt('replayer', 1_000_000)).toBeUndefined();
  });

  it('lists the agents that have a history', async () => {
    expect(await store.agents()).toEqual(expect.arrayContaining(['other', 'replayer']));
  });
});

describe('watchHistories', () => {
  it('delivers every existing commit, says when it has caught up, then delivers new ones live', async () => {
    await store.append('watched', [received('watched', 'w-1')], await store.lastSeq('watched'));
    const watch = await watchHistories(broker.connection);
    const seen: string[] = [];
    const consuming = (async () => {
      for await (const { agent, commit } of watch) {
        if (agent === 'watched') seen.push(...taskIds([commit]));
      }
    })();
    try {
      await watch.caughtUp;
      expect(seen).toContain('w-1');
      await store.append('watched', [received('watched', 'w-2')], await store.lastSeq('watched'));
      await waitFor('the live commit', () => seen.includes('w-2'), 10_000);
      expect(seen).toEqual(['w-1', 'w-2']);
    } finally {
      await watch.stop();
      await consuming;
    }
  });
});

describe('provision', () => {
  it('is idempotent and safe when several processes run it at once', async () => {
    await Promise.all([
      provision(broker.connection),
      provision(broker.connection),
      provision(broker.connection),
    ]);
    // The streams kept their data: provisioning never recreates what exists.
    expect((await broker.probe.history('replayer')).length).toBeGreaterThan(0);
  });
});
