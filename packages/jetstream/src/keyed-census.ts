import { type ApprovalWait, Streams, subjects } from '@spool/core/internal';
import { isNotFound } from './errors.ts';
import { internals } from './internal.ts';
import { keyedOwnership } from './keyed-ownership.ts';
import type { SpoolConnection } from './types.ts';

/** A keyed agent's instances and hosts at one moment (the status report's part for it). */
export interface KeyedCensus {
  readonly hosts: { readonly alive: string[]; readonly expired: number };
  readonly instances: {
    readonly active: number;
    readonly passivated: number;
    readonly known: number;
    readonly orphaned: number;
    readonly waiting: number;
  };
}

/**
 * Counts a keyed agent's instances without reading any history: `known` are the subjects of
 * SPOOL_KEYED under `spool.keyed.<agent>.*` (one stream info with a subject filter, which
 * nats-server 2.9 answers from its index), `active` the ownership records whose host's lease
 * lives, `orphaned` those whose host's lease expired, `passivated` the known ones not active.
 */
export async function keyedCensus(connection: SpoolConnection, agent: string): Promise<KeyedCensus> {
  const ownership = await keyedOwnership(connection);
  const [hosts, owners, waking, known] = await Promise.all([
    ownership.hosts(agent),
    ownership.owners(agent),
    ownership.wakeKeys(agent),
    knownKeys(connection, agent),
  ]);
  const alive = new Set(hosts.filter((h) => h.state === 'live').map((h) => h.host));
  const active = new Set(owners.filter((o) => alive.has(o.host)).map((o) => o.key));
  const passivated = [...known].filter((key) => !active.has(key)).length;
  return {
    hosts: { alive: [...alive].sort(), expired: hosts.filter((h) => h.state === 'expired').length },
    instances: {
      active: active.size,
      passivated,
      known: known.size,
      orphaned: owners.length - active.size,
      waiting: waking.length,
    },
  };
}

/** One instance of a keyed agent, as the console lists them. */
export interface KeyedInstance {
  readonly key: string;
  /** Commits in its history (messages on its subject; a forgotten key's tombstone counts). */
  readonly commits: number;
  /** Its ownership record names a live host: it is in memory there. */
  readonly active: boolean;
  /** Passivated with a wake record: it waits for a result, a timer or an operator's approval. */
  readonly waiting: boolean;
}

/**
 * The tool calls of a keyed agent's passivated instances that wait for an operator, from their
 * wake records (no history read). An instance still active shows its approvals once it is
 * passivated (after `idleMs` without work), or on its task's page.
 */
export async function keyedApprovals(
  connection: SpoolConnection,
  agent: string,
): Promise<(ApprovalWait & { readonly key: string })[]> {
  const wakes = await (await keyedOwnership(connection)).wakes(agent);
  return wakes
    .flatMap(({ key, wake }) => (wake.approvals ?? []).map((approval) => ({ ...approval, key })))
    .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
}

/**
 * A keyed agent's known instances (those with a history), with their commit counts and
 * whether they are active: the same reads as the census (one stream info with a subject
 * filter, the ownership records), no history read. Sorted by key; at most `limit`.
 */
export async function keyedInstances(
  connection: SpoolConnection,
  agent: string,
  limit = 1_000,
): Promise<{ instances: KeyedInstance[]; total: number }> {
  const ownership = await keyedOwnership(connection);
  const [hosts, owners, waking, counts] = await Promise.all([
    ownership.hosts(agent),
    ownership.owners(agent),
    ownership.wakeKeys(agent),
    commitCounts(connection, agent),
  ]);
  const alive = new Set(hosts.filter((h) => h.state === 'live').map((h) => h.host));
  const active = new Set(owners.filter((o) => alive.has(o.host)).map((o) => o.key));
  const waits = new Set(waking);
  const keys = [...counts.keys()].sort();
  return {
    total: keys.length,
    instances: keys.slice(0, limit).map((key) => ({
      key,
      commits: counts.get(key) ?? 0,
      active: active.has(key),
      waiting: waits.has(key),
    })),
  };
}

/** The keys with a history in SPOOL_KEYED. */
async function knownKeys(connection: SpoolConnection, agent: string): Promise<Set<string>> {
  return new Set((await commitCounts(connection, agent)).keys());
}

/** Each key with a history in SPOOL_KEYED, with its number of commits. */
async function commitCounts(connection: SpoolConnection, agent: string): Promise<Map<string, number>> {
  const { jsm, ns } = internals(connection);
  const prefix = ns.subject(subjects.keyedHistory(`${agent}.`));
  const info = await jsm.streams
    .info(ns.stream(Streams.Keyed), { subjects_filter: `${prefix}*` })
    .catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  return new Map(
    Object.entries(info?.state.subjects ?? {}).map(([subject, n]) => [subject.slice(prefix.length), n]),
  );
}
