import { z } from 'zod';
import { ErrorCode } from './errors.ts';
import { TASK_ID_PATTERN } from './subjects.ts';

/** Largest input accepted in one task message; bigger inputs belong in object storage. */
export const MAX_INPUT_CHARS = 200_000;

/** A task on `spool.inbox.<agent>`. `id` is the idempotency key: the same id twice is one task. */
export const TaskMessageSchema = z.object({
  id: z
    .string()
    .regex(
      TASK_ID_PATTERN,
      'must be 1-128 characters of letters, digits and _ : = @ + - (it becomes a subject token)',
    ),
  input: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_INPUT_CHARS, `must be at most ${MAX_INPUT_CHARS} characters`),
  meta: z.record(z.string(), z.unknown()).optional(),
});
export type TaskMessage = z.infer<typeof TaskMessageSchema>;

export type ParsedTask =
  | { ok: true; task: TaskMessage }
  | { ok: false; taskId: string; code: ErrorCode; message: string };

/**
 * Parses one raw inbox message. Never throws: a message that cannot be accepted yields the
 * id to answer on (its own when readable and valid, else `inbox-<stream sequence>`), a
 * stable code and a sentence saying what was wrong and what to send instead.
 */
export function parseTaskMessage(raw: string, streamSeq: number): ParsedTask {
  const fallbackId = `inbox-${streamSeq}`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    const why = err instanceof Error ? err.message : 'unparseable';
    return {
      ok: false,
      taskId: fallbackId,
      code: ErrorCode.InvalidJson,
      message: `message is not JSON (${why}); send {"id": "<task id>", "input": "<text>"}`,
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return {
      ok: false,
      taskId: fallbackId,
      code: ErrorCode.InvalidMessage,
      message: `message is ${kind}, not an object; send {"id": "<task id>", "input": "<text>"}`,
    };
  }
  const rawId = (value as Record<string, unknown>).id;
  const idIsUsable = typeof rawId === 'string' && TASK_ID_PATTERN.test(rawId);
  const parsed = TaskMessageSchema.safeParse(value);
  if (parsed.success) return { ok: true, task: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : 'message';
    const got = describeValue(
      issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], value),
    );
    return `${field}: ${issue.message} (got ${got})`;
  });
  return {
    ok: false,
    taskId: idIsUsable ? rawId : fallbackId,
    code:
      idIsUsable || rawId === undefined || typeof rawId !== 'string'
        ? ErrorCode.InvalidMessage
        : ErrorCode.InvalidTaskId,
    message: `invalid task message: ${problems.join('; ')}; send {"id": "<task id>", "input": "<text>"}`,
  };
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
