import { z } from 'zod';
import { MetaSchema } from './task.ts';
import { UsageSchema } from './usage.ts';

export const TaskStatus = {
  Completed: 'completed',
  Failed: 'failed',
  Rejected: 'rejected',
  Cancelled: 'cancelled',
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

export const TaskErrorSchema = z.object({ code: z.string(), message: z.string() });
export type TaskError = z.infer<typeof TaskErrorSchema>;

/** The outcome of a task on `spool.results.<agent>.<taskId>`: one per task id. */
export const TaskResultSchema = z.object({
  taskId: z.string(),
  agent: z.string(),
  /** The replica of the pool `agent` that ran the task (`<agent>-<k>`), for a pool task. */
  replica: z.string().optional(),
  /** The instance of the keyed agent `agent` that ran the task (its result is on `spool.results.<agent>.<key>.<taskId>`). */
  key: z.string().optional(),
  status: z.enum(['completed', 'failed', 'rejected', 'cancelled']),
  output: z.string().optional(),
  error: TaskErrorSchema.optional(),
  usage: UsageSchema,
  /** The model that wrote the task's last reply, as the API named it (`offline`: the built-in offline model, not Claude). */
  model: z.string().optional(),
  /** What the task's model calls cost, in USD, when the model's price is known. */
  costUsd: z.number().nonnegative().optional(),
  /** Model calls made for the task (each a journaled step). */
  steps: z.number().int().nonnegative(),
  /** The tools called for the task, in order (absent when none was). */
  tools: z.array(z.string()).optional(),
  attempts: z.number().int().nonnegative(),
  receivedAt: z.string().optional(),
  finishedAt: z.string(),
  meta: MetaSchema.optional(),
});
export type TaskResult = z.infer<typeof TaskResultSchema>;
