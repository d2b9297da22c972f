import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { type SnapshotStore, SnapshotUnreadableError, snapshotStore } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startBroker } from '../support/world.ts';

const encoder = new TextEncoder();

/** ~`bytes` of JSON made of seeded pseudo-random base64-like text: gzip saves only ~25% on it. */
function bulkyState(bytes: number, seed = 1): { notes: string[] } {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let x = seed;
  const notes: string[] = [];
  for (let total = 0; total < bytes; total += 1_000) {
    let note = '';
    for (let i = 0; i < 1_000; i += 1) {
      // xorshift32: deterministic, so a failure can be reproduced
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      note += alphabet[(x >>> 0) % 64];
    }
    notes.push(note);
  }
  return { notes };
}

/**
 * The bucket as any NATS client sees it, through plain JetStream (the root package has no
 * `@nats-io/kv`): what is stored is checked, and corrupted, without the code under test.
 */
class RawBucket {
  static readonly stream = 'KV_spool_snapshots';
  constructor(private readonly jsm: JetStreamManager) {}

  async put(key: string, value: Uint8Array): Promise<void> {
    await this.jsm.jetstream().publish(`$KV.spool_snapshots.${key}`, value);
  }

  /** A KV delete: a marker message, as `nats kv del` writes it. */
  async delete(key: string): Promise<void> {
    const h = headers();
    h.set('KV-Operation', 'DEL');
    await this.jsm.jetstream().publish(`$KV.spool_snapshots.${key}`, new Uint8Array(), { headers: h });
  }

  async get(key: string): Promise<Uint8Array> {
    const m = await this.jsm.direct.getMessage(RawBucket.stream, {
      last_by_subj: `$KV.spool_snapshots.${key}`,
    });
    if (m === null) throw new Error(`no key ${key}`);
    return Uint8Array.from(m.data);
  }

  /** Every key of the agent that holds a message: a delete marker left behind counts too. */
  async keys(agent: string): Promise<string[]> {
    const out: string[] = [];
    for (const filter of [agent, `${agent}.>`]) {
      const info = await this.jsm.streams.info(RawBucket.stream, {
        subjects_filter: `$KV.spool_snapshots.${filter}`,
      });
      out.push(...Object.keys(info.state.subjects ?? {}).map((s) => s.slice('$KV.spool_snapshots.'.length)));
    }
    return out.sort();
  }
}

/** Where the store puts chunk `i` of a snapshot (see snapshot-store.ts), for hand-made snapshots. */
const chunkKey = (agent: string, seq: number, sha256: string, i: number) =>
  `${agent}.s${seq}.${sha256.slice(0, 16)}.c${i}`;

/** Writes a snapshot by hand: one chunk holding `bytes`, and a manifest that matches it. */
async function writeRaw(kv: RawBucket, agent: string, seq: number, bytes: Uint8Array): Promise<void> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await kv.put(chunkKey(agent, seq, sha256, 0), bytes);
  const manifest = {
    format: 1,
    seq,
    takenAt: new Date().toISOString(),
    chunks: 1,
    bytes: bytes.length,
    sha256,
  };
  await kv.put(agent, encoder.encode(JSON.stringify(manifest)));
}

async function unreadable(store: SnapshotStore, agent: string): Promise<SnapshotUnreadableError> {
  const err = await store.load(agent).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SnapshotUnreadableError);
  expect((err as SnapshotUnreadableError).agent).toBe(agent);
  expect((err as Error).message).toContain(`snapshot of ${agent} is unreadable`);
  return err as SnapshotUnreadableError;
}

let broker: Broker;
let store: SnapshotStore;
let raw: RawBucket;

beforeAll(async () => {
  broker = await startBroker();
  store = await snapshotStore(broker.connection);
  raw = new RawBucket(await jetstreamManager(broker.probe.nc));
});
afterAll(async () => broker?.close());

describe('save and load', () => {
  it('answers undefined for an agent without a snapshot', async () => {
    expect(await store.load('nobody')).toBeUndefined();
  });

  it('round trips a small state in one chunk', async () => {
    const state = { facts: ['mean is 3'], counts: { tasks: 2 }, nested: [null, true, 1.5, 'é'] };
    const before = Date.now();
    const saved = await store.save('small', 7, state);
    expect(saved.chunks).toBe(1);

    const loaded = await store.load('small');
    expect(loaded).toEqual({ seq: 7, takenAt: expect.any(String), data: state, bytes: saved.bytes });
    expect(Date.parse(loaded?.takenAt ?? '')).toBeGreaterThanOrEqual(before - 1_000);
    expect(await raw.keys('small')).toHaveLength(2); // manifest + one chunk
  });

  it('round trips a state of 3 MB that gzips poorly, in several chunks under the max payload', async () => {
    const state = bulkyState(3_000_000);
    const saved = await store.save('bulky', 42, state);
    expect(saved.bytes).toBeGreaterThan(1024 * 1024);
    expect(saved.chunks).toBe(Math.ceil(saved.bytes / (512 * 1024)));
    expect(saved.chunks).toBeGreaterThanOrEqual(3);

    const loaded = await store.load('bulky');
    expect(loaded?.seq).toBe(42);
    expect(loaded?.bytes).toBe(saved.bytes);
    expect(loaded?.data).toEqual(state);
    expect(await raw.keys('bulky')).toHaveLength(saved.chunks + 1);
  });

  it('a second save replaces the first and removes the old chunks, also at the same seq', async () => {
    const first = await store.save('replaced', 10, bulkyState(1_200_000, 2));
    expect(first.chunks).toBeGreaterThan(1);
    const second = await store.save('replaced', 20, { small: true });
    expect(await store.load('replaced')).toMatchObject({ seq: 20, data: { small: true } });
    let keys = await raw.keys('replaced');
    expect(keys).toHaveLength(1 + second.chunks);
    expect(keys.filter((k) => k.startsWith('replaced.s10.'))).toEqual([]);

    // Another state at the same seq must not overwrite the chunks the manifest points at.
    await store.save('replaced', 20, { small: false });
    expect(await store.load('replaced')).toMatchObject({ seq: 20, data: { small: false } });
    keys = await raw.keys('replaced');
    expect(keys).toHaveLength(2);
  });

  it('sweeps chunks left by a save that died before writing its manifest', async () => {
    await store.save('crashy', 1, { n: 1 });
    await raw.put('crashy.s2.0123456789abcdef.c0', encoder.encode('half a snapshot'));
    await store.save('crashy', 3, { n: 3 });
    expect((await raw.keys('crashy')).filter((k) => k.includes('.s2.'))).toEqual([]);
    expect(await store.load('crashy')).toMatchObject({ seq: 3, data: { n: 3 } });
  });

  it('a load racing with saves sees one complete snapshot or the next, never a missing chunk', async () => {
    // Many small chunks: reading them takes long enough for saves to land in between.
    const tiny = await snapshotStore(broker.connection, { chunkBytes: 256 });
    await tiny.save('racer', 1, bulkyState(20_000, 1));
    let saving = true;
    let saved = 1;
    const saves = (async () => {
      while (saving) await tiny.save('racer', ++saved, bulkyState(20_000, saved));
    })();
    try {
      for (let loads = 0; loads < 50 || saved < 20; loads += 1) {
        const loaded = await tiny.load('racer');
        expect(loaded?.data).toEqual(bulkyState(20_000, loaded?.seq ?? 0));
      }
    } finally {
      saving = false;
      await saves;
    }
  });

  it('refuses a chunk size the server could not carry, and agent names that are not [a-z0-9-]+', async () => {
    await expect(snapshotStore(broker.connection, { chunkBytes: 2 * 1024 * 1024 })).rejects.toThrow(
      /chunkBytes must be an integer from 1 to/,
    );
    await expect(store.save('a.>', 1, {})).rejects.toThrow(/invalid agent name/);
    await expect(store.remove('*')).rejects.toThrow(/invalid agent name/);
  });
});

describe('an unreadable snapshot', () => {
  it('names a deleted chunk', async () => {
    await store.save('lost-chunk', 5, bulkyState(1_500_000, 3));
    await raw.delete((await raw.keys('lost-chunk')).find((k) => k.endsWith('.c1')) ?? 'none');
    const err = await unreadable(store, 'lost-chunk');
    expect(err.message).toMatch(/missing chunk 1 of \d+ \(key lost-chunk\.s5\.[0-9a-f]+\.c1\) for seq 5/);
  });

  it('names a checksum mismatch when chunk bytes were altered', async () => {
    await store.save('altered', 5, { facts: ['a', 'b', 'c'] });
    const key = (await raw.keys('altered')).find((k) => k.endsWith('.c0')) ?? 'none';
    const bytes = await raw.get(key);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff; // same length, other content
    await raw.put(key, bytes);
    expect((await unreadable(store, 'altered')).message).toMatch(/checksum mismatch for seq 5/);
  });

  it('names chunks whose total size differs from the manifest', async () => {
    await store.save('truncated', 5, { facts: ['a', 'b', 'c'] });
    const key = (await raw.keys('truncated')).find((k) => k.endsWith('.c0')) ?? 'none';
    await raw.put(key, (await raw.get(key)).subarray(0, 10));
    expect((await unreadable(store, 'truncated')).message).toMatch(
      /chunks hold 10 bytes, the manifest says \d+/,
    );
  });

  it('names a manifest that is not JSON', async () => {
    await store.save('bad-manifest', 5, {});
    await raw.put('bad-manifest', encoder.encode('{"format":1,'));
    expect((await unreadable(store, 'bad-manifest')).message).toMatch(
      /manifest \(key bad-manifest, revision \d+\) is not JSON/,
    );
  });

  it('names a manifest that lacks fields', async () => {
    await raw.put('thin-manifest', encoder.encode('{"format":1,"seq":3}'));
    expect((await unreadable(store, 'thin-manifest')).message).toMatch(
      /lacks a valid seq, takenAt, chunks, bytes or sha256/,
    );
  });

  it('names a manifest of a newer format', async () => {
    await store.save('future', 5, {});
    const manifest = JSON.parse(new TextDecoder().decode(await raw.get('future')));
    await raw.put('future', encoder.encode(JSON.stringify({ ...manifest, format: 2 })));
    expect((await unreadable(store, 'future')).message).toMatch(
      /unknown format version 2; this version reads format 1/,
    );
  });

  it('names content that is not gzip, and gzip that is not JSON', async () => {
    await writeRaw(raw, 'not-gzip', 4, encoder.encode('{"plain":"json"}'));
    expect((await unreadable(store, 'not-gzip')).message).toMatch(/the chunks of seq 4 are not gzip/);
    await writeRaw(raw, 'not-json', 4, gzipSync('{"cut": '));
    expect((await unreadable(store, 'not-json')).message).toMatch(/the content of seq 4 is not JSON/);
  });
});

describe('remove', () => {
  it('removes every key of the agent and nothing of an agent whose name it prefixes', async () => {
    await store.save('gone', 3, bulkyState(1_200_000, 4));
    await store.save('gone-too', 3, { keep: 'me' });
    await store.remove('gone');
    expect(await store.load('gone')).toBeUndefined();
    expect(await raw.keys('gone')).toEqual([]);
    expect(await store.load('gone-too')).toMatchObject({ data: { keep: 'me' } });
    await store.remove('never-saved'); // nothing to do is not an error
  });
});

// Last: it restarts the server the other tests share.
describe('a server restart', () => {
  it('keeps the snapshot; the store reads and writes again once the client is back', async () => {
    const state = bulkyState(1_500_000, 5);
    await store.save('durable', 9, state);
    await broker.nats.restart();
    expect(await store.load('durable')).toMatchObject({ seq: 9, data: state });
    await store.save('durable', 10, { after: 'restart' });
    expect(await store.load('durable')).toMatchObject({ seq: 10, data: { after: 'restart' } });
  });
});
