import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { Streams, subjects } from '@spool/core/internal';
import { BUCKET_NAMES, openBucket, setReplicas } from './buckets.ts';
import { isNotFound } from './errors.ts';
import { internals } from './internal.ts';
import type { ConnectionLogger, SpoolConnection } from './types.ts';

const TWO_MINUTES_NS = 2 * 60 * 1_000_000_000;

/** The streams Spool needs; only JetStream features of nats-server 2.9. */
export const STREAM_CONFIGS: (Partial<StreamConfig> & { name: string })[] = [
  {
    name: Streams.Inbox,
    subjects: [subjects.allInboxes, subjects.allControls],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: TWO_MINUTES_NS,
  },
  {
    // The histories: never trimmed, never edited. An age or size limit would silently break replay.
    name: Streams.History,
    subjects: [subjects.allHistories],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: 0,
    max_bytes: -1,
    max_msgs: -1,
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
    duplicate_window: TWO_MINUTES_NS,
  },
  {
    // Keyed agents' instance histories: never trimmed nor edited by Spool, but erasable per
    // instance (`spool forget <agent>/<key>`: a purge of one subject, an admin's right only;
    // no other role may purge it). SPOOL_HISTORY denies purges, so they live here.
    name: Streams.Keyed,
    subjects: [subjects.allKeyed],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: 0,
    max_bytes: -1,
    max_msgs: -1,
    deny_delete: true,
    deny_purge: false,
    allow_direct: true,
    duplicate_window: TWO_MINUTES_NS,
  },
  {
    name: Streams.Results,
    subjects: [subjects.allResults],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    allow_direct: true,
    duplicate_window: TWO_MINUTES_NS,
  },
];

/** "stream name already in use": another process created it between our check and our add. */
const STREAM_EXISTS = 10058;

export interface ProvisionOptions {
  /**
   * Replicas of every stream and KV bucket created (1 to 5; 3 on a clustered JetStream). Unset:
   * 1, and existing ones are not compared. Set: one with another count is left as it is and
   * reported once (its operator may have chosen it; changing it is theirs to do).
   */
  readonly replicas?: number | undefined;
  /** Where a stream or bucket with another replica count is reported. */
  readonly logger?: ConnectionLogger | undefined;
}

/** Streams and buckets already reported with another replica count (once per process). */
const reported = new Set<string>();

/**
 * Creates the streams and KV buckets if they are missing, with `replicas`. Idempotent and safe
 * when several processes start at once; an existing stream is left as it is (its operator may
 * have tuned it).
 */
export async function provision(connection: SpoolConnection, options: ProvisionOptions = {}): Promise<void> {
  const { jsm, ns } = internals(connection);
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new RangeError(`replicas must be a whole number from 1 to 5, got ${replicas}`);
  setReplicas(connection, replicas);
  const existing = async (stream: string): Promise<StreamInfo | undefined> =>
    jsm.streams.info(stream).then(
      (info) => info,
      (err) => {
        if (isNotFound(err)) return undefined;
        throw err;
      },
    );
  const check = (info: StreamInfo) => {
    const has = info.config.num_replicas || 1;
    if (options.replicas === undefined || has === replicas) return;
    const stream = info.config.name;
    const key = `${connection.url} ${stream} ${has} ${replicas}`;
    if (reported.has(key)) return;
    reported.add(key);
    options.logger?.warn(
      { stream, replicas: has, asked: replicas },
      `${stream} has ${has} replica(s), ${replicas} asked for (nats.replicas / SPOOL_REPLICAS): left as it is; to change it: nats stream edit ${stream} --replicas ${replicas}`,
    );
  };
  const refused = (stream: string, err: unknown) =>
    new Error(
      `cannot create ${stream} with ${replicas} replica(s): ${err instanceof Error ? err.message : String(err)}${replicas > 1 ? ` (more than one replica needs a JetStream cluster with at least ${replicas} servers up; set nats.replicas / SPOOL_REPLICAS to fit it)` : ''}`,
    );
  for (const logical of STREAM_CONFIGS) {
    const config = { ...logical, name: ns.stream(logical.name), subjects: logical.subjects?.map(ns.subject) };
    const info = await existing(config.name);
    if (info !== undefined) {
      check(info);
      continue;
    }
    await jsm.streams.add({ ...config, num_replicas: replicas }).catch((err) => {
      if (err instanceof JetStreamApiError && err.code === STREAM_EXISTS) return;
      throw refused(config.name, err);
    });
  }
  for (const bucket of BUCKET_NAMES) {
    const info = await existing(`KV_${ns.bucket(bucket)}`);
    if (info !== undefined) check(info);
    else
      await openBucket(connection, bucket).catch((err) =>
        Promise.reject(refused(`KV_${ns.bucket(bucket)}`, err)),
      );
  }
}
