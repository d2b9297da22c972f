import { type JetStreamClient, StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { Buckets } from '@spool/core/internal';
import { internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

/** The KV buckets Spool uses: derived or coordination data only (the histories can rebuild them). */
export const BUCKET_NAMES = [
  Buckets.Leases,
  // Agent pools: which replica holds each unfinished task (claims.ts).
  Buckets.Claims,
  // Agents' state snapshots, in chunks (snapshot-store.ts).
  Buckets.Snapshots,
  // Keyed agents: which host runs each active instance, what passivated ones wait for (keyed-ownership.ts).
  Buckets.Keyed,
  // Each agent's spend today and the holds of its calls in flight (spend.ts).
  Buckets.Spend,
  // The shared rate limits' token buckets (rate-limiter.ts).
  Buckets.Rates,
] as const;

/**
 * Buckets read then written with compare-and-swap: reads go to the leader, so a read is never
 * older than the last acknowledged write (a stale read would only make the swap fail and loop).
 */
const LEADER_READS: ReadonlySet<string> = new Set([Buckets.Spend, Buckets.Rates]);

/** The replica count given to `provision` for a connection: what buckets created later get too. */
const replicasOf = new WeakMap<SpoolConnection, number>();

export function setReplicas(connection: SpoolConnection, replicas: number): void {
  replicasOf.set(connection, replicas);
}

/** Replicas of the streams and buckets this connection creates (provision's setting; default 1). */
export function replicasFor(connection: SpoolConnection): number {
  return replicasOf.get(connection) ?? 1;
}

/**
 * Opens one of Spool's KV buckets, creating it if it is missing (with the replicas given to
 * `provision`); an existing bucket is used as it is. `js` carries a caller's request timeout.
 * `leaderReads`: reads go to the stream's leader, never to a replica that may lag behind a
 * write just acknowledged (direct gets may be answered by any replica of a replicated stream).
 */
export function openBucket(
  connection: SpoolConnection,
  name: string,
  js?: JetStreamClient,
  options: { leaderReads?: boolean } = {},
): Promise<KV> {
  const { nc, ns } = internals(connection);
  // `name` is the logical bucket; the connection's namespace names the real one.
  return new Kvm(js ?? nc).create(ns.bucket(name), {
    history: 1,
    storage: StorageType.File,
    replicas: replicasFor(connection),
    ...((options.leaderReads ?? LEADER_READS.has(name)) ? { allow_direct: false } : {}),
  });
}
