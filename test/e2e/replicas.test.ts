/**
 * The CLI's side of replicas and the server version: SPOOL_REPLICAS or the config's
 * nats.replicas reach provisioning (the environment wins), a bad value is one line, a stream
 * with another replica count is reported and left alone, and a long-running process warns
 * once about a server older than the production minimum.
 */
import { belowProductionMinimum, MIN_PRODUCTION_SERVER } from '@spool/jetstream';
import { type NatsServer, startNats } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines } from '../chaos/fleet.ts';
import { BrokerProbe } from '../support/broker.ts';
import { PROVISIONED } from '../support/provisioned.ts';
import { runCli, startCli, writeConfig } from '../support/cli.ts';

const agents = { helper: { instructions: 'Help.', model: 'claude-sonnet-4-6' } };

describe('replicas and the server version, through the CLI', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(() => nats?.close());

  it('refuses a bad SPOOL_REPLICAS with one line and exit code 2', async () => {
    for (const bad of ['three', '6']) {
      const run = await runCli(['coordinator', '--config', writeConfig({ agents })], {
        natsUrl: nats.url,
        extraEnv: { SPOOL_REPLICAS: bad },
      });
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toEqual([
        `error: SPOOL_REPLICAS must be a whole number from 1 to 5 (got "${bad}")`,
      ]);
    }
  });

  it('fails with one line when the server cannot give the replicas asked for', async () => {
    const run = await runCli(['coordinator', '--config', writeConfig({ agents, nats: { replicas: 3 } })], {
      natsUrl: nats.url,
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^error: cannot create SPOOL_INBOX with 3 replica\(s\): .*needs a JetStream cluster/,
    );
  });

  it('reports streams with another replica count once and leaves them; the environment wins over the config', async () => {
    const probe = await BrokerProbe.open(nats.url);
    try {
      // The streams exist with one replica; the config asks for 2 (a single server could not
      // create them so, but existing ones are only compared).
      // (Any command provisions; status then says no coordinator answers.)
      await runCli(['status', '--json'], { natsUrl: nats.url });
      expect((await probe.streamInfo('SPOOL_HISTORY')).config.num_replicas).toBe(1);
      const config = writeConfig({ agents, nats: { replicas: 2 } });
      const coordinator = startCli(['coordinator', '--config', config], { natsUrl: nats.url });
      try {
        await coordinator.waitForLog('coordinator history replayed');
      } finally {
        await coordinator.kill('SIGTERM');
      }
      const lines = logLines(coordinator);
      const mismatches = lines.filter((l) => l.msg.includes('asked for (nats.replicas / SPOOL_REPLICAS)'));
      expect(mismatches.map((l) => l.stream)).toEqual(PROVISIONED);
      expect(mismatches[0]).toMatchObject({ replicas: 1, asked: 2 });
      expect((await probe.streamInfo('SPOOL_HISTORY')).config.num_replicas).toBe(1);
      // The server's version, once.
      const old = belowProductionMinimum(probe.nc.info?.version ?? '');
      expect(lines.filter((l) => l.msg.includes(`older than ${MIN_PRODUCTION_SERVER}`))).toHaveLength(
        old ? 1 : 0,
      );

      // SPOOL_REPLICAS=1 wins over the config's 2: nothing to report.
      const agent = startCli(['agent', 'helper', '--config', config], {
        natsUrl: nats.url,
        extraEnv: { SPOOL_REPLICAS: '1' },
      });
      try {
        await agent.waitForLog('history replayed');
      } finally {
        await agent.kill('SIGTERM');
      }
      expect(logLines(agent).filter((l) => l.msg.includes('asked for (nats.replicas'))).toEqual([]);
    } finally {
      await probe.close();
    }
  });
});
