import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { jetstream } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { Buckets } from '@spool/core/internal';
import { openBucket } from './buckets.ts';
import { PUBLISH_ATTEMPT_MS, retryUnknownOutcome } from './errors.ts';
import { decoder, encoder, internals } from './internal.ts';
import type { SpoolConnection } from './types.ts';

export interface StoredSnapshot {
  readonly seq: number;
  readonly takenAt: string;
  readonly data: unknown;
  readonly bytes: number;
}

export interface SnapshotStore {
  /** Stores `data` (any JSON-serializable value) as the agent's newest snapshot, taken at history sequence `seq`. Returns the compressed size and chunk count. */
  save(agent: string, seq: number, data: unknown): Promise<{ bytes: number; chunks: number }>;
  /** The newest snapshot, or undefined when there is none. Throws SnapshotUnreadableError when one exists but cannot be read. */
  load(agent: string): Promise<StoredSnapshot | undefined>;
  /** Removes the agent's snapshot (all its keys). */
  remove(agent: string): Promise<void>;
}

/** A snapshot exists but cannot be used; the message says which key and what is wrong. */
export class SnapshotUnreadableError extends Error {
  override readonly name = 'SnapshotUnreadableError';
  constructor(
    readonly agent: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`snapshot of ${agent} is unreadable: ${problem}`, options);
  }
}

const FORMAT = 1;
const DEFAULT_CHUNK_BYTES = 512 * 1024;
// Room for the subject and protocol overhead next to a chunk in one message.
const MESSAGE_OVERHEAD = 4 * 1024;
// Agent names, Spool's own snapshots named with a `_` (no agent name has one), and keyed
// instances `<agent>.<key>` (one more token: `<agent>.>` purges never reach another agent's).
const AGENT_NAME = /^[a-z0-9_-]+(\.[A-Za-z0-9_=-]{1,128})?$/;

interface Manifest {
  format: typeof FORMAT;
  seq: number;
  takenAt: string;
  chunks: number;
  bytes: number;
  sha256: string;
}

/**
 * Agent snapshots in the KV bucket `spool_snapshots`. A snapshot can exceed the server's max
 * payload, so its gzipped JSON is split over chunk keys `<agent>.s<seq>.<hash>.c<i>`, and the
 * manifest key `<agent>` is written last: readers only ever follow a manifest to complete chunks.
 */
export async function snapshotStore(
  connection: SpoolConnection,
  options: { chunkBytes?: number } = {},
): Promise<SnapshotStore> {
  const { nc, jsm, ns } = internals(connection);
  const bucket = ns.bucket(Buckets.Snapshots);
  // KV's naming convention for the stream behind a bucket; stream purges leave no delete markers.
  const stream = `KV_${bucket}`;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxPayload = nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > maxPayload - MESSAGE_OVERHEAD) {
    throw new RangeError(
      `chunkBytes must be an integer from 1 to ${maxPayload - MESSAGE_OVERHEAD} (the server's max payload is ${maxPayload}), got ${chunkBytes}`,
    );
  }
  // A request made while the client reconnects is lost and only ends in its timeout: keep it
  // short so a retry goes out soon after the server is back (the default is 5 s).
  const kv = await openBucket(connection, Buckets.Snapshots, jetstream(nc, { timeout: PUBLISH_ATTEMPT_MS }));
  const purge = (subject: string) =>
    retryUnknownOutcome(() => jsm.streams.purge(stream, { filter: `$KV.${bucket}.${subject}` }));

  return {
    async save(agent, seq, data) {
      checkAgent(agent);
      if (!Number.isInteger(seq) || seq < 0) throw new RangeError(`seq must be an integer >= 0, got ${seq}`);
      const json = JSON.stringify(data) as string | undefined;
      if (json === undefined) throw new TypeError(`snapshot of ${agent}: data is not JSON-serializable`);
      const gz = gzipSync(json);
      const sha256 = createHash('sha256').update(gz).digest('hex');
      const chunks = Math.max(1, Math.ceil(gz.length / chunkBytes));
      // The hash in the key keeps a second save at the same seq from overwriting the chunks
      // the current manifest points at; a repeat of the very same save rewrites identical bytes.
      const prefix = chunkPrefix(agent, seq, sha256);
      for (let i = 0; i < chunks; i += 1) {
        const part = gz.subarray(i * chunkBytes, (i + 1) * chunkBytes);
        await put(kv, `${prefix}.c${i}`, part);
      }
      const manifest: Manifest = {
        format: FORMAT,
        seq,
        takenAt: new Date().toISOString(),
        chunks,
        bytes: gz.length,
        sha256,
      };
      await put(kv, agent, encoder.encode(JSON.stringify(manifest)));
      // With one writer per agent, the newest `chunks` messages under `<agent>.>` are the ones
      // just written: keeping only those also sweeps chunks of older snapshots and of saves that
      // crashed before their manifest. Best effort: a failure here leaves garbage the next save removes.
      await retryUnknownOutcome(
        () => jsm.streams.purge(stream, { filter: `$KV.${bucket}.${agent}.>`, keep: chunks }),
        5_000,
      ).catch(() => undefined);
      return { bytes: gz.length, chunks };
    },

    async load(agent) {
      checkAgent(agent);
      // A save that lands between reading the manifest and reading its chunks removes those
      // chunks; a changed manifest means "read again", not "corrupt".
      for (let attempt = 1; ; attempt += 1) {
        const entry = await get(kv, agent);
        if (entry === undefined) return undefined;
        const manifest = parseManifest(agent, entry);
        const prefix = chunkPrefix(agent, manifest.seq, manifest.sha256);
        const keys = Array.from({ length: manifest.chunks }, (_, i) => `${prefix}.c${i}`);
        const parts = await Promise.all(keys.map((key) => get(kv, key)));
        const missing = parts.indexOf(undefined);
        if (missing !== -1) {
          if (attempt < 3 && (await get(kv, agent))?.revision !== entry.revision) continue;
          throw new SnapshotUnreadableError(
            agent,
            `missing chunk ${missing} of ${manifest.chunks} (key ${keys[missing]}) for seq ${manifest.seq}`,
          );
        }
        return {
          seq: manifest.seq,
          takenAt: manifest.takenAt,
          bytes: manifest.bytes,
          data: decode(agent, manifest, parts),
        };
      }
    },

    async remove(agent) {
      checkAgent(agent);
      // Manifest first: a reader then sees no snapshot rather than one with missing chunks.
      await purge(agent);
      await purge(`${agent}.>`);
    },
  };
}

function checkAgent(agent: string): void {
  // The name goes into purge filters: a wildcard here would reach other agents' keys.
  if (!AGENT_NAME.test(agent))
    throw new RangeError(`invalid agent name for a snapshot: ${JSON.stringify(agent)}`);
}

function chunkPrefix(agent: string, seq: number, sha256: string): string {
  return `${agent}.s${seq}.${sha256.slice(0, 16)}`;
}

function put(kv: KV, key: string, value: Uint8Array): Promise<number> {
  // A put is idempotent (history 1, same key and bytes), so an unknown outcome is simply retried.
  return retryUnknownOutcome(() => kv.put(key, value, { timeout: PUBLISH_ATTEMPT_MS }));
}

async function get(kv: KV, key: string): Promise<KvEntry | undefined> {
  const entry = await retryUnknownOutcome(() => kv.get(key));
  return entry === null || entry.operation !== 'PUT' ? undefined : entry;
}

function parseManifest(agent: string, entry: KvEntry): Manifest {
  const where = `manifest (key ${entry.key}, revision ${entry.revision})`;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(entry.value));
  } catch (err) {
    throw new SnapshotUnreadableError(agent, `${where} is not JSON`, { cause: err });
  }
  const m = (typeof value === 'object' && value !== null ? value : {}) as Partial<
    Record<keyof Manifest, unknown>
  >;
  if (m.format !== FORMAT) {
    throw new SnapshotUnreadableError(
      agent,
      `${where} has unknown format version ${JSON.stringify(m.format)}; this version reads format ${FORMAT} (written by a newer Spool?)`,
    );
  }
  const valid =
    isCount(m.seq, 0) &&
    typeof m.takenAt === 'string' &&
    isCount(m.chunks, 1) &&
    isCount(m.bytes, 0) &&
    typeof m.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(m.sha256);
  if (!valid)
    throw new SnapshotUnreadableError(agent, `${where} lacks a valid seq, takenAt, chunks, bytes or sha256`);
  return m as Manifest;
}

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}

function decode(agent: string, manifest: Manifest, parts: readonly (KvEntry | undefined)[]): unknown {
  const gz = Buffer.concat(parts.map((part) => part?.value ?? new Uint8Array()));
  if (gz.length !== manifest.bytes) {
    throw new SnapshotUnreadableError(
      agent,
      `its ${manifest.chunks} chunks hold ${gz.length} bytes, the manifest says ${manifest.bytes}`,
    );
  }
  const sha256 = createHash('sha256').update(gz).digest('hex');
  if (sha256 !== manifest.sha256) {
    throw new SnapshotUnreadableError(
      agent,
      `checksum mismatch for seq ${manifest.seq}: sha256 of the chunks is ${sha256}, the manifest says ${manifest.sha256}`,
    );
  }
  let json: string;
  try {
    json = gunzipSync(gz).toString('utf8');
  } catch (err) {
    throw new SnapshotUnreadableError(agent, `the chunks of seq ${manifest.seq} are not gzip`, {
      cause: err,
    });
  }
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new SnapshotUnreadableError(agent, `the content of seq ${manifest.seq} is not JSON`, {
      cause: err,
    });
  }
}
