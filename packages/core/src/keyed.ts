import { z } from 'zod';
import { isParked } from './delegation-decisions.ts';
import type { AgentState } from './state.ts';

/**
 * Keyed agents: one definition, one independent instance per key (a customer, a user, a
 * project), each with its own history, memory, budgets and results. Pure naming rules here;
 * the host that activates and passivates instances is runtime's keyed-host.ts.
 */

/** Keys are one subject token and part of KV keys: letters, digits, `_`, `=`, `-` (base64url fits). */
export const KEY_PATTERN = /^[A-Za-z0-9_=-]{1,128}$/;
export const DEFAULT_MAX_ACTIVE = 1_000;
export const DEFAULT_IDLE_MS = 60_000;

export const KeyedSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      /** Instances kept in memory per process; the least recently used idle one is passivated past it. */
      maxActive: z
        .number()
        .int('must be a whole number')
        .min(1, 'must be at least 1')
        .max(1_000_000)
        .default(DEFAULT_MAX_ACTIVE),
      /** An instance with nothing running is passivated after this long without a message. */
      idleMs: z
        .number()
        .int('must be a whole number')
        .min(100, 'must be at least 100 (ms)')
        .max(86_400_000)
        .default(DEFAULT_IDLE_MS),
    }),
  ])
  .optional()
  .transform((value) =>
    value === undefined || value === false
      ? undefined
      : value === true
        ? { maxActive: DEFAULT_MAX_ACTIVE, idleMs: DEFAULT_IDLE_MS }
        : value,
  );
export type KeyedSettings = NonNullable<z.infer<typeof KeyedSchema>>;

/** Why a key is refused, or undefined when it is a valid one. */
export function keyProblem(key: string): string | undefined {
  if (KEY_PATTERN.test(key)) return undefined;
  const shown = JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  if (key.length === 0 || key.length > 128)
    return `key ${shown} is ${key.length} characters long; a key is 1-128 characters of letters, digits, _ = - (base64url fits)`;
  return `key ${shown} has characters outside letters, digits, _ = - (encode it, e.g. base64url)`;
}

/** The name of an instance inside Spool (history subject token pair, snapshot key, logs): `<agent>.<key>`. */
export function instanceName(agent: string, key: string): string {
  return `${agent}.${key}`;
}

/** The key of an instance task subject `spool.inbox.<agent>.<key>` (or control), if it is one. */
export function keyOfSubject(subject: string, prefix: string): string | undefined {
  return subject.startsWith(`${prefix}.`) ? subject.slice(prefix.length + 1) : undefined;
}

/** `<agent>/<key>` as the CLI takes it; `key` undefined for a plain agent name. */
export function parseAddress(address: string): { agent: string; key?: string | undefined } {
  const slash = address.indexOf('/');
  if (slash === -1) return { agent: address };
  return { agent: address.slice(0, slash), key: address.slice(slash + 1) };
}

/**
 * Whether an instance may be passivated: every unfinished task only waits (an approval, or
 * results of sub-tasks it delegated); nothing runs and nothing is queued.
 */
export function isPassivatable(state: AgentState | undefined): boolean {
  if (state === undefined) return false;
  for (const task of state.active.values()) if (task.phase !== 'waiting' && !isParked(task)) return false;
  return true;
}

/**
 * The results a passivated instance waits for (its wake record): the sub-tasks its parked tasks
 * delegated. Approvals need none: they arrive on the instance's control subject and activate it.
 * Timers are the other wake: `firstTimerDue`.
 */
export function awaitedResults(state: AgentState): { agent: string; taskId: string }[] {
  const out: { agent: string; taskId: string }[] = [];
  for (const task of state.active.values()) {
    if (!isParked(task)) continue;
    for (const call of task.steps.at(-1)?.tools ?? [])
      if (call.result === undefined && call.delegation !== undefined)
        out.push({ agent: call.delegation.agent, taskId: call.delegation.childTaskId });
  }
  return out;
}

/** When the earliest durable timer of a parked task is due (its wake record's `at`), if any. */
export function firstTimerDue(state: AgentState): string | undefined {
  let first: string | undefined;
  for (const task of state.active.values()) {
    if (!isParked(task)) continue;
    for (const call of task.steps.at(-1)?.tools ?? [])
      if (call.result === undefined && call.timer !== undefined)
        if (first === undefined || Date.parse(call.timer.until) < Date.parse(first)) first = call.timer.until;
  }
  return first;
}
