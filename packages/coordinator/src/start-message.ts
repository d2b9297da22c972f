import { ErrorCode, MAX_INPUT_CHARS, type TaskError, WORKFLOW_ID_PATTERN } from '@spool/core/internal';
import { z } from 'zod';

/** Ids with this prefix answer unreadable messages (`inbox-<seq>`), as for agents. */
const RESERVED_PREFIX = 'inbox-';
const EXAMPLE = 'send {"id": "<workflow id>", "workflow": "<name>", "input": "<text>"}';

export const WorkflowStartSchema = z.object({
  id: z
    .string()
    .regex(WORKFLOW_ID_PATTERN, 'must be 1-64 letters, digits and _ = @ + - (no ":")')
    .refine((id) => !id.startsWith(RESERVED_PREFIX), {
      message: `must not start with "${RESERVED_PREFIX}" (reserved for answers to unreadable messages)`,
    }),
  workflow: z.string().min(1, 'must name a workflow of the config'),
  input: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_INPUT_CHARS, `must be at most ${MAX_INPUT_CHARS} characters`),
});
export type WorkflowStartMessage = z.infer<typeof WorkflowStartSchema>;

export type ParsedStart =
  | { ok: true; start: WorkflowStartMessage }
  | { ok: false; workflowId: string; workflow: string; error: TaskError };

/**
 * Parses one message of `spool.inbox.coordinator`. Never throws: a bad one yields the id to
 * answer on (its own when usable, else `inbox-<seq>`) and one sentence saying what to send.
 */
export function parseWorkflowStart(raw: string, seq: number): ParsedStart {
  const fallback = `${RESERVED_PREFIX}${seq}`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    const why = err instanceof Error ? err.message : 'unparseable';
    return {
      ok: false,
      workflowId: fallback,
      workflow: '',
      error: { code: ErrorCode.InvalidJson, message: `message is not JSON (${why}); ${EXAMPLE}` },
    };
  }
  const record = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
  const rawId = (record as Record<string, unknown>).id;
  const rawWorkflow = (record as Record<string, unknown>).workflow;
  const usableId =
    typeof rawId === 'string' && WORKFLOW_ID_PATTERN.test(rawId) && !rawId.startsWith(RESERVED_PREFIX)
      ? rawId
      : fallback;
  const parsed = WorkflowStartSchema.safeParse(value);
  if (parsed.success) return { ok: true, start: parsed.data };
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'message'}: ${issue.message}`,
  );
  return {
    ok: false,
    workflowId: usableId,
    workflow: typeof rawWorkflow === 'string' ? rawWorkflow : '',
    error: {
      code: ErrorCode.InvalidMessage,
      message: `invalid workflow start message: ${problems.join('; ')}; ${EXAMPLE}`,
    },
  };
}
