import { describe, expect, it } from 'vitest';
import type { AgentEvent as HistoryEvent } from './agent-events.ts';
import type { Command, ModelReply } from './commands.ts';
import { decide } from './decide.ts';
import { evolve } from './evolve.ts';
import { given } from './given.ts';
import { next, startableNow } from './next.ts';
import { buildMessages } from './request.ts';
import { toSnapshot } from './snapshot.ts';
import {
  CANCEL_REQUESTS_KEEP,
  finishedCount,
  initialState,
  isKnownTask,
  RECENTLY_DONE_KEEP,
} from './state.ts';

const AT = '2026-11-24T12:00:00.000Z';
const memory = { exchanges: 20, maxChars: 60_000 };

const receive = (id: string, input = `input of ${id}`, inboxSeq = 1): Command => ({
  type: 'ReceiveTask',
  task: { id, input },
  inboxSeq,
  at: AT,
});
const start = (taskId: string): Command => ({ type: 'StartTask', taskId, specHash: 'h1', at: AT });
const reply = (text: string, stopReason = 'end_turn'): ModelReply => ({
  model: 'claude-sonnet-4-6',
  content: [{ type: 'text', text }],
  stopReason,
  usage: { inputTokens: 10, outputTokens: 5, cacheCreationInputTokens: 0, cacheReadInputTokens: 3 },
});
const record = (taskId: string, text: string, stopReason?: string): Command => ({
  type: 'RecordReply',
  taskId,
  step: 0,
  reply: reply(text, stopReason),
  at: AT,
});
const publish = (taskId: string): Command => ({ type: 'MarkPublished', taskId, at: AT });

describe('decide - ReceiveTask with startNow (a keyed instance: one append for both)', () => {
  const receiveAndStart = (id: string): Command =>
    ({ ...receive(id), startNow: { specHash: 'h1' } }) as Command;

  it('records the task received and its first attempt started, as a StartTask after it would', () => {
    const state = given(receive('t-0'), start('t-0'), record('t-0', 'ok'), publish('t-0'));
    const events = decide(state, receiveAndStart('t-1'));
    const apart = given(receive('t-0'), start('t-0'), record('t-0', 'ok'), publish('t-0'), receive('t-1'));
    expect(events).toEqual([...decide(state, receive('t-1')), ...decide(apart, start('t-1'))]);
    for (const event of events) evolve(state, event);
    expect(state.active.get('t-1')).toMatchObject({ phase: 'running', attempt: 1 });
    expect(next(state, { concurrency: 1 })).toMatchObject([{ type: 'call-model', taskId: 't-1' }]);
  });

  it('does not start a task cancelled before it arrived', () => {
    const state = given({ type: 'Cancel', taskId: 't-1', reason: 'no', at: AT });
    expect(decide(state, receiveAndStart('t-1')).map((e) => e.type)).toEqual([
      'task.received',
      'task.cancelled',
    ]);
  });

  it('keeps the newest CANCEL_REQUESTS_KEEP cancels of tasks still to come; the oldest one is forgotten', () => {
    const cancels: Command[] = [];
    for (let i = 0; i <= CANCEL_REQUESTS_KEEP; i++)
      cancels.push({ type: 'Cancel', taskId: `never-${i}`, reason: 'no', at: AT });
    const state = given(...cancels);
    expect(state.cancelRequests.size).toBe(CANCEL_REQUESTS_KEEP);
    expect(state.cancelRequests.has('never-0')).toBe(false);
    expect(decide(state, receiveAndStart('never-1')).map((e) => e.type)).toEqual([
      'task.received',
      'task.cancelled',
    ]);
    expect(decide(state, receiveAndStart('never-0')).map((e) => e.type)).toEqual([
      'task.received',
      'task.started',
    ]);
  });

  it('is asked only for free slots with nothing queued ahead, not paused, no daily budget to check', () => {
    expect(startableNow(given(), { concurrency: 2 })).toBe(2);
    expect(startableNow(given(receive('a'), start('a')), { concurrency: 2 })).toBe(1);
    expect(startableNow(given(receive('a')), { concurrency: 2 })).toBe(0);
    expect(
      startableNow(given({ type: 'Pause', controlSeq: 1, reason: 'x', at: AT }), { concurrency: 2 }),
    ).toBe(0);
    expect(startableNow(given(), { concurrency: 2, budget: { dailyCostUsd: 5 } as never })).toBe(0);
  });
});

describe('decide - ReceiveTask', () => {
  it('records a new task as received and queued', () => {
    const state = given();
    const events = decide(state, receive('t-1'));
    expect(events.map((e) => e.type)).toEqual(['task.received']);
    expect(events[0]?.id).toBe('analyst:t-1:received');
    evolve(state, events[0] as HistoryEvent);
    expect(state.active.get('t-1')?.phase).toBe('queued');
  });

  it('treats ids that name Object properties as any other id', () => {
    const state = given(receive('constructor'), receive('toString'));
    expect([...state.active.keys()]).toEqual(['constructor', 'toString']);
    expect(state.counts.received).toBe(2);
  });

  it('ignores a task id it already knows, running or done', () => {
    expect(decide(given(receive('t-1')), receive('t-1'))).toEqual([]);
    const done = given(receive('t-1'), start('t-1'), record('t-1', 'ok'), publish('t-1'));
    expect(done.recentlyDone.get('t-1')).toBe('completed');
    expect(decide(done, receive('t-1'))).toEqual([]);
  });
});

describe('decide - RecordReply', () => {
  it('journals the reply and the completion together', () => {
    const state = given(receive('t-1'), start('t-1'));
    const events = decide(state, record('t-1', 'the mean is 3'));
    expect(events.map((e) => e.type)).toEqual(['model.responded', 'task.completed']);
  });

  it('refuses a reply for a step already journaled', () => {
    const state = given(receive('t-1'), start('t-1'), record('t-1', 'first'));
    expect(decide(state, record('t-1', 'second'))).toEqual([]);
  });

  it('fails the task when the model asks for a tool the agent does not have', () => {
    const state = given(receive('t-1'), start('t-1'), record('t-1', '', 'tool_use'));
    expect(state.active.get('t-1')?.phase).toBe('failed');
    expect(state.active.get('t-1')?.error?.code).toBe('unexpected_tool_use');
  });
});

describe('evolve - task lifecycle', () => {
  it('remembers a completed exchange and sums usage', () => {
    const state = given(receive('t-1', 'mean of [1,2,3]?'), start('t-1'), record('t-1', 'it is 2'));
    expect(state.memory).toEqual([{ n: 0, taskId: 't-1', input: 'mean of [1,2,3]?', output: 'it is 2' }]);
    expect(state.usage.inputTokens).toBe(10);
    expect(state.counts).toEqual({ received: 1, completed: 1, failed: 0, rejected: 0, cancelled: 0 });
  });

  it('moves a task to done once its result is published', () => {
    const state = given(receive('t-1'), start('t-1'), record('t-1', 'ok'), publish('t-1'));
    expect(state.active.size).toBe(0);
    expect(state.recentlyDone.get('t-1')).toBe('completed');
  });

  it('keeps the newest RECENTLY_DONE_KEEP finished ids, oldest first; older ones only by their results', () => {
    const commands: Command[] = [];
    for (let i = 0; i < RECENTLY_DONE_KEEP + 2; i++)
      commands.push(receive(`t-${i}`), start(`t-${i}`), record(`t-${i}`, 'ok'), publish(`t-${i}`));
    const state = given(...commands);
    expect(state.recentlyDone.size).toBe(RECENTLY_DONE_KEEP);
    expect([...state.recentlyDone.keys()].slice(0, 2)).toEqual(['t-2', 't-3']);
    expect(isKnownTask(state, 't-2')).toBe(true);
    // Out of the state: the runtime asks the results stream before it decides on this id.
    expect(isKnownTask(state, 't-1')).toBe(false);
    expect(state.counts.completed).toBe(RECENTLY_DONE_KEEP + 2);
    expect(finishedCount(state)).toBe(RECENTLY_DONE_KEEP + 2);
  });

  it('records a rejected message with its reason', () => {
    const state = given({
      type: 'RejectMessage',
      taskId: 'inbox-7',
      inboxSeq: 7,
      error: { code: 'invalid_json', message: 'message is not JSON' },
      excerpt: '{oops',
      at: AT,
    });
    expect(state.active.get('inbox-7')?.phase).toBe('rejected');
    expect(state.counts.rejected).toBe(1);
  });

  it('ignores events that do not apply instead of throwing', () => {
    const state = initialState('analyst');
    evolve(state, {
      id: 'x',
      type: 'task.completed',
      v: 1,
      data: { taskId: 'nope', output: 'x', at: AT },
    });
    expect(state.counts.completed).toBe(0);
  });

  it('gives the same state for the same events', () => {
    const commands = [receive('a', 'x', 1), receive('b', 'y', 2), start('a'), record('a', 'ok'), start('b')];
    expect(toSnapshot(given(...commands))).toEqual(toSnapshot(given(...commands)));
  });
});

describe('next - effects', () => {
  it('starts queued tasks up to the concurrency, oldest first', () => {
    const state = given(receive('b', 'y', 2), receive('a', 'x', 1), receive('c', 'z', 3));
    expect(next(state, { concurrency: 2 })).toEqual([
      { type: 'start-task', taskId: 'a' },
      { type: 'start-task', taskId: 'b' },
    ]);
  });

  it('asks for the model call of a running task, and none once its reply is journaled', () => {
    const running = given(receive('a'), start('a'));
    expect(next(running, { concurrency: 1 })).toEqual([{ type: 'call-model', taskId: 'a', step: 0 }]);
    const answered = given(receive('a'), start('a'), record('a', 'done'));
    const effects = next(answered, { concurrency: 1 });
    expect(effects.map((e) => e.type)).toEqual(['publish-result']);
    expect(effects[0]).toMatchObject({
      result: { taskId: 'a', status: 'completed', output: 'done', steps: 1 },
    });
  });

  it('counts running tasks against the concurrency', () => {
    const state = given(receive('a', 'x', 1), start('a'), receive('b', 'y', 2));
    expect(next(state, { concurrency: 1 })).toEqual([{ type: 'call-model', taskId: 'a', step: 0 }]);
  });

  it('has nothing to do once every result is published', () => {
    expect(
      next(given(receive('a'), start('a'), record('a', 'ok'), publish('a')), { concurrency: 1 }),
    ).toEqual([]);
  });
});

describe('buildMessages - memory across tasks', () => {
  it('carries earlier exchanges into a later task, from replayed state', () => {
    const state = given(
      receive('t-1', 'Analyze this dataset: [1,2,3,4,5]. Calculate the mean.', 1),
      start('t-1'),
      record('t-1', 'The mean is 3.'),
      publish('t-1'),
      receive('t-2', 'Now calculate the standard deviation and compare it with the mean.', 2),
      start('t-2'),
    );
    const task = state.active.get('t-2');
    if (task === undefined) throw new Error('t-2 missing');
    expect(buildMessages(state, task, memory)).toEqual([
      { role: 'user', content: 'Analyze this dataset: [1,2,3,4,5]. Calculate the mean.' },
      { role: 'assistant', content: 'The mean is 3.' },
      { role: 'user', content: 'Now calculate the standard deviation and compare it with the mean.' },
    ]);
  });

  it('sees only the memory that existed when the task started', () => {
    const state = given(
      receive('a', 'x', 1),
      receive('b', 'y', 2),
      start('a'),
      start('b'),
      record('a', 'ok'),
    );
    const b = state.active.get('b');
    if (b === undefined) throw new Error('b missing');
    expect(buildMessages(state, b, memory)).toEqual([{ role: 'user', content: 'y' }]);
  });

  it('bounds memory by count and characters, dropping the oldest', () => {
    const commands: Command[] = [];
    for (let i = 0; i < 5; i++)
      commands.push(receive(`t${i}`, `q${i}`, i), start(`t${i}`), record(`t${i}`, `a${i}`));
    commands.push(receive('last', 'now', 99), start('last'));
    const state = given(...commands);
    const last = state.active.get('last');
    if (last === undefined) throw new Error('last missing');
    const messages = buildMessages(state, last, { exchanges: 2, maxChars: 1000 });
    expect(messages.map((m) => m.content)).toEqual(['q3', 'a3', 'q4', 'a4', 'now']);
    expect(buildMessages(state, last, { exchanges: 10, maxChars: 4 }).map((m) => m.content)).toEqual([
      'q4',
      'a4',
      'now',
    ]);
  });
});
