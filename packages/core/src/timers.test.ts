import { describe, expect, it } from 'vitest';
import type { Command, ModelReply } from './commands.ts';
import { parseConfig } from './config.ts';
import { decide } from './decide.ts';
import { holdsSlot } from './delegation-decisions.ts';
import { evolve } from './evolve.ts';
import { given } from './given.ts';
import { nextAt } from './next.ts';
import { fromSnapshot, toSnapshot } from './snapshot.ts';

const AT = '2026-11-25T12:00:00.000Z';
const ms = Date.parse(AT);
const usage = { inputTokens: 1, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
const waitReply = (input: unknown): ModelReply => ({
  model: 'm',
  content: [{ type: 'tool_use', id: 'tu_w', name: 'wait', input }] as unknown as ModelReply['content'],
  stopReason: 'tool_use',
  usage,
});
const setup: Command[] = [
  { type: 'ReceiveTask', task: { id: 't', input: 'watch' }, inboxSeq: 1, at: AT },
  { type: 'StartTask', taskId: 't', specHash: 'h', at: AT },
];
const reply = (input: unknown, timers = { maxWaitMs: 3_600_000 }): Command => ({
  type: 'RecordReply',
  taskId: 't',
  step: 0,
  reply: waitReply(input),
  toolsEnabled: true,
  timers,
  at: AT,
});
const waiting = (input: unknown, timers?: { maxWaitMs: number; taskDeadlineMs?: number }) => {
  const state = given(...setup);
  for (const event of decide(state, reply(input, timers))) evolve(state, event);
  return state;
};

describe('durable timers (the wait tool)', () => {
  it('a wait is journaled with the reply; the task parks without a slot and wakes at its time', () => {
    const state = waiting({ wait_for: '2h', reason: 'the build runs' }, { maxWaitMs: 86_400_000 });
    const task = state.active.get('t');
    expect(task?.steps[0]?.tools[0]?.timer).toEqual({
      until: '2026-11-25T14:00:00.000Z',
      setAt: AT,
      reason: 'the build runs',
    });
    expect(task !== undefined && holdsSlot(task)).toBe(false);
    const before = nextAt(state, { concurrency: 1, now: new Date(ms + 3_600_000) });
    expect(before).toEqual({ effects: [], wakeAt: ms + 7_200_000 });
    const at = nextAt(state, { concurrency: 1, now: new Date(ms + 7_200_000) });
    expect(at.effects).toEqual([
      {
        type: 'fire-timer',
        taskId: 't',
        step: 0,
        toolUseId: 'tu_w',
        until: '2026-11-25T14:00:00.000Z',
        setAt: AT,
      },
    ]);
    // The timer survives a snapshot.
    const restored = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(state))), state.agent);
    expect('state' in restored && restored.state.active.get('t')?.steps[0]?.tools[0]?.timer?.until).toBe(
      '2026-11-25T14:00:00.000Z',
    );
  });

  it('wait_until is an ISO time; one in the past goes on at once', () => {
    expect(
      waiting({ wait_until: '2026-11-25T13:30:00+01:00' }).active.get('t')?.steps[0]?.tools[0]?.timer?.until,
    ).toBe('2026-11-25T12:30:00.000Z');
    expect(
      waiting({ wait_until: '2020-01-01T00:00:00Z' }).active.get('t')?.steps[0]?.tools[0]?.timer?.until,
    ).toBe(AT);
  });

  it.each([
    [
      { wait_for: '2h' },
      { maxWaitMs: 3_600_000 },
      /2h is longer than this agent may wait \(1h, timers\.maxWait\)/,
    ],
    [{ wait_for: 'later' }, undefined, /wait_for: "later" is not a duration/],
    [{ wait_until: 'tomorrow' }, undefined, /wait_until "tomorrow" is not an ISO 8601 time/],
    [{}, undefined, /give exactly one of "wait_until"/],
    [{ wait_for: '1h' }, { maxWaitMs: 86_400_000, taskDeadlineMs: 600_000 }, /after the task's deadline/],
  ])('refuses %j as an error the model reads', (input, timers, message) => {
    const call = waiting(input, timers).active.get('t')?.steps[0]?.tools[0];
    expect(call?.timer).toBeUndefined();
    expect(call?.result?.isError).toBe(true);
    expect(call?.result?.content).toMatch(message);
  });

  it('the config: timers.maxWait is a duration; a tool of its own named "wait" is refused', () => {
    const agent = (extra: Record<string, unknown>) => ({
      agents: { a: { instructions: 'i', model: 'm', ...extra } },
    });
    expect(parseConfig(agent({ timers: { maxWait: '90m' } })).agents.a?.timers).toEqual({
      maxWaitMs: 5_400_000,
    });
    expect(parseConfig(agent({ timers: {} })).agents.a?.timers).toEqual({ maxWaitMs: 7 * 86_400_000 });
    expect(() => parseConfig(agent({ timers: { maxWait: 'a while' } }), 'c.json')).toThrow(
      /^c\.json: agents\.a\.timers\.maxWait: "a while" is not a duration/,
    );
  });
});
