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
