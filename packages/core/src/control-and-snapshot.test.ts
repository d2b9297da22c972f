import { describe, expect, it } from 'vitest';
import type { Command, ModelReply } from './commands.ts';
import { decide } from './decide.ts';
import { applyCommit } from './evolve.ts';
import { given } from './given.ts';
import { next } from './next.ts';
import { diffSnapshots, fromSnapshot, STATE_VERSION, toSnapshot } from './snapshot.ts';
import { RECENTLY_DONE_KEEP } from './state.ts';

const AT = '2026-11-25T12:00:00.000Z';

const receive = (id: string, inboxSeq = 1): Command => ({
  type: 'ReceiveTask',
  task: { id, input: `input of ${id}` },
  inboxSeq,
  at: AT,
});
const start = (taskId: string): Command => ({ type: 'StartTask', taskId, specHash: 'h1', at: AT });
const reply: ModelReply = {
  model: 'm',
  content: [{ type: 'text', text: 'ok' }],
  stopReason: 'end_turn',
  usage: { inputTokens: 1, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
};
const record = (taskId: string): Command => ({ type: 'RecordReply', taskId, step: 0, reply, at: AT });
const publish = (taskId: string): Command => ({ type: 'MarkPublished', taskId, at: AT });
const cancel = (taskId: string, reason = 'not needed'): Command => ({
  type: 'Cancel',
  taskId,
  reason,
  at: AT,
});
const pause = (controlSeq: number): Command => ({ type: 'Pause', controlSeq, at: AT });
const resume = (controlSeq: number): Command => ({ type: 'Resume', controlSeq, at: AT });

describe('cancel', () => {
  it('ends a queued or running task as cancelled, with a cancelled result', () => {
    for (const state of [given(receive('t'), cancel('t')), given(receive('t'), start('t'), cancel('t'))]) {
      expect(state.active.get('t')).toMatchObject({ phase: 'cancelled', error: { code: 'cancelled' } });
      const [effect] = next(state, { concurrency: 1 });
      expect(effect).toMatchObject({ type: 'publish-result', result: { status: 'cancelled' } });
      expect(state.counts.cancelled).toBe(1);
    }
  });

  it('ignores a reply that arrives after the cancellation', () => {
    const state = given(receive('t'), start('t'), cancel('t'));
    expect(decide(state, record('t'))).toEqual([]);
  });

  it('is too late once the task has finished', () => {
    expect(decide(given(receive('t'), start('t'), record('t')), cancel('t'))).toEqual([]);
    expect(decide(given(receive('t'), start('t'), record('t'), publish('t')), cancel('t'))).toEqual([]);
  });

  it('cancels a task that has not arrived yet as soon as it does', () => {
    const state = given(cancel('later', 'changed my mind'));
    expect(state.cancelRequests.get('later')).toBe('changed my mind');
    expect(decide(state, cancel('later'))).toEqual([]); // asked once is enough
    const events = decide(state, receive('later'));
    expect(events.map((e) => e.type)).toEqual(['task.received', 'task.cancelled']);
    applyCommit(state, { seq: 99, events });
    expect(state.active.get('later')?.phase).toBe('cancelled');
    expect(state.cancelRequests.size).toBe(0);
  });
});

describe('pause and resume', () => {
  it('a paused agent starts nothing and calls no model, but still publishes results', () => {
    const state = given(receive('a', 1), receive('b', 2), start('a'), receive('c', 3), pause(10));
    expect(state.paused).toBe(true);
    expect(next(state, { concurrency: 5 })).toEqual([]);
    const resumed = given(receive('a', 1), start('a'), record('a'), receive('b', 2), pause(10));
    expect(next(resumed, { concurrency: 5 }).map((e) => e.type)).toEqual(['publish-result']);
  });

  it('resume lets work start again; repeated pauses and resumes are no-ops', () => {
    const state = given(receive('a'), pause(10));
    expect(decide(state, pause(11))).toEqual([]);
    applyCommit(state, { seq: 5, events: decide(state, resume(12)) });
    expect(state.paused).toBe(false);
    expect(decide(state, resume(13))).toEqual([]);
    expect(next(state, { concurrency: 1 })).toEqual([{ type: 'start-task', taskId: 'a' }]);
  });
});

describe('snapshots', () => {
  const busy = () =>
    given(
      receive('a', 1),
      start('a'),
      record('a'),
      publish('a'),
      receive('b', 2),
      start('b'),
      cancel('z'),
      pause(9),
    );

  it('round-trips the state exactly', () => {
    const state = busy();
    const restored = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(state))), 'analyst');
    if (!('state' in restored)) throw new Error(restored.problem);
    expect(restored.state).toEqual(state);
    expect(diffSnapshots(toSnapshot(state), toSnapshot(restored.state))).toEqual([]);
  });

  it('refuses a snapshot of another state version, another agent, or the wrong shape, saying why', () => {
    const snapshot = toSnapshot(busy());
    // Version 9 still decodes (below); older ones are replayed from scratch.
    expect(fromSnapshot({ ...snapshot, stateVersion: STATE_VERSION - 2 }, 'analyst')).toEqual({
      problem: expect.stringContaining(`state version ${STATE_VERSION - 2}`),
    });
    expect(fromSnapshot({ ...snapshot, stateVersion: STATE_VERSION + 1 }, 'analyst')).toEqual({
      problem: expect.stringContaining(`state version ${STATE_VERSION + 1}`),
    });
    expect(fromSnapshot(snapshot, 'someone-else')).toEqual({
      problem: expect.stringContaining('belongs to agent "analyst"'),
    });
    expect(fromSnapshot({ ...snapshot, counts: 'lots' }, 'analyst')).toEqual({
      problem: expect.stringContaining('counts'),
    });
    expect(fromSnapshot(null, 'analyst')).toMatchObject({ problem: expect.any(String) });
  });

  it('decodes a version-9 snapshot: its newest done ids become the recent set', () => {
    const state = busy();
    const { recentlyDone: _recent, ...current } = toSnapshot(state);
    const everyId = Array.from({ length: RECENTLY_DONE_KEEP + 5 }, (_, i) => [`old-${i}`, 'completed']);
    const v9 = { ...current, stateVersion: 9, done: [...everyId, ['a', 'completed']] };
    const restored = fromSnapshot(JSON.parse(JSON.stringify(v9)), 'analyst');
    if (!('state' in restored)) throw new Error(restored.problem);
    expect(restored.state.recentlyDone.size).toBe(RECENTLY_DONE_KEEP);
    expect([...restored.state.recentlyDone.keys()].at(-1)).toBe('a');
    expect(restored.state.recentlyDone.has('old-5')).toBe(false); // known by its result only
    expect(restored.state.recentlyDone.has('old-6')).toBe(true);
    expect(restored.state.active).toEqual(state.active);
    expect(restored.state.counts).toEqual(state.counts);
    expect(toSnapshot(restored.state).stateVersion).toBe(STATE_VERSION);
  });

  it('stays the same size however many tasks have finished', () => {
    const ran = (tasks: number) => {
      const commands: Command[] = [];
      for (let i = 0; i < tasks; i++)
        commands.push(receive(`t-${i}`, i + 1), start(`t-${i}`), record(`t-${i}`), publish(`t-${i}`));
      const state = given(...commands);
      state.memory = []; // memory is bounded on its own (MEMORY_KEEP); this is about task ids
      return JSON.stringify(toSnapshot(state)).length;
    };
    const atKeep = ran(RECENTLY_DONE_KEEP);
    // Three times the tasks: only the ids kept are longer (t-2999 against t-999) and the counts.
    expect(ran(RECENTLY_DONE_KEEP * 3)).toBeLessThanOrEqual(atKeep + RECENTLY_DONE_KEEP * 2);
  });

  it('names each difference by path', () => {
    const a = toSnapshot(busy());
    const b = { ...a, exchanges: a.exchanges + 1, counts: { ...a.counts, completed: 7 } };
    expect(diffSnapshots(a, b)).toEqual([
      `exchanges: ${a.exchanges} ≠ ${a.exchanges + 1}`,
      'counts.completed: 1 ≠ 7',
    ]);
  });
});

describe('failures, dead letters and deadlines', () => {
  /** A failed call; the server asked for 5 s, longer than any backoff of this policy. */
  const failure = (taskId: string, retryable: boolean): Command => ({
    type: 'RecordModelFailure',
    taskId,
    step: 0,
    error: { code: retryable ? 'overloaded' : 'bad_request', message: 'no' },
    retryable,
    retryAfterMs: 5_000,
    retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1_000 },
    draw: 0.5,
    at: AT,
  });
  const later = '2026-11-25T12:00:05.000Z';
  const failedTask = () =>
    given(receive('f', 1), start('f'), failure('f', true), failure('f', true), failure('f', true));

  it('journals a retryable failure with the time of the next call, which next() waits for', () => {
    const state = given(receive('t'), start('t'), failure('t', true));
    expect(state.active.get('t')).toMatchObject({ phase: 'running', failedCalls: 1, retryAt: later });
    expect(next(state, { concurrency: 1 })).toEqual([
      { type: 'call-model', taskId: 't', step: 0, notBefore: later },
    ]);
    applyCommit(state, { seq: 50, events: decide(state, record('t')) });
    expect(state.active.get('t')).toMatchObject({ phase: 'completed', failedCalls: 0, retryAt: undefined });
  });

  it('fails the task on a terminal error, or when the calls are used up', () => {
    expect(given(receive('t'), start('t'), failure('t', false)).active.get('t')?.phase).toBe('failed');
    const state = failedTask();
    expect(state.active.get('f')?.error?.message).toBe('no (gave up after 3 call(s))');
  });

  it('keeps a failed task in the dead-letter view until it is retried as a new attempt, or dropped', () => {
    const state = failedTask();
    applyCommit(state, {
      seq: 60,
      events: decide(state, { type: 'MarkPublished', taskId: 'f', resultSeq: 7, at: AT }),
    });
    expect(state.dead.get('f')?.resultSeq).toBe(7);
    const retried = decide(state, { type: 'Retry', taskId: 'f', controlSeq: 3, at: AT });
    applyCommit(state, { seq: 61, events: retried });
    expect(state.dead.size).toBe(0);
    expect(state.active.get('f')).toMatchObject({
      phase: 'queued',
      attempt: 1,
      previousResultSeq: 7,
      steps: [],
    });
    applyCommit(state, { seq: 62, events: decide(state, start('f')) });
    expect(state.active.get('f')?.attempt).toBe(2);
    expect(decide(state, { type: 'Drop', taskId: 'f', controlSeq: 4, at: AT })).toEqual([]);

    const other = failedTask();
    applyCommit(other, { seq: 60, events: decide(other, publish('f')) });
    applyCommit(other, {
      seq: 61,
      events: decide(other, { type: 'Drop', taskId: 'f', controlSeq: 4, at: AT }),
    });
    expect(other.dead.size).toBe(0);
    expect(other.recentlyDone.get('f')).toBe('failed');
  });

  it('knows a dead-lettered task after its id left the recent set, and retries it', () => {
    const state = failedTask();
    applyCommit(state, {
      seq: 60,
      events: decide(state, { type: 'MarkPublished', taskId: 'f', resultSeq: 7, at: AT }),
    });
    let seq = 60;
    for (let i = 0; i <= RECENTLY_DONE_KEEP; i++) {
      const id = `n-${i}`;
      for (const command of [receive(id), start(id), record(id), publish(id)])
        applyCommit(state, { seq: ++seq, events: decide(state, command) });
    }
    expect(state.recentlyDone.has('f')).toBe(false);
    expect(decide(state, receive('f'))).toEqual([]); // still known: the dead-letter view has it
    expect(decide(state, cancel('f'))).toEqual([]);
    applyCommit(state, {
      seq: ++seq,
      events: decide(state, { type: 'Retry', taskId: 'f', controlSeq: 3, at: AT }),
    });
    for (const command of [start('f'), record('f'), publish('f')])
      applyCommit(state, { seq: ++seq, events: decide(state, command) });
    expect([...state.recentlyDone].at(-1)).toEqual(['f', 'completed']);
    expect(state.recentlyDone.size).toBe(RECENTLY_DONE_KEEP);
  });

  it('counts interruptions of a running task and fails it past the limit', () => {
    const resume = (taskId: string): Command => ({ type: 'ResumeTask', taskId, maxInterruptions: 2, at: AT });
    const state = given(receive('t'), start('t'), resume('t'), resume('t'));
    expect(state.active.get('t')).toMatchObject({ phase: 'running', interruptions: 2 });
    applyCommit(state, { seq: 70, events: decide(state, resume('t')) });
    expect(state.active.get('t')).toMatchObject({ phase: 'failed', error: { code: 'crash_loop' } });
  });

  it('asks to fail a running task past its deadline', () => {
    const state = given(receive('t'), start('t'));
    const justBefore = { concurrency: 1, taskDeadlineMs: 1_000, now: new Date(Date.parse(AT) + 1_000) };
    expect(next(state, justBefore)[0]?.type).toBe('call-model');
    const after = { ...justBefore, now: new Date(Date.parse(AT) + 1_001) };
    expect(next(state, after)).toEqual([
      {
        type: 'fail-task',
        taskId: 't',
        error: { code: 'deadline_exceeded', message: expect.stringContaining('past its deadline') },
      },
    ]);
  });

  it('round-trips the dead-letter view through a snapshot', () => {
    const state = failedTask();
    applyCommit(state, { seq: 60, events: decide(state, publish('f')) });
    const restored = fromSnapshot(toSnapshot(state), 'analyst');
    if (!('state' in restored)) throw new Error(restored.problem);
    expect(restored.state).toEqual(state);
  });
});
