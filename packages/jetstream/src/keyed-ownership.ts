import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { KvEntry } from '@nats-io/kv';
import { type ApprovalWait, Buckets, subjects } from '@spool/core/internal';
import { openBucket } from './buckets.ts';
import { isNotFound, PUBLISH_ATTEMPT_MS, retryUnknownOutcome } from './errors.ts';
import { decoder, encoder, internals } from './internal.ts';
import { leases, leaseStateOf } from './leases.ts';
import type { Lease, SpoolConnection } from './types.ts';

/**
 * Who runs which instance of a keyed agent, in the KV bucket `spool_keyed`.
 *
 * Each process hosting a keyed agent holds one lease, `host.<agent>.<host>` (renewed every
 * ttl/3, like an agent's). An active instance has an ownership record `own.<agent>.<key>`
 * naming its host, created with a compare-and-swap when the instance is activated and deleted
 * (compare-and-swap on its revision) when it is passivated. A record is valid while its host's
 * lease lives: a record of a dead host is adopted by another with a compare-and-swap. So 10 000
 * active keys cost one renewal per process, not 10 000, and the history's expected-sequence
 * append stays the fence should two hosts ever both believe they own a key.
 *
 * A passivated instance whose tasks wait for other agents' results has a wake record
 * `wake.<agent>.<key>` listing them: hosts watch those results and activate it when one arrives.
 *
 * A task message delivered again (its first delivery may have died with a host that only held
 * it, or been spent on routing) is counted in `try.<agent>.<key>.<task>` each time the
 * instance sets out to journal it, and the record is purged once it is journaled: the poison
 * limit counts attempts that reached the instance (or took its process down), not deliveries.
 */
export interface KeyedOwnership {
  /** This process's lease as a host of `agent` (waits only if another process has the same host id). */
  hostLease(agent: string, host: string, ttlMs: number, signal?: AbortSignal): Promise<Lease>;
  /**
   * Takes the instance for `host` when nobody owns it, or when its owner's lease expired
   * (`takeover`); otherwise says which live host owns it.
   */
  claim(agent: string, key: string, host: string): Promise<OwnershipClaim>;
  /** Gives the instance up (passivated): only if the record is still `revision` (nobody adopted it). */
  release(agent: string, key: string, revision: number): Promise<void>;
  /** The instance's owner as recorded (live or not), or undefined. */
  owner(agent: string, key: string): Promise<{ host: string; revision: number } | undefined>;
  /** Every ownership record of `agent`: key and host. */
  owners(agent: string): Promise<{ key: string; host: string; revision: number }[]>;
  /** The keys of `agent` with a wake record (passivated, waiting for a result). */
  wakeKeys(agent: string): Promise<string[]>;
  /** Every wake record of `agent`, with its key (the console lists their approvals). */
  wakes(agent: string): Promise<{ key: string; wake: WakeRecord }[]>;
  /** The hosts of `agent` that hold or held a lease, with its state. */
  hosts(agent: string): Promise<{ host: string; state: 'live' | 'expired' | 'free'; revision: number }[]>;
  /** Whether `host`'s lease lives. */
  hostState(agent: string, host: string): Promise<'live' | 'expired' | 'free'>;
  /** Removes a dead host's lease record once its instances were adopted (only if still `revision`). */
  forgetHost(agent: string, host: string, revision: number): Promise<void>;
  /** Records what a passivated instance waits for (results of other agents' tasks). */
  putWake(agent: string, key: string, wake: WakeRecord): Promise<void>;
  removeWake(agent: string, key: string): Promise<void>;
  /** Every wake record of `agent`, then each change as it happens, until `signal` aborts. */
  watchWakes(agent: string, signal: AbortSignal): AsyncIterable<WakeChange>;
  /**
   * Counts one more attempt of the instance at journaling a redelivered task (`try.<agent>.<key>.<task>`)
   * and returns the count, this one included: the poison limit counts these, not deliveries.
   */
  countAttempt(agent: string, key: string, taskId: string): Promise<number>;
  /** The task is journaled (or refused): its attempt count goes, leaving nothing in the stream. */
  clearAttempts(agent: string, key: string, taskId: string): Promise<void>;
  /** Every attempt count of the instance goes (erasure). */
  clearAllAttempts(agent: string, key: string): Promise<void>;
}

export type OwnershipClaim =
  | {
      readonly mine: true;
      readonly revision: number;
      readonly takeover: boolean;
      /** The host whose lease expired, when taken over. */
      readonly from?: string;
      /**
       * The key never had an ownership record, so it was never activated: it has no history
       * and no snapshot, and its first activation need not read them. (Should `spool_keyed`
       * ever be lost while the histories stay, the history's expected-sequence append refuses
       * the instance's first write, and its next activation replays what is there.)
       */
      readonly fresh?: boolean;
    }
  | { readonly mine: false; readonly host: string };

/**
 * What a passivated instance waits for: the results that resume its tasks, its first timer,
 * and the tool calls waiting for an operator (listed for the console's approvals; a decision
 * arrives on the instance's control subject, which activates it like any message).
 */
export interface WakeRecord {
  readonly results: readonly { readonly agent: string; readonly taskId: string }[];
  /** ISO time its earliest durable timer is due (absent: no timer). */
  readonly at?: string;
  readonly approvals?: readonly ApprovalWait[];
}

export type WakeChange =
  | { readonly key: string; readonly wake: WakeRecord }
  | { readonly key: string; readonly wake: undefined };

/** Revisions of ownership records this process released, remembered at most (then the oldest go). */
const RELEASES_REMEMBERED = 20_000;

/** Records read at once when listing them (status, adoption scans, the console's approvals). */
const RECORD_READS_AT_ONCE = 128;

const ownKey = (agent: string, key: string) => `own.${agent}.${key}`;
const wakeKey = (agent: string, key: string) => `wake.${agent}.${key}`;
const hostKey = (agent: string, host: string) => `host.${agent}.${host}`;
/** KV keys take [-/_=.a-zA-Z0-9]: the task id (1-128 characters, some outside that) is base64url-encoded. */
const tryKey = (agent: string, key: string, taskId: string) =>
  `try.${agent}.${key}.${Buffer.from(taskId, 'utf8').toString('base64url')}`;

export async function keyedOwnership(connection: SpoolConnection): Promise<KeyedOwnership> {
  const { nc, jsm, ns } = internals(connection);
  const js = jetstream(nc, { timeout: PUBLISH_ATTEMPT_MS });
  // Ownership must be read as last written: from the stream's leader.
  const kv = await openBucket(connection, Buckets.Keyed, js, { leaderReads: true });
  const hostLeases = await leases(connection, Buckets.Keyed);
  const bucket = ns.bucket(Buckets.Keyed);
  const stream = `KV_${bucket}`;
  /**
   * The delete marker this process left on each record it released, by revision: activating
   * the key here again is then one compare-and-swap on it, not a failed create, a read and an
   * update (nats.js's create of a deleted key). Anyone's change in between fails the swap.
   */
  const released = new Map<string, number>();

  const get = async (key: string): Promise<KvEntry | undefined> => {
    const entry = await retryUnknownOutcome(() => kv.get(key));
    return entry === null || entry.operation !== 'PUT' ? undefined : entry;
  };
  const hostState = async (agent: string, host: string) =>
    leaseStateOf(await retryUnknownOutcome(() => kv.get(hostKey(agent, host))));
  /** The keys under `prefix` (their subjects in the bucket's stream; deleted ones included). */
  const keysUnder = async (prefix: string): Promise<string[]> => {
    const filter = `$KV.${bucket}.${prefix}.>`;
    const info = await jsm.streams.info(stream, { subjects_filter: filter }).catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    return Object.keys(info?.state.subjects ?? {}).map((s) => s.slice(`$KV.${bucket}.`.length));
  };

  /** Removes the records under `keys` (a key or a wildcard) with their history: no delete marker stays. */
  const purge = (keys: string) =>
    retryUnknownOutcome(() => jsm.streams.purge(stream, { filter: `$KV.${bucket}.${keys}` }), 10_000);

  /**
   * The records `names`, each present one made a row by `pick`: read in parallel batches, so
   * thousands of records cost batches of round trips, not one each.
   */
  const readAll = async <T>(
    names: readonly string[],
    pick: (name: string, entry: KvEntry) => T | undefined,
  ): Promise<T[]> => {
    const out: T[] = [];
    for (let from = 0; from < names.length; from += RECORD_READS_AT_ONCE) {
      const batch = names.slice(from, from + RECORD_READS_AT_ONCE);
      const entries = await Promise.all(batch.map((k) => get(k)));
      entries.forEach((entry, i) => {
        const row = entry === undefined ? undefined : pick(batch[i] ?? '', entry);
        if (row !== undefined) out.push(row);
      });
    }
    return out;
  };

  return {
    hostLease: (agent, host, ttlMs, signal) =>
      // Lost at its expiry: other hosts adopt its instances the moment it looks expired.
      hostLeases.acquire(hostKey(agent, host), host, {
        ttlMs,
        loseWhenExpired: true,
        ...(signal ? { signal } : {}),
      }),

    async claim(agent, key, host) {
      const k = ownKey(agent, key);
      const marker = released.get(k);
      if (marker !== undefined) {
        released.delete(k);
        const revision = await kv.update(k, record(host), marker).catch(() => undefined);
        if (revision !== undefined) return { mine: true, revision, takeover: false };
      }
      for (let tries = 0; ; tries += 1) {
        // No record ever (its subject is empty): the key's first activation anywhere.
        const created = await kv.put(k, record(host), { previousSeq: 0 }).catch(() => undefined);
        if (created !== undefined) return { mine: true, revision: created, takeover: false, fresh: true };
        // Exists (or an unknown outcome): the stored record says who owns it.
        const entry = await retryUnknownOutcome(() => kv.get(k));
        if (entry === null || entry.operation !== 'PUT') {
          // Released (a delete marker): taken with a swap on it; purged meanwhile: created again.
          const revision =
            entry === null
              ? undefined
              : await kv.update(k, record(host), entry.revision).catch(() => undefined);
          if (revision !== undefined) return { mine: true, revision, takeover: false };
          if (tries > 5)
            throw new Error(`could not claim ${agent}/${key}: its ownership record keeps changing`);
          continue;
        }
        const owner = parseHost(entry);
        if (owner === host) return { mine: true, revision: entry.revision, takeover: false };
        if (owner !== undefined && (await hostState(agent, owner)) === 'live')
          return { mine: false, host: owner };
        try {
          const revision = await kv.update(k, record(host), entry.revision);
          return { mine: true, revision, takeover: true, ...(owner === undefined ? {} : { from: owner }) };
        } catch {
          if (tries > 5)
            throw new Error(`could not adopt ${agent}/${key}: its ownership record keeps changing`);
        }
      }
    },

    async release(agent, key, revision) {
      // kv.delete with its compare-and-swap, published here to learn the marker's revision.
      const k = ownKey(agent, key);
      const h = headers();
      h.set('KV-Operation', 'DEL');
      h.set('Nats-Expected-Last-Subject-Sequence', `${revision}`);
      const ack = await js
        .publish(`$KV.${bucket}.${k}`, new Uint8Array(0), { headers: h, timeout: PUBLISH_ATTEMPT_MS })
        .catch(() => undefined); // changed meanwhile (adopted elsewhere): not ours to release
      if (ack === undefined) return;
      released.set(k, ack.seq);
      if (released.size > RELEASES_REMEMBERED) {
        const oldest = released.keys().next().value;
        if (oldest !== undefined) released.delete(oldest);
      }
    },

    async owner(agent, key) {
      const entry = await get(ownKey(agent, key));
      const host = entry === undefined ? undefined : parseHost(entry);
      return entry === undefined || host === undefined ? undefined : { host, revision: entry.revision };
    },

    async owners(agent) {
      return readAll(await keysUnder(`own.${agent}`), (name, entry) => {
        const host = parseHost(entry);
        return host === undefined
          ? undefined
          : { key: name.slice(`own.${agent}.`.length), host, revision: entry.revision };
      });
    },

    async wakes(agent) {
      return readAll(await keysUnder(`wake.${agent}`), (name, entry) => {
        const wake = parseWake(entry);
        return wake === undefined ? undefined : { key: name.slice(`wake.${agent}.`.length), wake };
      });
    },

    async wakeKeys(agent) {
      return (await keysUnder(`wake.${agent}`)).map((k) => k.slice(`wake.${agent}.`.length));
    },

    async hosts(agent) {
      const out: { host: string; state: 'live' | 'expired' | 'free'; revision: number }[] = [];
      for (const k of await keysUnder(`host.${agent}`)) {
        const entry = await retryUnknownOutcome(() => kv.get(k));
        if (entry === null || entry.operation !== 'PUT') continue;
        out.push({
          host: k.slice(`host.${agent}.`.length),
          state: leaseStateOf(entry),
          revision: entry.revision,
        });
      }
      return out;
    },

    hostState,

    async forgetHost(agent, host, revision) {
      await kv.delete(hostKey(agent, host), { previousSeq: revision }).catch(() => undefined);
    },

    async putWake(agent, key, wake) {
      await retryUnknownOutcome(() => kv.put(wakeKey(agent, key), encoder.encode(JSON.stringify(wake))));
    },

    async removeWake(agent, key) {
      // A purge of the key's subject: no delete marker stays behind (one writer: the owner).
      await purge(wakeKey(agent, key));
    },

    async countAttempt(agent, key, taskId) {
      const k = tryKey(agent, key, taskId);
      for (let conflicts = 0; ; conflicts += 1) {
        const entry = await retryUnknownOutcome(() => kv.get(k));
        const tries = (entry === null || entry.operation !== 'PUT' ? 0 : parseTries(entry)) + 1;
        // A swap on what was read: two copies of the message counted at once both count.
        const written = await kv
          .put(k, encoder.encode(JSON.stringify({ tries })), { previousSeq: entry?.revision ?? 0 })
          .catch((err: unknown) => {
            if (conflicts > 5) throw err;
            return undefined;
          });
        if (written !== undefined) return tries;
      }
    },

    async clearAttempts(agent, key, taskId) {
      await purge(tryKey(agent, key, taskId));
    },

    async clearAllAttempts(agent, key) {
      await purge(`try.${agent}.${key}.>`);
    },

    async *watchWakes(agent, signal) {
      const prefix = `wake.${agent}.`;
      const watch = await kv.watch({ key: `${prefix}>` });
      const stop = () => watch.stop();
      signal.addEventListener('abort', stop, { once: true });
      try {
        for await (const entry of watch) {
          const key = entry.key.slice(prefix.length);
          if (entry.operation !== 'PUT') {
            yield { key, wake: undefined };
            continue;
          }
          const wake = parseWake(entry);
          yield { key, wake };
        }
      } finally {
        signal.removeEventListener('abort', stop);
        watch.stop();
      }
    },
  };
}

/** The subjects of an instance, for erasure and status (see keyed-erasure.ts). */
export const keyedSubjects = {
  history: (agent: string, key: string) => subjects.keyedHistory(`${agent}.${key}`),
  results: (agent: string, key: string) => `spool.results.${agent}.${key}.>`,
  inbox: (agent: string, key: string) => subjects.keyedInbox(agent, key),
  control: (agent: string, key: string) => subjects.keyedControl(agent, key),
} as const;

function record(host: string): Uint8Array {
  return encoder.encode(JSON.stringify({ host, at: Date.now() }));
}

function parseHost(entry: KvEntry): string | undefined {
  try {
    const value = JSON.parse(decoder.decode(entry.value)) as { host?: unknown };
    return typeof value.host === 'string' ? value.host : undefined;
  } catch {
    return undefined;
  }
}

function parseTries(entry: KvEntry): number {
  try {
    const tries = (JSON.parse(decoder.decode(entry.value)) as { tries?: unknown }).tries;
    return typeof tries === 'number' && Number.isInteger(tries) && tries > 0 ? tries : 0;
  } catch {
    return 0;
  }
}

function parseWake(entry: KvEntry): WakeRecord | undefined {
  try {
    const value = JSON.parse(decoder.decode(entry.value)) as {
      results?: unknown;
      at?: unknown;
      approvals?: unknown;
    };
    if (!Array.isArray(value.results)) return undefined;
    const results = value.results.filter(
      (r): r is { agent: string; taskId: string } =>
        typeof r === 'object' && r !== null && typeof r.agent === 'string' && typeof r.taskId === 'string',
    );
    const at = typeof value.at === 'string' && !Number.isNaN(Date.parse(value.at)) ? value.at : undefined;
    const approvals = (Array.isArray(value.approvals) ? value.approvals : []).filter(isApprovalWait);
    return {
      results,
      ...(at === undefined ? {} : { at }),
      ...(approvals.length === 0 ? {} : { approvals }),
    };
  } catch {
    return undefined;
  }
}

function isApprovalWait(value: unknown): value is ApprovalWait {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['taskId', 'tool', 'input', 'reason', 'requestedAt'].every((field) => typeof v[field] === 'string');
}
