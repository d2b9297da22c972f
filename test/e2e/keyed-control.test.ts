import { join, resolve } from 'node:path';
import type { TaskResult } from '@spool/core';
import { results } from '@spool/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, runCli, startCli } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

const CONFIG = join(resolve(import.meta.dirname), 'keyed-fixture', 'spool.config.ts');

/**
 * An instance's tasks controlled through the CLI (`--agent <agent>/<key>`), against real host
 * processes: approve, deny and cancel reach that instance only (passivated while it waits, it
 * is activated by the command); and a host SIGKILLed mid-task, restarted as the only host,
 * adopts its predecessor's keys and finishes their tasks, each model step journaled once.
 */
describe('keyed agent: approve, deny, cancel through the CLI; a lone host killed and restarted', () => {
  let world: World;
  let env: { natsUrl: string; anthropicBaseUrl: string };
  let host: CliProcess | undefined;
  beforeAll(async () => {
    world = await startWorld();
    env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
  });
  afterEach(async (context) => {
    printLogOnFailure(context, host);
    if (host?.child.exitCode === null) await host.kill('SIGKILL');
    host = undefined;
  });
  afterAll(async () => world?.close());

  const startHost = async () => {
    host = startCli(['agent', 'support', '--config', CONFIG], env);
    await host.waitForLog('keyed agent host running');
    return host;
  };
  const events = async (key: string) =>
    (await world.probe.keyedHistory('support')).filter((c) => c.key === key).flatMap((c) => c.events);
  const waitingForApproval = (key: string, taskId: string) =>
    waitFor(`${key}/${taskId} to wait for an approval`, async () =>
      (await events(key)).some(
        (e) => e.type === 'approval.requested' && (e.data as { taskId?: string }).taskId === taskId,
      ),
    );
  const refundCall = (id: string) => ({
    content: [{ type: 'tool_use' as const, id, name: 'refund', input: { amount: 5 } }],
  });
  const result = (key: string, taskId: string): Promise<TaskResult> =>
    results(world.connection).wait(`support.${key}`, taskId, AbortSignal.timeout(30_000));
  const cli = async (args: string[]) => {
    const run = await runCli(args, env);
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(run.code, run.stderr).toBe(0);
    return run;
  };

  it('approves, denies and cancels an instance’s waiting tasks with --agent <agent>/<key>', async () => {
    await startHost();
    world.fake.script(refundCall('tu-a'), refundCall('tu-g'), refundCall('tu-i'));
    await cli(['submit', 'support/acme', 'refund me', '--id', 'r1']);
    await waitingForApproval('acme', 'r1');
    await cli(['submit', 'support/globex', 'refund me too', '--id', 'r1']);
    await waitingForApproval('globex', 'r1');
    await cli(['submit', 'support/initech', 'refund us', '--id', 'r1']);
    await waitingForApproval('initech', 'r1');
    // Same task id on three instances: each command reaches its own only. Past idleMs each
    // waiting instance is passivated: the command activates it again.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    await cli(['approve', 'r1', '--agent', 'support/acme']);
    expect(await result('acme', 'r1')).toMatchObject({ status: 'completed', key: 'acme', tools: ['refund'] });
    expect(JSON.stringify(world.fake.requests.at(-1)?.body)).toContain('refunded 5 to acme');

    await cli(['deny', 'r1', '--agent', 'support/globex', '--reason', 'over the limit']);
    expect(await result('globex', 'r1')).toMatchObject({ status: 'completed', key: 'globex' });
    expect(JSON.stringify(world.fake.requests.at(-1)?.body)).toContain('over the limit');

    await cli(['cancel', 'r1', '--agent', 'support/initech', '--reason', 'customer withdrew']);
    expect(await result('initech', 'r1')).toMatchObject({ status: 'cancelled', key: 'initech' });

    // The refund ran for acme only.
    const ran = (await world.probe.keyedHistory('support')).flatMap((c) =>
      c.events.filter((e) => e.type === 'tool.completed').map(() => c.key),
    );
    expect(ran.filter((k) => k === 'acme')).toHaveLength(1);
    expect(JSON.stringify(await events('globex'))).not.toContain('refunded');
  }, 90_000);

  it('a lone host SIGKILLed mid-task and restarted adopts its predecessor’s keys and finishes their tasks', async () => {
    world.fake.setLatency(400);
    try {
      const first = await startHost();
      const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
      for (const key of keys) await cli(['submit', `support/${key}`, `${key} asks`, '--id', 'm1']);
      await waitFor('model calls in flight', () => first.stderr.includes('calling the model'));
      await first.kill('SIGKILL');
      const second = await startHost();
      const done = await Promise.all(keys.map((key) => result(key, 'm1')));
      expect(done.map((r) => [r.key, r.status, r.output])).toEqual(
        keys.map((key) => [key, 'completed', `fake reply to: ${key} asks`]),
      );
      expect(second.stderr).toContain('adopted the instances of hosts that died');
      for (const key of keys) {
        const history = await events(key);
        expect(history.filter((e) => e.type === 'task.received')).toHaveLength(1);
        expect(history.filter((e) => e.type === 'model.responded')).toHaveLength(1);
        expect(history.filter((e) => e.type === 'result.published')).toHaveLength(1);
      }
    } finally {
      world.fake.setLatency(0);
    }
  }, 90_000);
});
