import { ConcurrencyError } from '@spool/core/internal';
import type { Lease, Leases } from '@spool/jetstream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type ActorHandle, startActor } from './actor.ts';
import { EFFECT_RETRY_MS } from './effects-loop.ts';
import { memoryHistory } from './memory-history.ts';
import { SimulatedClock } from './simulated-clock.ts';
import type { Term, TermHandlers } from './term.ts';
import {
  type TallyCommand,
  type TallyEffect,
  type TallyEvent,
  type TallyState,
  tallyLogic,
} from './test-tally.ts';

const logger = pino({ level: process.env.KERNEL_TEST_LOG ?? 'silent' });

/** A lease that is always free: the kernel's tests are about the term, not the lease. */
const freeLeases: Pick<Leases, 'acquire'> = {
  acquire: async (agent, holder): Promise<Lease> => ({
    agent,
    holder,
    lost: new AbortController().signal,
    takeover: false,
    release: async () => undefined,
  }),
};

type TallyTerm = Term<TallyState, TallyCommand, TallyEvent>;
type Work = (item: string, term: TallyTerm) => Promise<void>;
const finishAt = (item: string, term: TallyTerm) =>
  term
    .commit({ type: 'Finish', item, result: `${item} at ${term.clock.now().getTime()}` })
    .then(() => undefined);

/** A tally actor whose inputs are pushed by the test, and whose `work` effect the test decides. */
function runTally(options: { clock: SimulatedClock; graceMs?: number; work?: Work }) {
  const store = memoryHistory<TallyEvent>();
  const inputs: TallyCommand[] = [];
  const arrived = new Set<() => void>();
  const errors: unknown[] = [];
  let terms = 0;
  const handlers = (term: TallyTerm): TermHandlers<TallyState, TallyCommand, TallyEvent, TallyEffect> => {
    terms += 1;
    return {
      key: (effect) => `work:${effect.item}`,
      run: (effect) => (options.work ?? finishAt)(effect.item, term),
      async intake() {
        while (!term.intake.aborted) {
          const command = inputs.shift();
          if (command === undefined) {
            await Promise.race([term.changed(), new Promise<void>((resolve) => arrived.add(resolve))]);
            continue;
          }
          await term.commit(command).catch((err) => errors.push(err));
          term.reconcile();
        }
      },
    };
  };
  const actor: ActorHandle<TallyState, unknown> = startActor({
    name: 'tally',
    holder: 'test',
    role: 'tally',
    logic: tallyLogic(),
    handlers,
    store,
    leases: freeLeases,
    ttlMs: 10_000,
    clock: options.clock,
    logger,
    graceMs: options.graceMs ?? 0,
  });
  const send = (command: TallyCommand) => {
    inputs.push(command);
    for (const wake of arrived) wake();
    arrived.clear();
  };
  return { store, actor, send, errors, terms: () => terms };
}

/** Work that never ends on its own (an effect ending without a change would only run again). */
const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

/** Lets promise callbacks and timers of 0 ms run. */
const settle = async (clock: SimulatedClock, rounds = 20) => {
  for (let i = 0; i < rounds; i++) await clock.advance(0);
};
const result = (actor: ActorHandle<TallyState, unknown>, item: string) =>
  actor.state()?.items.get(item)?.result;

describe('actor kernel - the effects loop', () => {
  it('runs what next asks for and journals its outcome', async () => {
    const clock = new SimulatedClock(0);
    const { actor, send, store } = runTally({ clock });
    await actor.ready;
    send({ type: 'Add', item: 'a', n: 1 });
    await settle(clock);
    expect(result(actor, 'a')).toBe('a at 0');
    expect(store.commits('tally').flatMap((c) => c.events.map((e) => e.type))).toEqual(['added', 'finished']);
    await actor.stop();
  });

  it('an effect not due yet runs when the clock reaches the time next gave (an alarm)', async () => {
    const clock = new SimulatedClock(0);
    const { actor, send } = runTally({ clock });
    await actor.ready;
    send({ type: 'Add', item: 'later', n: 1, due: 5_000 });
    await settle(clock);
    await clock.advance(4_999);
    expect(result(actor, 'later')).toBeUndefined();
    await clock.advance(1);
    await settle(clock);
    expect(result(actor, 'later')).toBe('later at 5000');
    await actor.stop();
  });

  it('a failed effect runs again after EFFECT_RETRY_MS, not before', async () => {
    const clock = new SimulatedClock(0);
    let tries = 0;
    const { actor, send } = runTally({
      clock,
      work: async (item, term) => {
        tries += 1;
        if (tries === 1) throw new Error('NATS is down');
        await finishAt(item, term);
      },
    });
    await actor.ready;
    send({ type: 'Add', item: 'a', n: 1 });
    await settle(clock);
    expect(tries).toBe(1);
    await clock.advance(EFFECT_RETRY_MS - 1);
    expect(tries).toBe(1);
    await clock.advance(1);
    await settle(clock);
    expect(tries).toBe(2);
    expect(result(actor, 'a')).toBe(`a at ${EFFECT_RETRY_MS}`);
    await actor.stop();
  });
});

describe('actor kernel - terms', () => {
  it('an append that conflicts with another writer ends the term; the next term replays that writer first', async () => {
    const clock = new SimulatedClock(0);
    const { actor, send, store, errors, terms } = runTally({
      clock,
      work: (_item, term) => aborted(term.work),
    });
    await actor.ready;
    send({ type: 'Add', item: 'a', n: 1 });
    await settle(clock);
    store.appendAsOther('tally', [{ id: 'x:added', type: 'added', item: 'x', n: 9 }]);
    send({ type: 'Add', item: 'b', n: 2 });
    await settle(clock);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConcurrencyError);
    // The lease loop waits a moment, then a new term replays the whole history.
    await clock.advance(500);
    await settle(clock);
    expect(terms()).toBe(2);
    expect([...(actor.state()?.items.keys() ?? [])]).toEqual(['a', 'x']);
    send({ type: 'Add', item: 'b', n: 2 });
    await settle(clock);
    expect(store.commits('tally').map((c) => c.events.map((e) => e.item))).toEqual([['a'], ['x'], ['b']]);
    // Its work never ends on its own: the grace period (0) ends it, on the simulated clock.
    const stopping = actor.stop();
    await settle(clock);
    await stopping;
  });

  it('stop lets a call in flight finish within the grace period and journals its outcome', async () => {
    const clock = new SimulatedClock(0);
    let answer: () => void = () => undefined;
    const { actor, send } = runTally({
      clock,
      graceMs: 10_000,
      work: async (item, term) => {
        await new Promise<void>((resolve) => {
          answer = resolve;
        });
        await finishAt(item, term);
      },
    });
    await actor.ready;
    send({ type: 'Add', item: 'a', n: 1 });
    await settle(clock);
    let stopped = false;
    const stopping = actor.stop().then(() => {
      stopped = true;
    });
    await clock.advance(5_000);
    expect(stopped).toBe(false);
    answer();
    await stopping;
    expect(clock.now().getTime()).toBe(5_000);
  });

  it('stop abandons a call that outlives the grace period: nothing of it is journaled', async () => {
    const clock = new SimulatedClock(0);
    let abandoned = false;
    const { actor, send, store } = runTally({
      clock,
      graceMs: 2_000,
      work: (item, term) =>
        new Promise<void>((resolve) => {
          term.work.addEventListener('abort', () => {
            abandoned = true;
            resolve();
          });
        }).then(() => (term.work.aborted ? undefined : finishAt(item, term))),
    });
    await actor.ready;
    send({ type: 'Add', item: 'a', n: 1 });
    await settle(clock);
    const stopping = actor.stop();
    await settle(clock);
    expect(abandoned).toBe(false);
    await clock.advance(2_000);
    await stopping;
    expect(abandoned).toBe(true);
    expect(store.commits('tally').flatMap((c) => c.events.map((e) => e.type))).toEqual(['added']);
  });
});
