import {
  belowProductionMinimum,
  connect,
  isOlderThan,
  MIN_PRODUCTION_SERVER,
  provision,
  warnIfOldServer,
} from '@spool/jetstream';
import { type NatsServer, startNats } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProbe } from '../support/broker.ts';
import { capturingLogger } from '../support/world.ts';

const STREAMS = [
  'SPOOL_INBOX',
  'SPOOL_HISTORY',
  'SPOOL_KEYED',
  'SPOOL_RESULTS',
  'KV_spool_leases',
  'KV_spool_claims',
  'KV_spool_snapshots',
  'KV_spool_keyed',
];

describe('provision - replicas', () => {
  let nats: NatsServer;
  let probe: BrokerProbe;
  beforeAll(async () => {
    nats = await startNats();
    probe = await BrokerProbe.open(nats.url);
  });
  afterAll(async () => {
    await probe?.close();
    await nats?.close();
  });

  it('creates every stream and bucket with one replica by default', async () => {
    const connection = await connect({ url: nats.url, name: 'test' });
    try {
      await provision(connection);
      for (const stream of STREAMS)
        expect({ stream, replicas: (await probe.streamInfo(stream)).config.num_replicas }).toEqual({
          stream,
          replicas: 1,
        });
    } finally {
      await connection.close();
    }
  });

  it('leaves a stream or bucket with another replica count as it is, and says so once per process', async () => {
    const { logger, records } = capturingLogger();
    const connection = await connect({ url: nats.url, name: 'test' });
    try {
      await provision(connection, { replicas: 2, logger });
      await provision(connection, { replicas: 2, logger });
      const warnings = records.filter((r) => r.level === 40);
      expect(warnings.map((r) => r.stream)).toEqual(STREAMS);
      expect(warnings[1]).toMatchObject({ stream: 'SPOOL_HISTORY', replicas: 1, asked: 2 });
      expect(warnings[1]?.msg).toBe(
        'SPOOL_HISTORY has 1 replica(s), 2 asked for (nats.replicas / SPOOL_REPLICAS): left as it is; to change it: nats stream edit SPOOL_HISTORY --replicas 2',
      );
      for (const stream of STREAMS) expect((await probe.streamInfo(stream)).config.num_replicas).toBe(1);
      // Unset replicas has no opinion on existing streams: nothing to report.
      const quiet = capturingLogger();
      await provision(connection, { logger: quiet.logger });
      expect(quiet.records).toEqual([]);
    } finally {
      await connection.close();
    }
  });

  it('refuses replicas a single server cannot have, with one line naming the stream and the fix', async () => {
    await using fresh = await startNats();
    const connection = await connect({ url: fresh.url, name: 'test' });
    try {
      const err = await provision(connection, { replicas: 3 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        /^cannot create SPOOL_INBOX with 3 replica\(s\): .*non-clustered.* \(more than one replica needs a JetStream cluster with at least 3 servers up; set nats.replicas \/ SPOOL_REPLICAS to fit it\)$/,
      );
      expect((err as Error).message).not.toContain('\n');
      for (const bad of [0, 6, 1.5])
        await expect(provision(connection, { replicas: bad })).rejects.toThrow(
          `replicas must be a whole number from 1 to 5, got ${bad}`,
        );
    } finally {
      await connection.close();
    }
  });
});

describe('server version', () => {
  it('compares versions', () => {
    expect(MIN_PRODUCTION_SERVER).toBe('2.9.23');
    expect(isOlderThan('2.9.10', '2.9.23')).toBe(true);
    expect(isOlderThan('2.9.22', '2.9.23')).toBe(true);
    expect(isOlderThan('2.9.23', '2.9.23')).toBe(false);
    expect(isOlderThan('2.10.0', '2.9.23')).toBe(false);
    expect(isOlderThan('v2.11.4-RC.1', '2.9.23')).toBe(false);
    expect(isOlderThan('1.99.99', '2.9.23')).toBe(true);
    expect(isOlderThan('unknown', '2.9.23')).toBeUndefined();
    // The production minimum: 2.9.23, and 2.10.2 on the 2.10 line (the same fix).
    expect(belowProductionMinimum('2.9.10')).toBe(true);
    expect(belowProductionMinimum('2.9.23')).toBe(false);
    expect(belowProductionMinimum('2.10.1')).toBe(true);
    expect(belowProductionMinimum('2.10.2')).toBe(false);
    expect(belowProductionMinimum('2.11.0')).toBe(false);
    expect(belowProductionMinimum('unknown')).toBeUndefined();
  });

  it('warns once per process on a server older than the production minimum', async () => {
    await using nats = await startNats();
    const connection = await connect({ url: nats.url, name: 'test' });
    try {
      const { logger, records } = capturingLogger();
      const older = belowProductionMinimum(connection.serverVersion);
      expect(warnIfOldServer(connection, logger)).toBe(older);
      expect(warnIfOldServer(connection, logger)).toBe(false);
      if (older)
        expect(records).toEqual([
          expect.objectContaining({
            level: 40,
            serverVersion: connection.serverVersion,
            minimum: '2.9.23',
            msg: `nats-server ${connection.serverVersion} is older than 2.9.23 (2.10.2 on 2.10), the minimum for production (CVE-2023-47090 and other fixes): upgrade it before relying on it`,
          }),
        ]);
      else expect(records).toEqual([]);
    } finally {
      await connection.close();
    }
  });
});
