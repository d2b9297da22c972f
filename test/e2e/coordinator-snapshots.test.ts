import { type NatsServer, startNats } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliEnv, runCli, startUp, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';

describe('coordinator snapshots - start-up from a snapshot and the tail, verified against the history', () => {
  let nats: NatsServer;
  let env: CliEnv;
  const config = writeConfig({
    agents: { helper: { instructions: 'Help.', model: 'claude-sonnet-4-6' } },
    workflows: {
      twice: {
        steps: {
          a: { agent: 'helper', input: '{{input}}' },
          b: { agent: 'helper', input: 'again: {{steps.a.output}}' },
        },
      },
    },
    coordinator: { snapshotEvery: 5 },
  });

  beforeAll(async () => {
    nats = await startNats();
    env = { natsUrl: nats.url };
  });
  afterAll(async () => nats?.close());

  it('takes snapshots as it runs, restarts from the newest after a SIGKILL, and --verify finds it equal to the history', async () => {
    const helperCounts = (stdout: string) =>
      JSON.parse(stdout).agents.find((a: { name: string }) => a.name === 'helper').counts;
    let before: unknown;
    const first = await startUp(config, env);
    try {
      for (const i of [1, 2, 3]) {
        const run = await runCli(
          ['run', 'twice', `hello ${i}`, '--id', `wf-snap-${i}`, '--wait', '--quiet', '--json'],
          env,
        );
        expect(run.code, run.stderr).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({ status: 'completed' });
      }
      await first.waitForLog('"msg":"snapshot saved"');
      await waitFor('the registry snapshot saved', () =>
        first.stderr
          .split('\n')
          .some(
            (l) => l.includes('"snapshot":"coordinator_registry"') && l.includes('"msg":"snapshot saved"'),
          ),
      );
      before = helperCounts((await runCli(['status', '--json'], env)).stdout);
    } finally {
      await first.kill('SIGKILL');
    }
    const verify = await runCli(['replay', 'coordinator', '--verify', '--json'], env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ agent: 'coordinator', ok: true, differences: [] });

    const second = await startUp(config, env);
    try {
      const replayed = second.stderr
        .split('\n')
        .filter((line) => line.includes('coordinator history replayed'))
        .map((line) => JSON.parse(line));
      expect(replayed.at(-1).fromSnapshot).toBeGreaterThan(0);
      // The status registry resumed after its snapshot, and reports what it did before the kill.
      await second.waitForLog('task registry rebuilt');
      const rebuilt = second.stderr
        .split('\n')
        .filter((line) => line.includes('task registry rebuilt'))
        .map((line) => JSON.parse(line));
      expect(rebuilt.at(-1).afterHistorySeq).toBeGreaterThan(0);
      const after = helperCounts((await runCli(['status', '--json'], env)).stdout);
      expect(after).toEqual(before);
      expect(after.completed).toBe(6);
      // A start of a run it knows is one run, and a new one runs.
      const again = await runCli(
        ['run', 'twice', 'hello 1', '--id', 'wf-snap-1', '--wait', '--quiet', '--json'],
        env,
      );
      expect(JSON.parse(again.stdout)).toMatchObject({ taskId: 'wf-snap-1', status: 'completed' });
      const fresh = await runCli(
        ['run', 'twice', 'hello 4', '--id', 'wf-snap-4', '--wait', '--quiet', '--json'],
        env,
      );
      expect(fresh.code, fresh.stderr).toBe(0);
    } finally {
      await second.kill('SIGKILL');
    }
  });
});
