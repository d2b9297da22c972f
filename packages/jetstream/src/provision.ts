import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Buckets, Streams, subjects } from '@spool/core/internal';
import { internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

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

/**
 * Creates the streams and KV buckets if they are missing. Idempotent and safe when several
 * processes start at once; an existing stream is left as it is (its operator may have tuned it).
 */
export async function provision(connection: SpoolConnection): Promise<void> {
  const { nc, jsm } = internals(connection);
  for (const config of STREAM_CONFIGS) {
    const name = config.name;
    const exists = await jsm.streams.info(name).then(
      () => true,
      (err) => {
        if (err instanceof JetStreamApiError && err.code === 10059) return false;
        throw err;
      },
    );
    if (exists) continue;
    await jsm.streams.add(config).catch((err) => {
      if (err instanceof JetStreamApiError && err.code === STREAM_EXISTS) return;
      throw err;
    });
  }
  await new Kvm(nc).create(Buckets.Leases, { history: 1, storage: StorageType.File });
  // Agent pools: which replica holds each task (derived: the replicas' histories are the truth).
  await new Kvm(nc).create('spool_claims', { history: 1, storage: StorageType.File });
}
