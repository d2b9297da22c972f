/**
 * Replicated streams on a real 3-node JetStream cluster (three nats-server processes with
 * routes on loopback, each with its own data directory). Spool processes (`spool coordinator`,
 * `spool agent writer`, `spool agent worker`) are given all three URLs and replicas 3 (the
 * config's nats.replicas; SPOOL_REPLICAS for the worker). While 300 tasks and a workflow run,
 * the node leading SPOOL_HISTORY is SIGKILLed, restarted, and then the next leader is killed:
 * every task must have exactly one result, no model call may be made twice, and the workflow
 * must complete. Then a follower's store is wiped (disk loss): restarted, it gets its replica
 * back from the other two.
 *
 * Environment: CLUSTER_TASKS (default 300), CLUSTER_VERBOSE=1 (prints the processes' warnings).
 */
import { rmSync } from 'node:fs';
import type { HistoryEvent } from '@spool/core';
import { Streams, taskIdOf } from '@spool/core';
import { belowProductionMinimum, MIN_PRODUCTION_SERVER, submitTask, submitWorkflow } from '@spool/jetstream';
import { lastUserText, type MessagesBody } from '@spool/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { auditCalls } from '../chaos/call-audit.ts';
import { AgentFleet, logLines } from '../chaos/fleet.ts';
import { envInt } from '../chaos/prng.ts';
import { countBy } from '../support/broker.ts';
import { writeConfig } from '../support/cli.ts';
import {
  type ClusterWorld,
  killLeader,
  leaderOf,
  replicasCurrent,
  startClusterWorld,
  storedOn,
} from '../support/cluster.ts';
import { waitFor } from '../support/wait-for.ts';

const TASKS = envInt('CLUSTER_TASKS', 300, 10);
const CONCURRENCY = 16;
const LATENCY_MS = 400;
const ITEMS = 8;
const RUN = 'fan-cluster';

const itemsOf = (count: number) => Array.from({ length: count }, (_, k) => `item-${k}`);

/** The fake model: the workflow's plan, work and sum steps, and an echo for the plain tasks. */
function responder(body: MessagesBody): string {
  const text = lastUserText(body);
  const plan = /^PLAN items=(\d+)$/.exec(text);
  if (plan !== null) return `The items:\n${JSON.stringify(itemsOf(Number(plan[1])))}`;
  if (text.startsWith('WORK ')) return `done ${text.slice('WORK '.length)}`;
  if (text.startsWith('SUM ')) return `total: ${text.slice('SUM '.length)}`;
  return `fake reply to: ${text}`;
}

describe('cluster - replicas 3 on 3 nats-servers, the SPOOL_HISTORY leader SIGKILLed twice', () => {
  let world: ClusterWorld | undefined;
  let fleet: AgentFleet | undefined;
  afterAll(async () => {
    await fleet?.killAll();
    await world?.close();
  });

  it('finishes every task once, repeats no model call and completes the workflow', {
    timeout: 180_000,
  }, async ({ onTestFailed }) => {
    const t0 = Date.now();
    const timeline: string[] = [];
    const note = (what: string) => timeline.push(`+${Date.now() - t0}ms ${what}`);
    // The test's own connection provisions nothing: the Spool processes create the streams.
    world = await startClusterWorld({ latencyMs: LATENCY_MS, responder, replicas: false });
    const w = world;
    note(`cluster up: ${w.cluster.url}`);
    const agent = { instructions: 'Work.', model: 'claude-sonnet-4-6' };
    const config = writeConfig({
      nats: { replicas: 3 },
      agents: {
        worker: { ...agent, concurrency: CONCURRENCY, snapshotEvery: 200 },
        writer: { ...agent, concurrency: 2 },
      },
      workflows: {
        fan: {
          steps: {
            plan: { agent: 'writer', input: 'PLAN {{input}}' },
            work: { agent: 'worker', map: 'plan', input: 'WORK {{item}}' },
            sum: { agent: 'writer', input: 'SUM {{steps.work.output}}' },
          },
        },
      },
    });
    const env = { natsUrl: w.cluster.url, anthropicBaseUrl: w.fake.url };
    const f = new AgentFleet([], env, t0);
    fleet = f;
    // Every warning of every process, in time order: a rare failure must say what happened.
    const warnings = () =>
      f
        .allLines()
        .filter((l) => Number(l.line.level) >= 40)
        .sort((a, b) => a.line.time - b.line.time)
        .map((l) => `+${l.line.time - t0}ms ${l.label} ${l.line.msg} ${String(l.line.err ?? '')}`)
        .join('\n');
    onTestFailed(() =>
      console.log(
        `cluster: FAILED; timeline:\n${timeline.join('\n')}\nwarnings:\n${warnings()}\n${f.describe(25)}`,
      ),
    );

    const coordinator = f.start('coordinator', ['coordinator', '--config', config]);
    await f.waitForLine(
      coordinator,
      '"coordinator history replayed"',
      (l) => l.msg.startsWith('coordinator history replayed'),
      60_000,
    );
    const writer = f.start('writer', ['agent', 'writer', '--config', config]);
    // The worker is told by the environment (SPOOL_REPLICAS wins over the config).
    const worker = f.start('worker', ['agent', 'worker', '--config', config], {
      ...env,
      extraEnv: { SPOOL_REPLICAS: '3' },
    });
    await Promise.all(
      [writer, worker].map((m) =>
        f.waitForLine(m, '"history replayed"', (l) => l.msg.startsWith('history replayed'), 60_000),
      ),
    );
    note('coordinator, writer and worker ready');

    // Every stream and bucket Spool created has three replicas, one per node.
    for (const stream of [
      Streams.Inbox,
      Streams.History,
      Streams.Results,
      'KV_spool_leases',
      'KV_spool_claims',
      'KV_spool_snapshots',
      'KV_spool_spend',
      'KV_spool_rates',
    ]) {
      const info = await w.probe.streamInfo(stream);
      expect({
        stream,
        replicas: info.config.num_replicas,
        peers: (info.cluster?.replicas?.length ?? 0) + 1,
      }).toEqual({
        stream,
        replicas: 3,
        peers: 3,
      });
    }

    const results = () => w.probe.results('worker');
    const messagesRequests = () => w.fake.requests.filter((r) => r.path === '/v1/messages');
    // Tasks go in with a backlog of at most 3 x concurrency ahead of the model calls, so the
    // work (and the workflow's, queued behind it) lasts the whole run.
    const ids = Array.from({ length: TASKS }, (_, i) => `job-${i}`);
    let submitRetries = 0;
    const submitting = (async () => {
      for (const [n, id] of ids.entries()) {
        if (n === Math.floor(TASKS / 10))
          await submitWorkflow(w.connection, { id: RUN, workflow: 'fan', input: `items=${ITEMS}` });
        await waitFor(
          'room in the backlog',
          () => n - messagesRequests().length < 3 * CONCURRENCY,
          120_000,
          20,
        );
        for (;;) {
          try {
            await submitTask(w.connection, 'worker', { id, input: `job number ${n}` });
            break;
          } catch (err) {
            submitRetries += 1;
            if (Date.now() - t0 > 150_000) throw err;
          }
        }
      }
      note('all tasks submitted');
    })();
    submitting.catch(() => undefined);

    // Kill 1: the node leading SPOOL_HISTORY, once a fifth of the tasks are done; then it comes back.
    const stalls: number[] = [];
    const elections: number[] = [];
    const killed: string[] = [];
    await waitFor(
      'a fifth of the tasks done',
      async () => (await results()).length >= TASKS / 5,
      120_000,
      100,
    );
    const first = await killLeader(w.probe, w.cluster, Streams.History);
    stalls.push(first.stallMs);
    elections.push(first.electedMs);
    killed.push(first.node.name);
    note(`killed ${first.node.name} (SPOOL_HISTORY leader); history stored again ${first.stallMs} ms later`);
    await first.node.restart();
    await w.cluster.healthy(60_000);
    await replicasCurrent(w.probe, Streams.History, 60_000);
    note(`${first.node.name} back and current`);

    // Kill 2: the next leader, before the work is done; it comes back too.
    const doneAtSecondKill = (await results()).length;
    expect(doneAtSecondKill, 'the run ended before the second kill: raise CLUSTER_TASKS').toBeLessThan(TASKS);
    const second = await killLeader(w.probe, w.cluster, Streams.History);
    stalls.push(second.stallMs);
    elections.push(second.electedMs);
    killed.push(second.node.name);
    note(
      `killed ${second.node.name} (the next leader) with ${doneAtSecondKill} tasks done; stored again ${second.stallMs} ms later`,
    );
    await second.node.restart();

    await submitting;
    await waitFor(
      'every task to have a result',
      async () => (await results()).length >= TASKS + ITEMS,
      120_000,
      250,
    );
    const outcome = await waitFor(
      'the workflow result',
      async () => (await w.probe.results('coordinator')).find((r) => r.taskId === RUN),
      60_000,
      250,
    );
    note('all results in');
    await w.cluster.healthy(60_000);
    const leaderAtEnd = (await leaderOf(w.probe, w.cluster, Streams.History)).name;

    // No process died, none gave up its name (a lease lost during a stall would show here).
    expect(f.unexpectedExits).toEqual([]);
    const lines = f.allLines();
    expect(lines.filter((l) => l.line.msg.includes('stepping back'))).toEqual([]);
    // Each process warned once about the server's version (when it is older than the production
    // minimum), however many times it reconnected.
    const old = belowProductionMinimum(w.probe.nc.info?.version ?? '');
    for (const m of f.members)
      expect({
        process: m.label,
        warnings: logLines(m.proc).filter((l) => l.msg.includes(`older than ${MIN_PRODUCTION_SERVER}`))
          .length,
      }).toEqual({ process: m.label, warnings: old ? 1 : 0 });
    // Every process found the streams as it asked (3 replicas): nothing to report.
    expect(lines.filter((l) => l.line.msg.includes('asked for (nats.replicas'))).toEqual([]);

    // The workflow completed with every item.
    expect(outcome.status).toBe('completed');
    expect(outcome.output).toBe(`total: ${JSON.stringify(itemsOf(ITEMS).map((item) => `done ${item}`))}`);

    // Exactly one result per task, each with its own reply.
    const stored = (await results()).filter((r) => r.taskId.startsWith('job-'));
    const perTask = countBy(stored, (r) => r.taskId);
    expect([...perTask.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...perTask.keys()].sort()).toEqual([...ids].sort());
    expect(stored.filter((r) => r.status !== 'completed')).toEqual([]);
    expect(
      stored.filter((r) => r.output !== `fake reply to: job number ${r.taskId.slice('job-'.length)}`),
    ).toEqual([]);

    // Each decision once in the worker's history.
    const history = await w.probe.history('worker');
    const events: HistoryEvent[] = history.flatMap((c) => c.events);
    expect([...countBy(events, (e) => e.id).entries()].filter(([, n]) => n !== 1)).toEqual([]);
    for (const type of ['task.received', 'task.completed', 'result.published'] as const) {
      const per = countBy(
        events.filter((e) => e.type === type).map((e) => String(taskIdOf(e))),
        (id) => id,
      );
      expect({ type, size: per.size, wrong: [...per.entries()].filter(([, n]) => n !== 1) }).toEqual({
        type,
        size: TASKS + ITEMS,
        wrong: [],
      });
    }

    // No model call was made twice: no process died, so not even one in flight at a kill.
    const taskOfInput = new Map<string, string>();
    const journaledAt = new Map<string, number>();
    for (const agentName of ['worker', 'writer']) {
      for (const commit of await w.probe.history(agentName)) {
        for (const event of commit.events) {
          if (event.type === 'task.received')
            taskOfInput.set(event.data.input, `${agentName}:${event.data.taskId}`);
          if (event.type === 'model.responded' && !journaledAt.has(`${agentName}:${event.data.taskId}`))
            journaledAt.set(`${agentName}:${event.data.taskId}`, commit.time);
        }
      }
    }
    const requests = messagesRequests();
    const audit = auditCalls({
      requests,
      taskOfInput,
      journaledAt,
      faults: [],
      rel: (at) => `+${at - t0}ms`,
    });
    expect(audit.unmapped).toEqual([]);
    expect(audit.afterJournal).toEqual([]);
    if (audit.unexplained.length > 0) {
      // What the worker logged about the first repeated task: why it asked again.
      const taskId = audit.unexplained[0]?.split(':')[1] ?? '';
      const about = lines.filter((l) => l.line.taskId === taskId);
      console.log(
        `cluster: ${taskId} asked twice; its log:\n${about.map((l) => `+${l.line.time - t0}ms ${l.label} ${JSON.stringify(l.line)}`).join('\n')}`,
      );
    }
    expect(audit.unexplained).toEqual([]);
    expect(audit.repeatedCalls).toBe(0);

    // Disk loss on one node: a follower's store is wiped; restarted under its name, it gets its
    // replica of every history back from the other two.
    const info = await w.probe.streamInfo(Streams.History);
    const follower = w.cluster.node(info.cluster?.replicas?.[0]?.name ?? '');
    await follower.kill();
    rmSync(follower.storeDir, { recursive: true, force: true });
    await follower.restart();
    await w.cluster.healthy(60_000);
    await waitFor(
      `${follower.name} to hold every history message again after its store was wiped`,
      async () => (await storedOn(follower, Streams.History)) === info.state.messages,
      60_000,
      200,
    );
    note(`${follower.name} wiped and rebuilt (${info.state.messages} history messages)`);

    const reconnects = lines.filter((l) => l.line.msg === 'NATS connection is back').length;
    if (process.env.CLUSTER_VERBOSE)
      console.log(`cluster: timeline\n${timeline.join('\n')}\ncluster: warnings\n${warnings()}`);
    console.log(
      `cluster: tasks=${TASKS} workflowItems=${ITEMS} concurrency=${CONCURRENCY} latency=${LATENCY_MS}ms killed=${killed.join(',')} (SPOOL_HISTORY leaders; ${leaderAtEnd} leads at the end) electedMs=${elections.join('/')} stallMs=${stalls.join('/')} requests=${requests.length} repeatedCalls=${audit.repeatedCalls} reconnects=${reconnects} submitRetries=${submitRetries} duration=${((Date.now() - t0) / 1000).toFixed(1)}s`,
    );
  });
});
