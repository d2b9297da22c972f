import { AGENT_NAME_PATTERN, KEY_PATTERN, TASK_ID_PATTERN, WORKFLOW_ID_PATTERN } from '@spool/core';
import { z } from 'zod';

/** What the console's API accepts, checked at its edge: path parts, queries and action bodies. */

export const AgentNameSchema = z
  .string()
  .regex(AGENT_NAME_PATTERN, 'is not an agent name (lower-case letters, digits and dashes)');
/** A keyed agent's instance key. */
export const KeySchema = z
  .string()
  .regex(KEY_PATTERN, 'is not a key (1-128 letters, digits and _ = -; base64url fits)');
export const TaskIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(TASK_ID_PATTERN, 'is not a task id (letters, digits and _ : = @ + -)');
export const WorkflowIdSchema = z
  .string()
  .regex(WORKFLOW_ID_PATTERN, 'is not a workflow id (1-64 letters, digits and _ = @ + -)');

export const TASK_STATUSES = [
  'queued',
  'running',
  'waiting',
  'completed',
  'failed',
  'rejected',
  'cancelled',
] as const;

export const TaskListQuerySchema = z
  .object({
    agent: AgentNameSchema.optional(),
    /** One instance of a keyed agent (with `agent`). */
    key: KeySchema.optional(),
    status: z.enum(TASK_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .refine((query) => query.key === undefined || query.agent !== undefined, {
    message: 'a key needs its agent (?agent=<agent>&key=<key>)',
    path: ['key'],
  });

const reason = z.string().trim().min(1).max(2000);

/** Where a task is, when the page knows: its agent, and for a keyed agent's instance its key. */
const taskPlace = { agent: AgentNameSchema.optional(), key: KeySchema.optional() };

export const ActionSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('approve'), taskId: TaskIdSchema, ...taskPlace }).strict(),
    z.object({ type: z.literal('deny'), taskId: TaskIdSchema, reason, ...taskPlace }).strict(),
    z.object({ type: z.literal('pause'), agent: AgentNameSchema, reason: reason.optional() }).strict(),
    z.object({ type: z.literal('resume'), agent: AgentNameSchema }).strict(),
    z
      .object({
        type: z.literal('cancel'),
        taskId: TaskIdSchema,
        ...taskPlace,
        reason: reason.optional(),
      })
      .strict(),
    z
      .object({ type: z.literal('cancel-workflow'), workflowId: WorkflowIdSchema, reason: reason.optional() })
      .strict(),
    z.object({ type: z.literal('retry'), taskId: TaskIdSchema, ...taskPlace }).strict(),
    z.object({ type: z.literal('drop'), taskId: TaskIdSchema, ...taskPlace }).strict(),
  ])
  .refine((action) => !('key' in action) || action.key === undefined || action.agent !== undefined, {
    message: 'a key needs its agent',
    path: ['key'],
  });
export type Action = z.infer<typeof ActionSchema>;

/** The first problem of a failed parse as one line: `taskId: is not a task id (…)`. */
export function firstIssue(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  if (issue === undefined) return `${what} is not valid`;
  const path = issue.path.join('.');
  return `${what}${path === '' ? '' : ` ${path}`}: ${issue.message}`;
}
