import { z } from 'zod';
import { ErrorCode } from './errors.ts';
import { TASK_ID_PATTERN } from './subjects.ts';

/** Largest input accepted in one task message; bigger inputs belong in object storage. */
export const MAX_INPUT_CHARS = 200_000;
/**
 * Largest task message in bytes. Its history commit carries it plus the event's fields, and
 * must stay under the server's max payload (1 MB by default).
 */
export const MAX_TASK_BYTES = 900 * 1024;
/** Deepest nesting accepted in `meta`: deeper values overflow the stack of JSON tools, ours included. */
export const MAX_META_DEPTH = 32;
/** Task ids with this prefix are reserved for the answers to unreadable messages (`inbox-<seq>`). */
export const RESERVED_ID_PREFIX = 'inbox-';

/**
 * A JSON object kept as the very object that was parsed. zod's record schema copies keys onto
 * a fresh object, where a key named `__proto__` would set the prototype instead of a key.
 */
export const MetaSchema = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'must be a JSON object',
);

/** A task on `spool.inbox.<agent>`. `id` is the idempotency key: the same id twice is one task. */
export const TaskMessageSchema = z.object({
  id: z
    .string()
    .regex(
      TASK_ID_PATTERN,
      'must be 1-128 characters of letters, digits and _ : = @ + - (it becomes a subject token)',
    )
    .refine((id) => !id.startsWith(RESERVED_ID_PREFIX), {
      message: `must not start with "${RESERVED_ID_PREFIX}" (reserved for answers to unreadable messages)`,
    }),
  input: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_INPUT_CHARS, `must be at most ${MAX_INPUT_CHARS} characters`),
  meta: MetaSchema.optional(),
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
  // A reserved id is not usable either: its answer subject may belong to another message.
  const idIsUsable =
    typeof rawId === 'string' && TASK_ID_PATTERN.test(rawId) && !rawId.startsWith(RESERVED_ID_PREFIX);
  const answerId = idIsUsable ? rawId : fallbackId;
  const parsed = TaskMessageSchema.safeParse(value);
  if (parsed.success) {
    // A well-formed task must still fit in its history commit, and stay within what JSON
    // tools (ours included) can walk without running out of stack.
    const bytes = Buffer.byteLength(raw, 'utf8');
    if (bytes > MAX_TASK_BYTES) {
      return {
        ok: false,
        taskId: answerId,
        code: ErrorCode.InvalidMessage,
        message: `message is ${bytes} bytes, over the limit of ${MAX_TASK_BYTES}; keep large data in object storage and send a reference`,
      };
    }
    if (nestingDepth(parsed.data.meta, MAX_META_DEPTH + 1) > MAX_META_DEPTH) {
      return {
        ok: false,
        taskId: answerId,
        code: ErrorCode.InvalidMessage,
        message: `meta is nested more than ${MAX_META_DEPTH} levels deep; flatten it`,
      };
    }
    return { ok: true, task: parsed.data };
  }
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : 'message';
    const got = describeValue(
      issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], value),
    );
    return `${field}: ${issue.message} (got ${got})`;
  });
  return {
    ok: false,
    taskId: answerId,
    code: idIsUsable || typeof rawId !== 'string' ? ErrorCode.InvalidMessage : ErrorCode.InvalidTaskId,
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

/** How deep `value` nests, counted without recursion (a hostile message cannot overflow the stack); stops at `limit`. */
function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (typeof item !== 'object' || item === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest >= limit) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}
