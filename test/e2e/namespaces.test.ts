import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { TaskResultSchema } from '@spool/core';
import { type NatsServer, startNats } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, runCli, startUp, writeConfig } from '../support/cli.ts';

describe('namespaces - two Spool installations side by side on one NATS account', () => {
  let nats: NatsServer;
  const ups: CliProcess[] = [];
  const envOf = (namespace: string) => ({ natsUrl: nats.url, extraEnv: { SPOOL_NAMESPACE: namespace } });

  beforeAll(async () => {
    nats = await startNats();
    const config = writeConfig({ agents: { helper: { instructions: 'Help.', model: 'claude-sonnet-4-6' } } });
    ups.push(await startUp(config, envOf('staging')), await startUp(config, envOf('prod')));
  });

  afterAll(async () => {
    for (const up of ups) up.child.kill('SIGKILL');
    await nats?.close();
  });

  it('keeps tasks, results, histories and status apart, even for the same agent and task id', async () => {
    const inputs = {
      staging: 'Analyze this dataset: [1,2,3]. Calculate the mean.',
      prod: 'Analyze this dataset: [10,20]. Calculate the mean.',
    };
    for (const [namespace, input] of Object.entries(inputs)) {
      const run = await runCli(
        ['submit', 'helper', input, '--id', 't-1', '--wait', '--json'],
        envOf(namespace),
      );
      expect(run.code, run.stderr).toBe(0);
    }
    const stagingResult = await runCli(
      ['submit', 'helper', 'again', '--id', 't-1', '--wait', '--json'],
      envOf('staging'),
    );
    expect(TaskResultSchema.parse(JSON.parse(stagingResult.stdout)).output).toContain('mean is 2');
    const prodResult = await runCli(
      ['submit', 'helper', 'again', '--id', 't-1', '--wait', '--json'],
      envOf('prod'),
    );
    expect(TaskResultSchema.parse(JSON.parse(prodResult.stdout)).output).toContain('mean is 15');

    for (const namespace of ['staging', 'prod']) {
      const status = await runCli(['status', '--json'], envOf(namespace));
      expect(status.code, status.stderr).toBe(0);
      const helper = JSON.parse(status.stdout).agents.find((a: { name: string }) => a.name === 'helper');
      expect(helper.counts).toMatchObject({ received: 1, completed: 1 });
      const replay = await runCli(['replay', 'helper', '--json'], envOf(namespace));
      const received = replay.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).event)
        .filter((e: { type: string }) => e.type === 'task.received');
      expect(received.map((e: { data: { input: string } }) => e.data.input)).toEqual([
        inputs[namespace as 'staging'],
      ]);
    }
    // Without a namespace, nothing is there.
    const plain = await runCli(['replay', 'helper', '--json'], { natsUrl: nats.url });
    expect(plain.stdout.trim()).toBe('');
  });

  it('names every stream and bucket with the namespace, and puts every subject under it', async () => {
    const nc = await natsConnect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const info of jsm.streams.list()) names.push(info.config.name);
      for (const ns of ['STAGING', 'PROD'])
        for (const stream of ['SPOOL_INBOX', 'SPOOL_HISTORY', 'SPOOL_RESULTS'])
          expect(names).toContain(`${stream}_${ns}`);
      expect(names).toContain('KV_spool_leases_staging');
      expect(names).toContain('KV_spool_snapshots_prod');
      // The un-namespaced replay above made the plain streams: nothing of either namespace is in them.
      for (const plain of names.filter((n) => /^SPOOL_[A-Z]+$/.test(n)))
        expect((await jsm.streams.info(plain)).state.messages, plain).toBe(0);
      const history = await jsm.streams.info('SPOOL_HISTORY_STAGING', { subjects_filter: '>' });
      expect(Object.keys(history.state.subjects ?? {})).toEqual(['staging.spool.history.helper']);
    } finally {
      await nc.close();
    }
  });
});
