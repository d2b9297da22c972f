import type { StatusReport } from '@spool/core';
import { results, submitTask } from '@spool/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, printLogOnFailure, runCli, startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

/**
 * `spool status` for a keyed agent, through real processes (a coordinator and keyed hosts):
 * instances active (owned by a live host), passivated (with a history, not active) and known
 * (keys with a history), and the hosts alive.
 */
describe('spool status of a keyed agent', () => {
  let world: World;
  let env: { natsUrl: string; anthropicBaseUrl: string };
  let config: string;
  const procs: CliProcess[] = [];
  beforeAll(async () => {
    world = await startWorld();
    env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    config = writeConfig({
      agents: {
        support: {
          instructions: 'Help the customer.',
          model: 'claude-sonnet-4-6',
          // Two in memory per process: the third key passivates the least recently used one.
          keyed: { maxActive: 2, idleMs: 600_000 },
          leaseTtlMs: 1500,
        },
        helper: { instructions: 'Help.', model: 'claude-sonnet-4-6' },
      },
    });
    procs.push(startCli(['coordinator', '--config', config], env));
    procs.push(startCli(['agent', 'support', '--config', config], env));
    await Promise.all([
      procs[0]?.waitForLog('coordinator answering status requests'),
      procs[1]?.waitForLog('keyed agent host running'),
    ]);
  });
  afterEach((context) => printLogOnFailure(context, procs[1]));
  afterAll(async () => {
    await Promise.all(procs.map((p) => (p.child.exitCode === null ? p.kill('SIGKILL') : undefined)));
    await world?.close();
  });

  const status = async (): Promise<StatusReport> => {
    const run = await runCli(['status', '--json'], env);
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as StatusReport;
  };
  const support = (report: StatusReport) => report.keyed?.find((k) => k.name === 'support');

  it('shows instances active, passivated and known, and the hosts alive', async () => {
    const before = support(await status());
    expect(before).toMatchObject({
      status: 'idle',
      hosts: { alive: 1, expired: 0 },
      instances: { active: 0, passivated: 0, known: 0 },
    });

    const sink = results(world.connection);
    for (const key of ['acme', 'globex', 'initech']) {
      await submitTask(world.connection, `support.${key}`, { id: 't1', input: `${key} asks` });
      await sink.wait(`support.${key}`, 't1', AbortSignal.timeout(20_000));
    }
    const report = await status();
    // The keyed agent is reported by its instances, not as an agent of its own.
    expect(report.agents.map((a) => a.name)).toEqual(['helper']);
    expect(support(report)).toMatchObject({
      hosts: { alive: 1, expired: 0 },
      instances: { active: 2, passivated: 1, known: 3, orphaned: 0, waiting: 0 },
      queued: 0,
      results: { published: 3 },
    });
    expect(support(report)?.hosts.names).toHaveLength(1);

    const text = await runCli(['status'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/1 agent\(s\) · 1 keyed agent\(s\)/);
    expect(text.stdout).toMatch(
      /support \(keyed\)\s+working\s+1 host\(s\) alive \(h[0-9a-f]+\); instances 2 active, 1 passivated, 3 known; shared inbox 0 queued, 0 unacked; 3 results published/,
    );

    // A second host: two alive. Then one SIGKILLed: its lease expires, the other adopts its keys.
    procs.push(startCli(['agent', 'support', '--config', config], env));
    await procs[2]?.waitForLog('keyed agent host running');
    expect(support(await status())?.hosts.alive).toBe(2);
    await procs[1]?.kill('SIGKILL');
    await waitFor(
      'the survivor to adopt the dead host’s instances',
      async () => {
        const k = support(await status());
        return k?.hosts.alive === 1 && k.instances.active === 2 && k.instances.orphaned === 0;
      },
      30_000,
      500,
    );
    expect(support(await status())?.instances).toMatchObject({ active: 2, passivated: 1, known: 3 });
  }, 120_000);
});
