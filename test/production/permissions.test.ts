import { resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { type HistoryEvent, TaskResultSchema } from '@spool/core';
import {
  connect,
  defaultInboxPrefix,
  historyStore,
  keyedInstances,
  leases,
  openInbox,
  type SpoolConnection,
} from '@spool/jetstream';
import type { NatsServer } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliEnv, type CliProcess, runCli, startCli } from '../support/cli.ts';
import { startSecuredNats, type User } from '../support/secured-nats.ts';
import { waitFor } from '../support/wait-for.ts';

const CONFIG = resolve(import.meta.dirname, 'fixtures/spool.config.ts');
const AGENTS = ['planner', 'scout', 'scribe', 'analyst'] as const;

/** `spool permissions …` as a user would run it, parsed: the very JSON the server gets. */
async function permissions(...args: string[]): Promise<unknown> {
  const run = await runCli(['permissions', ...args, '--config', CONFIG], { natsUrl: 'nats://127.0.0.1:1' });
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe('permissions - every role works with exactly what spool permissions grants it, and nothing more', () => {
  let nats: NatsServer;
  const processes: CliProcess[] = [];
  const as = (user: string): CliEnv => ({
    natsUrl: nats.url,
    extraEnv: { NATS_USER: user, NATS_PASSWORD: `${user}-secret` },
  });

  beforeAll(async () => {
    const users: User[] = [];
    const add = async (user: string, ...args: string[]) =>
      users.push({ user, password: `${user}-secret`, permissions: await permissions(...args) });
    for (const role of ['admin', 'coordinator', 'client', 'operator']) await add(role, role);
    for (const agent of AGENTS) await add(`agent-${agent}`, 'agent', agent);
    nats = await startSecuredNats(users);

    const provision = await runCli(['provision', '--config', CONFIG], as('admin'));
    expect(provision.code, provision.stderr).toBe(0);
    const coordinator = startCli(['coordinator', '--config', CONFIG], as('coordinator'));
    processes.push(coordinator);
    for (const agent of AGENTS)
      processes.push(startCli(['agent', agent, '--config', CONFIG], as(`agent-${agent}`)));
    // Several processes start at once: on a loaded 2-core machine one may take a minute or more.
    await coordinator.waitForLog('coordinator history replayed', 120_000);
    for (const p of processes.slice(1)) await p.waitForLog('history replayed', 120_000);
  }, 400_000);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await nats?.close();
  });

  it('runs tools, delegation, a pool, a subscription and a workflow end to end', async () => {
    const planned = await runCli(
      ['submit', 'planner', 'A brief on heat pumps', '--wait', '--json'],
      as('client'),
    );
    expect(planned.code, planned.stderr + processes.map((p) => p.stderr.slice(-3000)).join('\n')).toBe(0);
    expect(TaskResultSchema.parse(JSON.parse(planned.stdout))).toMatchObject({
      status: 'completed',
      tools: ['delegate', 'delegate'],
    });

    // Followed: the client answers the agent's "anyone watching?" probe, and the text streams.
    const mean = await runCli(
      ['submit', 'analyst', 'What is the mean of [1, 2, 3]?', '--wait', '--follow', '--json'],
      as('client'),
    );
    expect(mean.code, mean.stderr).toBe(0);
    const lines = mean.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type?: string });
    expect(lines.filter((line) => line.type === 'text').length).toBeGreaterThan(0);
    expect(mean.stderr).not.toMatch(/permission/i);
    expect(TaskResultSchema.parse(lines.at(-1))).toMatchObject({
      status: 'completed',
      tools: ['mean'],
    });

    const run = await runCli(['run', 'brief', 'heat pumps', '--wait', '--quiet', '--json'], as('client'));
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'completed' });

    const status = await runCli(['status', '--json'], as('operator'));
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as {
      agents: { name: string; counts: { completed: number } }[];
      spend: { agent: string; dailyCostUsd?: number }[];
      rateLimits: { source: string }[];
    };
    const agents = report.agents;
    // Spend and rate limits come from the shared buckets, read under the coordinator's permissions.
    expect(report.spend.find((row) => row.agent === 'scout')).toMatchObject({ dailyCostUsd: 5 });
    expect(report.rateLimits.map((limit) => limit.source)).toEqual(['limits.default']);
    // The analyst also ran one task for each of the scribe's results (its subscription).
    expect(agents.find((a) => a.name === 'analyst')?.counts.completed).toBeGreaterThanOrEqual(2);

    for (const command of ['pause', 'resume']) {
      const sent = await runCli([command, 'analyst'], as('operator'));
      expect(sent.code, sent.stderr).toBe(0);
    }
    const replay = await runCli(['replay', 'analyst', '--verify'], as('operator'));
    expect(replay.code, replay.stderr).toBe(0);
    // The dead-letter view reads keyed instances' latest results itself (a consumer on SPOOL_RESULTS).
    const dlq = await runCli(['dlq', '--json'], as('operator'));
    expect(dlq.code, dlq.stderr).toBe(0);
    // The console (operator) reads a task's commits one by one, by sequence.
    const operator = await connect({
      url: nats.url,
      name: 'console',
      credentials: { user: 'operator', password: 'operator-secret' },
      inboxPrefix: defaultInboxPrefix('operator'),
    });
    try {
      const histories = historyStore(operator);
      const last = await histories.lastSeq('analyst');
      expect((await histories.commitAt('analyst', last))?.seq).toBe(last);
      // A keyed agent's instances, as the console lists them (none here: the reads are allowed).
      expect((await keyedInstances(operator, 'analyst')).instances).toEqual([]);
    } finally {
      await operator.close();
    }
    // Snapshots (agents', the coordinator's workflows and registry) were saved, never refused.
    const coordinator = processes[0] as CliProcess;
    await waitFor('the registry snapshot saved', () =>
      coordinator.stderr
        .split('\n')
        .some((l) => l.includes('"snapshot":"coordinator_registry"') && l.includes('"msg":"snapshot saved"')),
    );
    for (const p of processes) expect(p.stderr).not.toMatch(/snapshot not saved|may not publish/);
  });

  describe('refuses, and Spool says so', () => {
    let analyst: SpoolConnection;
    beforeAll(async () => {
      analyst = await connect({
        url: nats.url,
        name: 'intruder',
        credentials: { user: 'agent-analyst', password: 'agent-analyst-secret' },
        inboxPrefix: defaultInboxPrefix('agent', 'analyst'),
      });
    });
    afterAll(async () => analyst?.close());

    it("agent A appending to agent B's history", async () => {
      const event = {
        id: 'planner:control:999',
        type: 'agent.paused',
        v: 1,
        data: { reason: 'not mine', controlSeq: 999, at: new Date().toISOString() },
      } as unknown as HistoryEvent;
      await expect(historyStore(analyst).append('planner', [event], 0)).rejects.toThrow(
        /may not publish to spool\.history\.planner/,
      );
    });

    it("agent A pulling agent B's inbox", async () => {
      await expect(openInbox(analyst, 'planner')).rejects.toThrow(/permission/i);
    });

    it("agent A writing agent B's lease", async () => {
      const table = await leases(analyst);
      await expect(
        table.acquire('planner', 'intruder', { ttlMs: 5_000, signal: AbortSignal.timeout(10_000) }),
      ).rejects.toThrow(/permission/i);
    });

    it('a client writing a control subject', async () => {
      const pause = await runCli(['pause', 'analyst'], {
        ...as('client'),
        extraEnv: { ...as('client').extraEnv, SPOOL_INBOX_PREFIX: defaultInboxPrefix('client') },
      });
      expect(pause.code).toBe(1);
      expect(pause.stderr).toMatch(/may not publish to spool\.control\.analyst/);
    });

    it('any role but admin deleting a stream or purging a history', async () => {
      for (const user of ['operator', 'coordinator', 'agent-analyst', 'client']) {
        const nc = await natsConnect({
          servers: nats.url,
          user,
          pass: `${user}-secret`,
          inboxPrefix: user.startsWith('agent-')
            ? defaultInboxPrefix('agent', 'analyst')
            : defaultInboxPrefix(user as 'client'),
        });
        try {
          const jsm = await jetstreamManager(nc, { timeout: 2_000 });
          await expect(jsm.streams.purge('SPOOL_HISTORY'), `${user} purge`).rejects.toThrow();
          await expect(jsm.streams.delete('SPOOL_RESULTS'), `${user} delete`).rejects.toThrow();
        } finally {
          await nc.close();
        }
      }
      const admin = await natsConnect({
        servers: nats.url,
        user: 'admin',
        pass: 'admin-secret',
        inboxPrefix: '_INBOX_admin',
      });
      try {
        const jsm = await jetstreamManager(admin);
        expect((await jsm.streams.info('SPOOL_HISTORY')).state.messages).toBeGreaterThan(0);
      } finally {
        await admin.close();
      }
    });
  });
});
