import { type HistoryEvent, type TaskResult, taskIdOf } from '@spool/core';
import { submitTask } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { type CliProcess, startCli, writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';

const KEYS = 60;
const PER_KEY = 3;
const taskOf = (e: HistoryEvent) => taskIdOf(e) ?? '';
/** A W3C traceparent of its own for each task (`k12`, `t1` → trace id …0121). */
const traceparentOf = (key: string, taskId: string) =>
  `00-${`${key.slice(1)}${taskId.slice(1)}1`.padStart(32, '0')}-${'b'.repeat(16)}-01`;

describe('keyed agent - three host processes, one SIGKILLed mid-run', () => {
  let world: World;
  const procs: CliProcess[] = [];
  beforeAll(async () => {
    world = await startWorld({ latencyMs: 100 });
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => (p.child.exitCode === null ? p.kill('SIGKILL') : undefined)));
    await world?.close();
  });

  it('gives every task one result, journals it in its key’s history once, and adopts the dead host’s keys', async () => {
    const config = writeConfig({
      agents: {
        support: {
          instructions: 'Help the customer.',
          model: 'claude-sonnet-4-6',
          keyed: { maxActive: 500, idleMs: 60_000 },
          leaseTtlMs: 1500,
          // Short: what the victim held comes back soon, and a loaded machine's event-loop lag
          // redelivers held messages too. Deliveries spent on routing, on the dead host's
          // mailbox or while its keys' ownership is in doubt do not count toward the poison
          // limit (only attempts to journal a task do), so every task still completes.
          ackWaitMs: 3000,
        },
      },
    });
    const env = { natsUrl: world.nats.url, anthropicBaseUrl: world.fake.url };
    for (let i = 0; i < 3; i++) procs.push(startCli(['agent', 'support', '--config', config], env));
    // Three processes loading the CLI at once take a while on a loaded 2-core machine.
    await Promise.all(procs.map((p) => p.waitForLog('keyed agent host running', 90_000)));

    // Each task with a trace context of its own: whichever host pulls it (and forwards it to the
    // key's owner), the owner journals it with the task.
    for (let n = 0; n < PER_KEY; n++)
      for (let k = 0; k < KEYS; k++)
        await submitTask(
          world.connection,
          `support.k${k}`,
          { id: `t${n}`, input: `k${k} message ${n}` },
          { trace: { traceparent: traceparentOf(`k${k}`, `t${n}`) } },
        );

    const victim = procs[1] as CliProcess;
    await waitFor('the victim to run instances', () => victim.stderr.includes('task received'));
    await waitFor('some results', async () => (await world.probe.results('support')).length >= KEYS / 2);
    await victim.kill('SIGKILL');

    await waitFor(
      'every task to have a result',
      async () => (await world.probe.results('support')).length >= KEYS * PER_KEY,
      60_000,
      250,
    );
    const stored: TaskResult[] = await world.probe.results('support');
    expect(stored).toHaveLength(KEYS * PER_KEY);
    expect([...countBy(stored, (r) => `${r.key}/${r.taskId}`).values()].every((n) => n === 1)).toBe(true);
    // Named when one is not: its status and error say what went wrong.
    expect(stored.filter((r) => r.status !== 'completed' || r.agent !== 'support')).toEqual([]);

    // Each key's history has each task received once and each model step journaled once.
    const commits = await world.probe.keyedHistory('support');
    const events = commits.flatMap((c) => c.events.map((e) => ({ key: c.key, e })));
    const received = countBy(
      events.filter(({ e }) => e.type === 'task.received'),
      ({ key, e }) => `${key}/${taskOf(e)}`,
    );
    expect(received.size).toBe(KEYS * PER_KEY);
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    for (const { key, e } of events.filter(({ e }) => e.type === 'task.received'))
      expect((e.data as { trace?: { traceparent: string } }).trace?.traceparent).toBe(
        traceparentOf(key, taskOf(e)),
      );
    const replies = countBy(
      events.filter(({ e }) => e.type === 'model.responded'),
      ({ key, e }) => `${key}/${taskOf(e)}`,
    );
    expect([...replies.values()].every((n) => n === 1)).toBe(true);
    // Memory per key, whichever host ran each task: the last task saw the two before it.
    for (const r of stored.filter((x) => x.taskId === 't2'))
      expect(r.output).toBe(`fake reply to: ${r.key} message 2`);
    const third = world.fake.requests.filter((q) =>
      JSON.stringify((q.body as { messages: unknown }).messages).includes('k7 message 2'),
    );
    expect(JSON.stringify(third.at(-1)?.body)).toContain('k7 message 1');
    expect(
      procs.some((p) => p !== victim && p.stderr.includes('adopted the instances of hosts that died')),
    ).toBe(true);
  }, 180_000);
});
