import { createHash } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { KvEntry } from '@nats-io/kv';
import { Buckets, controlConsumerName, Streams, subjects } from '@spool/core/internal';
import { openBucket } from './buckets.ts';
import { isNotFound, PUBLISH_ATTEMPT_MS, retryUnknownOutcome } from './errors.ts';
import { decoder, encoder, internals } from './internal.ts';
import { leaseStateOf } from './leases.ts';
import { results } from './results.ts';
import type { SpoolConnection } from './types.ts';

/** Which replica of a pool holds a task, as written in `spool_claims`. */
export interface Claim {
  readonly owner: string;
  /**
   * Times a replica set out to journal the task (first claim, re-entry after a crash,
   * takeovers): a message that keeps taking its replica down is refused as poison on this,
   * not on its delivery count (siblings hand a message back without it being a failure).
   */
  readonly tries: number;
  readonly revision: number;
}

/** Whether a replica's name is held right now. `free`: released (a clean stop) or never taken. */
export type LeaseState = 'live' | 'expired' | 'free';

/**
 * Task claims of agent pools in the KV bucket `spool_claims`: one key per (pool, task id),
 * its value the replica that journals the task. Derived data only: the replicas' histories
 * are the truth, a claim only says in which history to look.
 *
 * A claim lives while its task is unfinished, however long that is (a task waiting for an
 * approval or a delegation keeps its inbox message unacknowledged for days): once the task's
 * result is published (SPOOL_RESULTS keeps it), the result says what the claim said, and the
 * claim is released, its subject purged from the bucket's stream so that no delete marker is
 * left behind (on 2.9 a deleted key keeps one message forever). So the bucket holds about one
 * message per unfinished pool task. A replica that finds no claim looks for the result before
 * it journals the task; see runtime's pool.ts. A bucket TTL would bound it too, but would also
 * drop the claim of a task still waiting after the TTL, and a redelivered copy would then run
 * on a second replica.
 */
export interface Claims {
  /** Claims the task for `replica` unless it is claimed; returns the claim as stored. */
  claim(pool: string, taskId: string, replica: string): Promise<Claim & { created: boolean }>;
  /** Compare-and-swap: `replica` owns the task if the claim is still `current`; undefined when it changed first. */
  takeOver(pool: string, taskId: string, replica: string, current: Claim): Promise<Claim | undefined>;
  owner(pool: string, taskId: string): Promise<Claim | undefined>;
  /**
   * Removes the task's claim, leaving nothing in the bucket's stream: only once its result is
   * published (the result then names the replica). Best effort: a claim left behind is harmless.
   */
  release(pool: string, taskId: string): Promise<void>;
  /**
   * Whether the task's result is published (a finished task whose claim may be released), read
   * from the results stream's leader: a replica of a replicated stream may not have it yet.
   */
  published(pool: string, taskId: string): Promise<boolean>;
  /** The replica's lease (`spool_leases`): live, expired (its holder died) or free. */
  lease(replica: string): Promise<LeaseState>;
  /**
   * Asks the replica's current writer whether its history has the task (or it is being
   * journaled): true / false from the writer, undefined when no writer answered in time.
   */
  ask(replica: string, taskId: string, timeoutMs?: number): Promise<boolean | undefined>;
  /**
   * Answers `ask` for a replica run in this process. `knows` returns undefined while this
   * process is not (yet) the replica's writer: then it stays silent and another answers.
   * Returns the function that stops answering.
   */
  answer(replica: string, knows: (taskId: string) => boolean | undefined): () => void;
}

const ASK_TIMEOUT_MS = 1_000;

/** Opens (creating if needed) the `spool_claims` bucket. */
export async function claims(connection: SpoolConnection): Promise<Claims> {
  const { nc, jsm, ns } = internals(connection);
  const js = jetstream(nc, { timeout: PUBLISH_ATTEMPT_MS });
  const stream = `KV_${ns.bucket(Buckets.Claims)}`;
  // A claim must be read as last written: from the leader (a replica may lag behind a claim).
  const kv = await openBucket(connection, Buckets.Claims, js, { leaderReads: true });
  const leaseKv = await openBucket(connection, Buckets.Leases, js);

  const read = async (pool: string, taskId: string): Promise<Claim | undefined> => {
    const entry = await retryUnknownOutcome(() => kv.get(claimKey(pool, taskId)));
    return entry === null ? undefined : parse(entry);
  };

  return {
    async claim(pool, taskId, replica) {
      const key = claimKey(pool, taskId);
      for (let released = 0; ; ) {
        try {
          const revision = await kv.create(key, value(replica, 1));
          return { owner: replica, tries: 1, revision, created: true };
        } catch (err) {
          // Exists (a sibling, or this replica before a crash, claimed it), or the outcome is
          // unknown: either way the stored claim says who owns it.
          const stored = await read(pool, taskId);
          if (stored !== undefined) return { ...stored, created: false };
          // It existed and is gone: released in between (its task finished). Claim it afresh.
          if (!isTransient(err) && ++released > 3) throw err;
        }
      }
    },
    async takeOver(pool, taskId, replica, current) {
      const tries = current.tries + 1;
      try {
        const revision = await kv.update(claimKey(pool, taskId), value(replica, tries), current.revision);
        return { owner: replica, tries, revision };
      } catch {
        // Changed first by another replica (or unknown outcome): look again.
        const stored = await read(pool, taskId);
        return stored?.owner === replica && stored.tries === tries ? stored : undefined;
      }
    },
    owner: read,
    async release(pool, taskId) {
      const subject = `$KV.${ns.bucket(Buckets.Claims)}.${claimKey(pool, taskId)}`;
      await retryUnknownOutcome(() => jsm.streams.purge(stream, { filter: subject }), 10_000);
    },
    async published(pool, taskId) {
      const found = await retryUnknownOutcome(() =>
        jsm.streams
          .getMessage(ns.stream(Streams.Results), { last_by_subj: ns.subject(subjects.result(pool, taskId)) })
          .then(
            (m) => m !== null,
            (err) => {
              if (isNotFound(err)) return false;
              throw err;
            },
          ),
      );
      return found;
    },
    async lease(replica) {
      return leaseStateOf(await retryUnknownOutcome(() => leaseKv.get(replica)));
    },
    async ask(replica, taskId, timeoutMs = ASK_TIMEOUT_MS) {
      try {
        const reply = await nc.request(
          ns.subject(subjects.poolAsk(replica)),
          encoder.encode(JSON.stringify({ taskId })),
          {
            timeout: timeoutMs,
          },
        );
        const parsed = JSON.parse(decoder.decode(reply.data)) as { known?: unknown };
        return typeof parsed.known === 'boolean' ? parsed.known : undefined;
      } catch {
        return undefined; // no responder (nobody runs it) or no answer in time
      }
    },
    answer(replica, knows) {
      const sub = nc.subscribe(ns.subject(subjects.poolAsk(replica)), {
        callback: (err, msg) => {
          if (err) return;
          let taskId: unknown;
          try {
            taskId = (JSON.parse(decoder.decode(msg.data)) as { taskId?: unknown }).taskId;
          } catch {
            return;
          }
          if (typeof taskId !== 'string') return;
          const known = knows(taskId);
          if (known !== undefined) msg.respond(encoder.encode(JSON.stringify({ known })));
        },
      });
      return () => sub.unsubscribe();
    },
  };
}

/**
 * The replica of pool `agent` that holds `taskId`: the one that claimed it or, once the claim
 * is released, the one its result names; `agent` itself when neither says (not a pool, or not
 * yet taken). Where a control command for the task goes (cancel, approve, dead-letter retry).
 */
export async function taskOwner(connection: SpoolConnection, agent: string, taskId: string): Promise<string> {
  const kv = await openBucket(connection, Buckets.Claims, undefined, { leaderReads: true });
  const entry = await retryUnknownOutcome(() => kv.get(claimKey(agent, taskId)));
  const claimed = entry === null ? undefined : parse(entry)?.owner;
  return claimed ?? (await results(connection).get(agent, taskId))?.replica ?? agent;
}

/**
 * The replicas of pool `pool` that have run here, by index: those whose durable control
 * consumer (`control-<pool>-<k>`) exists. Empty when `pool` is no pool: a plain agent has a
 * control consumer of its own name (a pool's name is no actor), and its `<name>-<k>` would
 * be other agents. Where a cancel goes for a pool's task that no replica has claimed yet.
 */
export async function poolReplicas(connection: SpoolConnection, pool: string): Promise<string[]> {
  const { jsm, ns } = internals(connection);
  const own = controlConsumerName(pool);
  const found = new Map<number, string>();
  for await (const info of jsm.consumers.list(ns.stream(Streams.Inbox))) {
    if (info.name === own) return [];
    const index = info.name.startsWith(`${own}-`) ? info.name.slice(own.length + 1) : '';
    if (/^[1-9][0-9]*$/.test(index)) found.set(Number(index), `${pool}-${index}`);
  }
  return [...found].sort(([a], [b]) => a - b).map(([, name]) => name);
}

/**
 * KV keys take [-/_=.a-zA-Z0-9]: the task id is base64url-encoded (a very long one hashed),
 * under the pool's name so one pool's claims are one key prefix.
 */
export function claimKey(pool: string, taskId: string): string {
  const encoded = Buffer.from(taskId, 'utf8').toString('base64url');
  const id = encoded.length <= 200 ? `t${encoded}` : `h${createHash('sha256').update(taskId).digest('hex')}`;
  return `${pool}.${id}`;
}

function value(owner: string, tries: number): Uint8Array {
  return encoder.encode(JSON.stringify({ owner, tries }));
}

function parse(entry: KvEntry): Claim | undefined {
  if (entry.operation !== 'PUT') return undefined;
  try {
    const v = JSON.parse(decoder.decode(entry.value)) as { owner?: unknown; tries?: unknown };
    if (typeof v.owner !== 'string') return undefined;
    return { owner: v.owner, tries: typeof v.tries === 'number' ? v.tries : 1, revision: entry.revision };
  } catch {
    return undefined;
  }
}

/** A create that failed without the key existing: a timeout or a lost connection, worth another try. */
function isTransient(err: unknown): boolean {
  return !(err instanceof Error && /wrong last sequence|exists/i.test(err.message));
}
