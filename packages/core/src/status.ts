import { z } from 'zod';
import { UsageSchema } from './usage.ts';

/** The coordinator's answer on `spool.api.status`. */
export const AgentStatusSchema = z.object({
  name: z.string(),
  /** idle: holds no unfinished task; working: some task is queued or running; unknown: no history yet. */
  status: z.enum(['idle', 'working', 'unknown']),
  holder: z.string().optional(),
  holderAlive: z.boolean().optional(),
  inFlight: z.array(
    z.object({
      taskId: z.string(),
      phase: z.string(),
      attempt: z.number(),
      steps: z.number(),
      receivedAt: z.string().optional(),
    }),
  ),
  /** Tool calls waiting for an operator (`spool approve` / `spool deny`). */
  approvals: z.array(
    z.object({
      taskId: z.string(),
      tool: z.string(),
      input: z.string(),
      reason: z.string(),
      requestedAt: z.string(),
    }),
  ),
  /** Inbox messages not yet taken by the agent, and taken but not yet acknowledged. */
  queued: z.number(),
  unacked: z.number(),
  counts: z.object({
    received: z.number(),
    completed: z.number(),
    failed: z.number(),
    rejected: z.number(),
    cancelled: z.number(),
  }),
  /** Paused by an operator (`spool pause`): takes tasks into its queue, starts none. */
  paused: z.boolean(),
  usage: UsageSchema,
  /** What all its model calls cost, and the last 24 hours of it, in USD (when the model's price is known). */
  costUsd: z.number().optional(),
  costLast24hUsd: z.number().optional(),
  historySeq: z.number(),
  /** Results on `spool.results.<agent>.>` (what other agents and clients can read), and the newest one's time. */
  results: z.object({ published: z.number(), lastAt: z.string().optional() }),
});
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

export const StatusReportSchema = z.object({
  generatedAt: z.string(),
  agents: z.array(AgentStatusSchema),
  totals: z.object({
    tasks: z.number(),
    inFlight: z.number(),
    queued: z.number(),
    completed: z.number(),
    failed: z.number(),
    rejected: z.number(),
    cancelled: z.number(),
  }),
});
export type StatusReport = z.infer<typeof StatusReportSchema>;

/** One failed task in the dead-letter view (`spool.api.dlq`). */
export const DeadLetterEntrySchema = z.object({
  agent: z.string(),
  taskId: z.string(),
  error: z.object({ code: z.string(), message: z.string() }),
  /** Attempts made so far (a retry from the view is the next one). */
  attempts: z.number(),
  failedAt: z.string().optional(),
  receivedAt: z.string().optional(),
  /** The start of the task's input. */
  input: z.string(),
  usage: UsageSchema,
});
export type DeadLetterEntry = z.infer<typeof DeadLetterEntrySchema>;

export const DeadLetterReportSchema = z.object({
  generatedAt: z.string(),
  entries: z.array(DeadLetterEntrySchema),
});
export type DeadLetterReport = z.infer<typeof DeadLetterReportSchema>;
