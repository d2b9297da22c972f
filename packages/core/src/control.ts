import { z } from 'zod';
import { TASK_ID_PATTERN } from './subjects.ts';

const Reason = z.string().max(1_000, 'must be at most 1000 characters');
const TaskId = z.string().regex(TASK_ID_PATTERN, 'must be a task id (1-128 letters, digits and _ : = @ + -)');

/**
 * An operator command on `spool.control.<agent>`. Any NATS client may send one; the agent
 * journals it, so its effect survives restarts.
 */
export const ControlMessageSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('pause'), reason: Reason.optional() }),
    z.strictObject({ type: z.literal('resume') }),
    z.strictObject({ type: z.literal('cancel'), taskId: TaskId, reason: Reason.optional() }),
    /** Dead-letter view: run a failed task again (a new attempt), or remove it from the view. */
    z.strictObject({ type: z.literal('retry'), taskId: TaskId }),
    z.strictObject({ type: z.literal('drop'), taskId: TaskId }),
    /** Approvals: the task's tool calls waiting for an operator run (approve) or fail (deny). */
    z.strictObject({ type: z.literal('approve'), taskId: TaskId }),
    z.strictObject({ type: z.literal('deny'), taskId: TaskId, reason: Reason.min(1, 'must say why') }),
  ],
  { error: 'type must be "pause", "resume", "cancel", "retry", "drop", "approve" or "deny"' },
);
export type ControlMessage = z.infer<typeof ControlMessageSchema>;

const EXAMPLE =
  'send {"type": "pause"}, {"type": "resume"}, {"type": "deny", "taskId": "<id>", "reason": "<why>"} or {"type": "cancel" | "retry" | "drop" | "approve", "taskId": "<id>"}';

/** Parses a raw control message. Never throws: a bad one yields a sentence saying what was wrong. */
export function parseControlMessage(
  raw: string,
): { ok: true; message: ControlMessage } | { ok: false; problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, problem: `control message is not JSON; ${EXAMPLE}` };
  }
  const parsed = ControlMessageSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : 'message';
  const detail =
    issue?.code === 'unrecognized_keys'
      ? `unknown field(s) ${issue.keys.join(', ')}`
      : (issue?.message ?? 'invalid');
  return { ok: false, problem: `invalid control message: ${field}: ${detail}; ${EXAMPLE}` };
}
