import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type AgentEvent, AgentEventSchema } from './agent-events.ts';
import { type CoordinatorEvent, CoordinatorEventSchema } from './workflow/events.ts';

/**
 * A history is a subject of `SPOOL_HISTORY` written by one actor: an agent's
 * (`spool.history.<agent>`, agent events) or the coordinator's (workflow events). Each message
 * is a commit `{ v: 1, events }`. Readers of any history (the registry, `spool replay`) take
 * the union of both; each actor folds only its own.
 */

/** An event of any history. */
export const HistoryEventSchema = z.discriminatedUnion('type', [
  ...AgentEventSchema.options,
  ...CoordinatorEventSchema.options,
]);
export type HistoryEvent = z.infer<typeof HistoryEventSchema>;
export type HistoryEventType = HistoryEvent['type'];
export type EventOf<T extends HistoryEventType> = Extract<HistoryEvent, { type: T }>;

const agentTypes: ReadonlySet<string> = new Set(AgentEventSchema.options.map((o) => o.shape.type.value));

/** An agent's event (not the coordinator's). */
export function isAgentEvent(event: HistoryEvent): event is AgentEvent {
  return agentTypes.has(event.type);
}

/** The coordinator's event (not an agent's). */
export function isCoordinatorEvent(event: HistoryEvent): event is CoordinatorEvent {
  return !agentTypes.has(event.type);
}

/** The task an event is about; undefined for agent-wide events (pause, resume) and whole-workflow ones. */
export function taskIdOf(event: HistoryEvent): string | undefined {
  return 'taskId' in event.data ? event.data.taskId : undefined;
}

/** A history message: events written together, atomically (JetStream 2.9 has no batch publish). */
export const CommitSchema = z.object({ v: z.literal(1), events: z.array(HistoryEventSchema).min(1) });
export type Commit = z.infer<typeof CommitSchema>;
const AgentCommitSchema = z.object({ v: z.literal(1), events: z.array(AgentEventSchema).min(1) });
const CoordinatorCommitSchema = z.object({ v: z.literal(1), events: z.array(CoordinatorEventSchema).min(1) });

/** A commit as read back from the store, with its position and write time. */
export interface StoredCommit<Event = HistoryEvent> {
  readonly seq: number;
  readonly time: string;
  readonly events: readonly Event[];
}

/** Parses a stored message of any history; throws a zod error that names the bad field. */
export function parseCommit(json: unknown): { events: HistoryEvent[] } {
  return CommitSchema.parse(json);
}

/** Parses a stored message of an agent's history (its events only). */
export function parseAgentCommit(json: unknown): { events: AgentEvent[] } {
  return AgentCommitSchema.parse(json);
}

/** Parses a stored message of the coordinator's history (workflow events only). */
export function parseCoordinatorCommit(json: unknown): { events: CoordinatorEvent[] } {
  return CoordinatorCommitSchema.parse(json);
}

const schemaOf = new Map<unknown, z.ZodType>([
  [parseCommit, CommitSchema],
  [parseAgentCommit, AgentCommitSchema],
  [parseCoordinatorCommit, CoordinatorCommitSchema],
]);
const versions = new Map<unknown, string | undefined>();

/**
 * The version of the schema a commit parser checks: a digest of its JSON Schema, so any change
 * to the events' shape changes it. A writer that validated a commit with the same parser marks
 * the commit with it; a reader whose parser has the same version need not check the events
 * again (validate on write, check the version on read). Undefined for any other parser:
 * everything it reads is checked in full.
 */
export function commitSchemaVersion(parse: unknown): string | undefined {
  if (versions.has(parse)) return versions.get(parse);
  const schema = schemaOf.get(parse);
  let version: string | undefined;
  if (schema !== undefined) {
    try {
      const shape = JSON.stringify(z.toJSONSchema(schema, { unrepresentable: 'any' }));
      version = `v1-${createHash('sha256').update(shape).digest('hex').slice(0, 16)}`;
    } catch {
      version = undefined; // not describable: always checked in full
    }
  }
  versions.set(parse, version);
  return version;
}

/**
 * The `Nats-Msg-Id` of a commit, derived from its events' ids, so that an append retried
 * after a lost acknowledgement is recognised by the server as the same commit.
 */
export function commitId(events: readonly { readonly id: string }[]): string {
  const first = events[0];
  if (events.length === 1 && first !== undefined) return first.id;
  const hash = createHash('sha256');
  for (const e of events) hash.update(e.id).update('\n');
  return `commit:${hash.digest('hex').slice(0, 32)}`;
}
