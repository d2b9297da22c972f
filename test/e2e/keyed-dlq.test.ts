import { results, snapshotStore } from '@spool/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, runCli, startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

interface Entry {
  agent: string;
  key?: string;
  taskId: string;
  error: { code: string };
  attempts: number;
}

/** The operator's tools on keyed instances: the dead-letter view (list, retry, drop) and replay --verify. */
describe('keyed instances in the dead-letter view and replay --verify', () => {
  let world: World;
  let host: CliProcess;
  let coordinator: CliProcess;
  let env: { natsUrl: string; anthropicBaseUrl: string };

  beforeAll(async () => {
    world = await startWorld();
    env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    const config = writeConfig({
      agents: {
        // Passivated soon after its work: a retry must activate it again.
        desk: { instructions: 'Help.', model: 'claude-sonnet-4-6', keyed: { idleMs: 300 }, snapshotEvery: 2 },
      },
    });
    coordinator = startCli(['coordinator', '--config', config], env);
    host = startCli(['agent', 'desk', '--config', config], env);
    // A loaded machine may take long to start two processes.
    await host.waitForLog('keyed agent host running', 120_000);
    await coordinator.waitForLog('coordinator history replayed', 120_000);
  }, 250_000);
  afterEach((context) => printLogOnFailure(context, host));
  afterAll(async () => {
    await host?.kill('SIGTERM');
    await coordinator?.kill('SIGTERM');
    await world?.close();
  });

  const dlq = async (): Promise<Entry[]> => {
    const run = await runCli(['dlq', '--json'], env);
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(run.code).toBe(0);
    return (JSON.parse(run.stdout) as { entries: Entry[] }).entries;
  };
  const passivated = async (key: string) => {
    const status = await runCli(['status', '--json'], env);
    const keyed = (JSON.parse(status.stdout) as { keyed?: { name: string; instances: { active: number } }[] })
      .keyed;
    return keyed?.find((k) => k.name === 'desk')?.instances.active === 0 ? key : undefined;
  };

  it('lists a failed keyed task with its key; retry runs it again on the (passivated) instance; drop removes one', async () => {
    // A good task first, so the history has more than the failure (and a snapshot is taken).
    const ok = await runCli(['submit', 'desk/initech', 'hello', '--id', 'ok-1', '--wait'], env);
    expect(ok.code).toBe(0);
    world.fake.failNext(401);
    const failed = await runCli(['submit', 'desk/initech', 'refused at first', '--id', 'f-1', '--wait'], env);
    expect(failed.code).toBe(1);
    world.fake.failNext(404);
    const other = await runCli(['submit', 'desk/globex', 'to be dropped', '--id', 'f-1', '--wait'], env);
    expect(other.code).toBe(1);

    const listed = await dlq();
    expect(
      listed
        .map((e) => [e.agent, e.key, e.taskId, e.error.code, e.attempts])
        .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    ).toEqual([
      ['desk', 'globex', 'f-1', 'not_found', 1],
      ['desk', 'initech', 'f-1', 'authentication_failed', 1],
    ]);
    const text = await runCli(['dlq'], env);
    expect(text.stdout).toContain('desk/initech f-1  authentication_failed');
    expect(text.stdout).toContain('desk/globex f-1  not_found');

    // The same task id on two keys: the operator is asked which instance.
    const ambiguous = await runCli(['dlq', 'retry', 'f-1'], env);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('desk/globex, desk/initech');
    expect(ambiguous.stderr).toContain('--agent <agent>/<key>');

    await waitFor('both instances passivated', () => passivated('initech'));
    const retry = await runCli(['dlq', 'retry', 'f-1', '--agent', 'desk/initech', '--json'], env);
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.stdout)).toMatchObject({ agent: 'desk.initech', type: 'retry', taskId: 'f-1' });
    await waitFor(
      'the retried result',
      async () => (await results(world.connection).get('desk.initech', 'f-1'))?.status === 'completed',
    );
    expect((await dlq()).map((e) => [e.key, e.taskId])).toEqual([['globex', 'f-1']]);

    // Only one left with that id: found without --agent.
    const drop = await runCli(['dlq', 'drop', 'f-1'], env);
    expect(drop.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(drop.code).toBe(0);
    expect(drop.stdout).toContain('drop f-1 sent to desk.globex');
    await waitFor('an empty view', async () => (await dlq()).length === 0);
    const empty = await runCli(['dlq'], env);
    expect(empty.stdout).toContain('the dead-letter view is empty');
  }, 240_000);

  it('replay <agent>/<key> --verify rebuilds the instance from its history and compares it with its snapshot', async () => {
    await waitFor('a snapshot of desk.initech', async () =>
      (await snapshotStore(world.connection)).load('desk.initech'),
    );
    const verify = await runCli(['replay', 'desk/initech', '--verify', '--json'], env);
    expect(verify.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(verify.code).toBe(0);
    const verdict = JSON.parse(verify.stdout) as { ok: boolean; snapshotSeq: number; events: number };
    expect(verdict.ok).toBe(true);
    expect(verdict.snapshotSeq).toBeGreaterThan(0);
    expect(verdict.events).toBeGreaterThan(0);
    const text = await runCli(['replay', 'desk/initech', '--verify'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/snapshot of desk\/initech at sequence \d+ .* matches the history/);
    // An instance with no snapshot: nothing to verify, not an error.
    const none = await runCli(['replay', 'desk/nobody', '--verify'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('no snapshot of desk/nobody');
  }, 60_000);
});
