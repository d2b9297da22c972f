import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  ActionSchema,
  AgentNameSchema,
  firstIssue,
  TaskIdSchema,
  TaskListQuerySchema,
  WorkflowIdSchema,
} from './schemas.ts';

/** The page's sentence for a refused value, as the API answers it (400 invalid_request). */
function refusal(schema: z.ZodType, value: unknown, what: string): string {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`${JSON.stringify(value)} was taken`);
  return firstIssue(result.error, what);
}

describe("the console API's path parts", () => {
  it('takes agent names, task ids and workflow ids as the CLI does, and says what is wrong', () => {
    for (const name of ['payer', 'payer-2', 'a1']) expect(AgentNameSchema.safeParse(name).success).toBe(true);
    for (const name of ['Payer', 'pay_er', 'pay.er', '', 'pay er', '../x'])
      expect(AgentNameSchema.safeParse(name).success).toBe(false);
    expect(refusal(AgentNameSchema, 'Not_An_Agent', 'agent')).toBe(
      'agent: is not an agent name (lower-case letters, digits and dashes)',
    );

    for (const id of ['t-1', 'a:b=c@d+e_f', 'x'.repeat(128)])
      expect(TaskIdSchema.safeParse(id).success).toBe(true);
    for (const id of ['', 'x'.repeat(129), 'a b', 'a/b', 'a.b', 'é'])
      expect(TaskIdSchema.safeParse(id).success).toBe(false);
    expect(refusal(TaskIdSchema, 'a/b', 'task id')).toContain('task id: is not a task id');

    expect(WorkflowIdSchema.safeParse('wf-1').success).toBe(true);
    expect(WorkflowIdSchema.safeParse('wf 1').success).toBe(false);
    expect(WorkflowIdSchema.safeParse('w'.repeat(65)).success).toBe(false);
  });
});

describe('the task list query', () => {
  it('defaults the limit, coerces it from the query string and bounds it', () => {
    expect(TaskListQuerySchema.parse({})).toEqual({ limit: 200 });
    expect(TaskListQuerySchema.parse({ agent: 'desk', key: 'acme' })).toEqual({
      agent: 'desk',
      key: 'acme',
      limit: 200,
    });
    expect(refusal(TaskListQuerySchema, { key: 'acme' }, 'query')).toContain(
      'query key: a key needs its agent',
    );
    expect(TaskListQuerySchema.parse({ agent: 'payer', status: 'waiting', limit: '5' })).toEqual({
      agent: 'payer',
      status: 'waiting',
      limit: 5,
    });
    for (const limit of ['0', '1001', '2.5', 'many'])
      expect(TaskListQuerySchema.safeParse({ limit }).success).toBe(false);
    expect(refusal(TaskListQuerySchema, { status: 'done' }, 'query')).toMatch(/^query status: /);
    expect(refusal(TaskListQuerySchema, { agent: 'A' }, 'query')).toBe(
      'query agent: is not an agent name (lower-case letters, digits and dashes)',
    );
  });
});

describe('actions', () => {
  it('takes each action with exactly its fields', () => {
    const valid = [
      { type: 'approve', taskId: 't-1' },
      { type: 'deny', taskId: 't-1', reason: 'not this invoice' },
      { type: 'pause', agent: 'payer' },
      { type: 'pause', agent: 'payer', reason: 'maintenance' },
      { type: 'resume', agent: 'payer' },
      { type: 'cancel', taskId: 't-1' },
      { type: 'cancel', taskId: 't-1', agent: 'payer', reason: 'wrong input' },
      { type: 'cancel-workflow', workflowId: 'wf-1' },
      { type: 'retry', taskId: 't-1' },
      { type: 'drop', taskId: 't-1' },
      // A keyed instance's task: its agent and key.
      { type: 'approve', taskId: 't-1', agent: 'desk', key: 'acme' },
      { type: 'cancel', taskId: 't-1', agent: 'desk', key: 'acme' },
      { type: 'retry', taskId: 't-1', agent: 'desk', key: 'acme' },
      { type: 'drop', taskId: 't-1', agent: 'desk', key: 'acme' },
    ];
    for (const action of valid) expect(ActionSchema.parse(action)).toEqual(action);
  });

  it('refuses an unknown type, a missing or extra field, a bad id or an empty reason, saying which', () => {
    expect(refusal(ActionSchema, { type: 'delete', taskId: 't-1' }, 'action')).toMatch(/^action type: /);
    expect(refusal(ActionSchema, { taskId: 't-1' }, 'action')).toMatch(/^action type: /);
    expect(refusal(ActionSchema, { type: 'approve' }, 'action')).toMatch(/^action taskId: /);
    expect(refusal(ActionSchema, { type: 'approve', taskId: 't 1' }, 'action')).toContain(
      'action taskId: is not a task id',
    );
    // A deny needs its reason (the model is told), and a blank one is no reason.
    expect(refusal(ActionSchema, { type: 'deny', taskId: 't-1' }, 'action')).toMatch(/^action reason: /);
    expect(refusal(ActionSchema, { type: 'deny', taskId: 't-1', reason: '   ' }, 'action')).toMatch(
      /^action reason: /,
    );
    expect(ActionSchema.safeParse({ type: 'deny', taskId: 't-1', reason: 'x'.repeat(2001) }).success).toBe(
      false,
    );
    // Strict: a field of another action is refused, not ignored (approve has no workflow id).
    expect(ActionSchema.safeParse({ type: 'approve', taskId: 't-1', workflowId: 'wf-1' }).success).toBe(
      false,
    );
    // A keyed instance's task: a key names one instance of an agent, so it needs the agent.
    expect(refusal(ActionSchema, { type: 'retry', taskId: 't-1', key: 'acme' }, 'action')).toBe(
      'action key: a key needs its agent',
    );
    expect(
      refusal(ActionSchema, { type: 'drop', taskId: 't-1', agent: 'desk', key: 'a b' }, 'action'),
    ).toContain('action key: is not a key');
    expect(ActionSchema.safeParse({ type: 'pause', agent: 'Payer' }).success).toBe(false);
    expect(ActionSchema.safeParse({ type: 'cancel-workflow', workflowId: 'a/b' }).success).toBe(false);
    for (const body of [null, [], 'approve', 42]) expect(ActionSchema.safeParse(body).success).toBe(false);
  });

  it('trims a reason', () => {
    expect(ActionSchema.parse({ type: 'deny', taskId: 't-1', reason: '  no  ' })).toMatchObject({
      reason: 'no',
    });
  });
});
