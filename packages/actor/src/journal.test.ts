import { ConcurrencyError } from '@spool/core/internal';
import { describe, expect, it } from 'vitest';
import { DecisionTooLargeError, Journal } from './journal.ts';
import { memoryHistory } from './memory-history.ts';
import { type TallyCommand, type TallyEvent, tallyDecider, tallyLogic } from './test-tally.ts';

const open = (group = true, options: Parameters<typeof memoryHistory<TallyEvent>>[0] = {}) => {
  const store = memoryHistory<TallyEvent>(options);
  const journal = new Journal(
    store,
    'tally',
    tallyDecider,
    tallyDecider.initialState('tally'),
    tallyLogic(group).commits,
  );
  return { store, journal };
};
const add = (item: string, n = 1): TallyCommand => ({ type: 'Add', item, n });
const finish = (item: string): TallyCommand => ({ type: 'Finish', item, result: `${item} done` });
const types = (commit: { events: readonly TallyEvent[] }) => commit.events.map((e) => `${e.type}:${e.item}`);

describe('journal - group commit', () => {
  it('commands that arrive while an append is in flight share the next commit, in the order they came', async () => {
    const { store, journal } = open();
    store.hold();
    const first = journal.commit(add('a'));
    const queued = [journal.commit(add('b')), journal.commit(add('c')), journal.commit(add('d'))];
    store.release();
    expect(await first).toHaveLength(1);
    expect((await Promise.all(queued)).map((events) => events.map((e) => e.item))).toEqual([
      ['b'],
      ['c'],
      ['d'],
    ]);
    expect(store.commits('tally').map(types)).toEqual([['added:a'], ['added:b', 'added:c', 'added:d']]);
    expect(journal.state.seq).toBe(2);
    expect([...journal.state.items.keys()]).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a second decision about the same thing waits for the next commit, decided on the state the first led to', async () => {
    const { store, journal } = open();
    store.hold();
    const first = journal.commit(add('a'));
    const addB = journal.commit(add('b', 1));
    // Decided on the state before the batch, this would add `b` a second time.
    const addBAgain = journal.commit(add('b', 2));
    const addC = journal.commit(add('c'));
    store.release();
    await Promise.all([first, addB, addC]);
    expect(await addBAgain).toEqual([]);
    expect(store.commits('tally').map(types)).toEqual([['added:a'], ['added:b'], ['added:c']]);
    expect(journal.state.items.get('b')?.n).toBe(1);
  });

  it('without group commit, each command is decided and appended on its own', async () => {
    const { store, journal } = open(false);
    store.hold();
    const all = [journal.commit(add('a')), journal.commit(add('b')), journal.commit(finish('a'))];
    store.release();
    await Promise.all(all);
    expect(store.commits('tally').map(types)).toEqual([['added:a'], ['added:b'], ['finished:a']]);
  });

  it('a command that no longer applies resolves with no events and writes nothing', async () => {
    const { store, journal } = open();
    await journal.commit(add('a'));
    expect(await journal.commit(add('a'))).toEqual([]);
    expect(store.appends).toBe(1);
  });
});

describe('journal - fencing', () => {
  it('an append that lost the race to another writer fails the journal: that command and every one after are refused', async () => {
    const { store, journal } = open();
    await journal.commit(add('a'));
    store.appendAsOther('tally', [{ id: 'x:added', type: 'added', item: 'x', n: 9 }]);
    store.hold();
    const lost = journal.commit(add('b'));
    const queued = journal.commit(add('c'));
    store.release();
    await expect(lost).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(queued).rejects.toBeInstanceOf(ConcurrencyError);
    expect(journal.failure).toBeInstanceOf(ConcurrencyError);
    await expect(journal.commit(add('d'))).rejects.toBeInstanceOf(ConcurrencyError);
    // Nothing of ours was applied on the stale view.
    expect([...journal.state.items.keys()]).toEqual(['a']);
  });

  it('a commit stored before (its acknowledgement lost) is read back from the store, not trusted from memory', async () => {
    const store = memoryHistory<TallyEvent>({ idOf: (e) => e.id });
    const state = tallyDecider.initialState('tally');
    await store.append('tally', [{ id: 'a:added', type: 'added', item: 'a', n: 7 }], 0);
    const journal = new Journal(store, 'tally', tallyDecider, state, tallyLogic().commits);
    expect(await journal.commit(add('a', 1))).toHaveLength(1);
    expect(journal.state.seq).toBe(1);
    expect(journal.state.items.get('a')?.n).toBe(7);
  });

  it('reads that commit back by its sequence: no replay, which a cluster mid-election may not serve', async () => {
    const memory = memoryHistory<TallyEvent>({ idOf: (e) => e.id });
    const store = {
      ...memory,
      append: memory.append,
      commitAt: memory.commitAt,
      replay: () => {
        throw new Error('timeout');
      },
    };
    await memory.append('tally', [{ id: 'a:added', type: 'added', item: 'a', n: 7 }], 0);
    const journal = new Journal(
      store,
      'tally',
      tallyDecider,
      tallyDecider.initialState('tally'),
      tallyLogic().commits,
    );
    expect(await journal.commit(add('a', 1))).toHaveLength(1);
    expect(journal.state.items.get('a')?.n).toBe(7);
    expect(journal.failure).toBeUndefined();
  });
});

describe('journal - commit splitting', () => {
  it('a batch too large for one message is written again one command per commit', async () => {
    const { store, journal } = open(true, { maxCommitBytes: 2_000 });
    store.hold();
    const first = journal.commit(add('a'));
    const big = ['b', 'c', 'd'].map((item) => journal.commit({ type: 'Add', item, n: 1, pad: 800 }));
    store.release();
    await first;
    await Promise.all(big);
    expect(store.commits('tally').map(types)).toEqual([['added:a'], ['added:b'], ['added:c'], ['added:d']]);
  });

  it('one command too large alone is refused with its events, and the journal goes on', async () => {
    const { store, journal } = open(true, { maxCommitBytes: 2_000 });
    const refused = journal.commit({ type: 'Add', item: 'big', n: 1, pad: 5_000 });
    await expect(refused).rejects.toBeInstanceOf(DecisionTooLargeError);
    await refused.catch((err: DecisionTooLargeError<TallyEvent>) => {
      expect(err.events.map((e) => e.item)).toEqual(['big']);
      expect(err.bytes).toBeGreaterThan(5_000);
    });
    expect(journal.failure).toBeUndefined();
    expect(await journal.commit(add('a'))).toHaveLength(1);
    expect(store.commits('tally').map(types)).toEqual([['added:a']]);
  });
});
