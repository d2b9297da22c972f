import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.ts';
import { parseTaskMessage } from './task.ts';

describe('parseTaskMessage - bad input', () => {
  it.each([
    ['not json', '{oops', 'inbox-5', 'invalid_json'],
    ['an array', '[1,2]', 'inbox-5', 'invalid_message'],
    ['a string', '"hello"', 'inbox-5', 'invalid_message'],
    ['null', 'null', 'inbox-5', 'invalid_message'],
    ['missing id', '{"input":"x"}', 'inbox-5', 'invalid_message'],
    ['numeric id', '{"id":7,"input":"x"}', 'inbox-5', 'invalid_message'],
    ['missing input', '{"id":"t-1"}', 't-1', 'invalid_message'],
    ['input of the wrong type', '{"id":"t-1","input":42}', 't-1', 'invalid_message'],
    ['id that is not a subject token', '{"id":"a.b","input":"x"}', 'inbox-5', 'invalid_task_id'],
  ])('refuses %s with a specific reason', (_name, raw, id, code) => {
    const parsed = parseTaskMessage(raw, 5);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.taskId).toBe(id);
    expect(parsed.code).toBe(code);
    expect(parsed.message).toMatch(/send \{"id"/);
  });

  it('names the field and what it got', () => {
    const parsed = parseTaskMessage('{"id":"t-1","input":42}', 1);
    expect(parsed.ok || parsed.message).toContain('input: ');
    expect(parsed.ok || parsed.message).toContain('got number 42');
  });

  it('accepts a valid task with meta', () => {
    expect(parseTaskMessage('{"id":"t-1","input":"x","meta":{"k":1}}', 1)).toEqual({
      ok: true,
      task: { id: 't-1', input: 'x', meta: { k: 1 } },
    });
  });
});

describe('parseConfig - one line naming the field and the fix', () => {
  const agent = { instructions: 'You analyze data.', model: 'claude-sonnet-4-6' };

  it('fills defaults', () => {
    expect(parseConfig({ agents: { analyst: agent } }).agents.analyst).toMatchObject({
      maxTokens: 1024,
      concurrency: 1,
    });
  });

  it.each([
    [{ agents: { Analyst: agent } }, /agents\.Analyst: invalid agent name: agent names use lower-case/],
    [
      { agents: { analyst: { ...agent, maxTokens: 0 } } },
      /agents\.analyst\.maxTokens: must be at least 1 \(got 0\)/,
    ],
    [{ agents: { analyst: { model: 'm' } } }, /agents\.analyst\.instructions: is required/],
    [
      { agents: { analyst: { ...agent, temprature: 1 } } },
      /analyst: unknown field "temprature": remove it \(agent fields are instructions, model/,
    ],
    [
      { agents: { analyst: agent }, workflow: {} },
      /\(top level\): unknown field "workflow": remove it \(top-level fields are agents, workflows, schedules, coordinator, nats, namespace, mcpServers, limits\)/,
    ],
    [
      { agents: { analyst: agent }, coordinator: { ttl: 1 } },
      /coordinator: unknown field "ttl": remove it \(coordinator fields are leaseTtlMs, snapshotEvery\)/,
    ],
    [
      { agents: { analyst: agent }, coordinator: { leaseTtlMs: 10 } },
      /coordinator\.leaseTtlMs: must be at least 1000/,
    ],
    [{ agents: {} }, /agents: must define at least one agent/],
    [{ agents: { coordinator: agent } }, /reserved/],
  ])('refuses %j', (config, message) => {
    expect(() => parseConfig(config, 'spool.config.json')).toThrow(message);
  });
});
