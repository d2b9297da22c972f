/**
 * The workflow chaos test: multi-agent work under faults, with real processes. A `spool
 * coordinator`, a pool `worker` (replicas 3) run as three `spool agent worker-<k>` processes and
 * a `writer` agent process, on a real nats-server and the fake Messages API (with latency, so
 * that work is in flight). RUNS runs of the workflow `fan` (plan on the writer → a map over its
 * items on the pool → sum on the writer) are started while, at seeded moments, the coordinator
 * is SIGKILLed and restarted twice, one worker replica process is SIGKILLed (and restarted a
 * little later) twice, and the nats-server is SIGKILLed and restarted once. At the end every
 * run must have completed with every item, every step task must have been dispatched once,
 * journaled by one agent or replica once and have one result, every run's result must be
 * published once, and the model calls repeated must be explained by a fault.
 *
 * Environment:
 *   CHAOS_SEED   replays a run: the seed is printed on the first line of every run
 *   CHAOS_RUNS   workflow runs to start (default 6)
 *   CHAOS_TIMEOUT_MS  the test's timeout (default 120000)
 *   CHAOS_RESULT_LAG_MS  the longest a step task's result may wait to be journaled by the
 *                coordinator (default 12000)
 *   CHAOS_VERBOSE=1  also prints the fault timeline and the processes' warnings and lease lines
 *   CHAOS_DUMP=<dir> writes each process's stderr (its JSON log) to <dir>/<label>.log at the end
 * e.g. CHAOS_SEED=123 CHAOS_RUNS=20 pnpm exec vitest run test/chaos/workflow-chaos.test.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COORDINATOR, type HistoryEvent, type StoredCommit, type TaskResult } from '@spool/core';
import { historyStore, submitWorkflow, taskOwner } from '@spool/jetstream';
import { lastUserText, type MessagesBody, type RecordedRequest } from '@spool/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { writeConfig } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';
import { auditCalls } from './call-audit.ts';
import { AgentFleet, type Member } from './fleet.ts';
import { chaosSeed, envInt, Rng } from './prng.ts';

const RUNS = envInt('CHAOS_RUNS', 6, 1);
const TIMEOUT_MS = envInt('CHAOS_TIMEOUT_MS', 120_000, 10_000);
/**
 * The longest a step task's result may wait, from its publication, to be journaled by the
 * coordinator. A coordinator kill costs a lease ttl, a process start and a replay; after a broker
 * restart the coordinator's results watch can be several seconds late (seen: 5-8 s).
 */
const RESULT_LAG_MS = envInt('CHAOS_RESULT_LAG_MS', 12_000, 1_000);
const SEED = chaosSeed();
const LEASE_TTL_MS = 1_000;
const ACK_WAIT_MS = 2_000;
const REPLICAS = ['worker-1', 'worker-2', 'worker-3'] as const;
const WRITER_CONCURRENCY = 2;
/** A request sent just before a SIGKILL can be stamped by the fake a little after the kill. */
const KILL_SLACK_MS = 1_000;
/**
 * A broker outage longer than the lease ttl lets every lease look expired once JetStream is back:
 * a sibling may adopt a live replica before it renews (seen up to ~1.2 s after the restart),
 * and that replica's calls in flight are made again by the adopter. The outage explains repeats
 * this long after the restart.
 */
const NATS_SLACK_MS = 3_000;

type FaultKind = 'coordinator' | 'worker' | 'nats';

interface PlannedFault {
  readonly kind: FaultKind;
  /** When, in ms after the first run's start: the faults are spread over the time runs are started. */
  readonly atMs: number;
  /** Delay after a call is seen in flight, so that the fault lands anywhere in a call's life. */
  readonly jitterMs: number;
  /** The replica to kill (worker), if it is up then. */
  readonly replica: number;
  /** How long until the killed replica's process is started again (worker). */
  readonly restartAfterMs: number;
  /** How long the broker stays down (nats). */
  readonly downMs: number;
}

/** A fault as it happened: [from, to] in Date.now() ms, and the repeated model calls it explains. */
interface Fault {
  readonly kind: FaultKind;
  readonly label: string;
  readonly from: number;
  readonly to: number;
  /** The most calls this fault can have interrupted. */
  readonly bound: number;
  repeats: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A run's items: `<runId>/<k>`; the plan step's input names the run and how many items it has. */
const itemsOf = (runId: string, count: number) => Array.from({ length: count }, (_, k) => `${runId}/${k}`);

/** The fake model, keyed on the task input. */
function responder(body: MessagesBody): string {
  const text = lastUserText(body);
  const plan = /^PLAN (\S+) items=(\d+)$/.exec(text);
  if (plan !== null) return `The items:\n${JSON.stringify(itemsOf(plan[1] as string, Number(plan[2])))}`;
  if (text.startsWith('WORK ')) return `done ${text.slice('WORK '.length)}`;
  if (text.startsWith('SUM ')) return `total of ${text.slice('SUM '.length)}`;
  return `unexpected request: ${text}`;
}

const expectedOutput = (runId: string, count: number) =>
  `total of ${runId} items=${count}: ${JSON.stringify(itemsOf(runId, count).map((item) => `done ${item}`))}`;

describe('workflow chaos - coordinator, pool replicas and the broker SIGKILLed while workflows run', () => {
  let world: World | undefined;
  let fleet: AgentFleet | undefined;
  let finished = false;
  afterAll(async () => {
    finished = true;
    await fleet?.killAll();
    const dump = process.env.CHAOS_DUMP;
    if (dump !== undefined && dump !== '' && fleet !== undefined) {
      mkdirSync(dump, { recursive: true });
      for (const m of fleet.members) writeFileSync(join(dump, `${m.label}.log`), m.proc.stderr);
    }
    await world?.close();
  });

  it('completes every run, runs every step task once, and publishes every result once', {
    timeout: TIMEOUT_MS,
  }, async ({ onTestFailed }) => {
    const t0 = Date.now();
    const rng = new Rng(SEED);
    const rel = (at: number) => `+${at - t0}ms`;
    const timeline: string[] = [];
    const note = (what: string) => timeline.push(`${rel(Date.now())} ${what}`);

    // chaos: the world from the seed: model latency, the pool's concurrency, each run's items
    // and the gaps between the runs' starts (a run takes a few latencies: runs overlap, and
    // there is work in flight from the first start to a little after the last).
    const latencyMs = rng.int(400, 800);
    const workerConcurrency = rng.int(1, 2);
    const runs = Array.from({ length: RUNS }, (_, i) => ({
      id: `fan-${i}`,
      items: rng.int(4, 6),
      gapMs: i === 0 ? 0 : rng.int(1_000, 2_500),
    }));
    const window = runs.reduce((ms, r) => ms + r.gapMs, 0) + 2 * latencyMs;
    // chaos: the fault schedule: two coordinator kills, two worker replica kills, one broker
    // kill, shuffled, each at a seeded moment of its own slot of the time the runs are started
    // (a fault waits for the one before it to be over).
    const kinds = rng.shuffle<FaultKind>(['coordinator', 'coordinator', 'worker', 'worker', 'nats']);
    const slot = window / kinds.length;
    const plan: PlannedFault[] = kinds.map((kind, i) => ({
      kind,
      atMs: Math.floor(slot * (i + rng.between(0.1, 0.9))),
      jitterMs: rng.int(0, latencyMs + 100),
      replica: rng.int(0, REPLICAS.length - 1),
      restartAfterMs: rng.int(500, 4_000),
      downMs: rng.int(500, 1_500),
    }));
    console.log(
      `workflow-chaos: seed=${SEED} (CHAOS_SEED=${SEED} to replay) runs=${RUNS} items=${runs.map((r) => r.items).join('/')} latency=${latencyMs}ms workerConcurrency=${workerConcurrency} plan=${plan
        .map((f) => `${f.kind}${f.kind === 'worker' ? `-${f.replica + 1}` : ''}@${f.atMs}ms`)
        .join(',')}`,
    );

    world = await startWorld({ latencyMs, responder });
    const w = world;
    const agent = {
      instructions: 'Work.',
      model: 'claude-sonnet-4-6',
      leaseTtlMs: LEASE_TTL_MS,
      ackWaitMs: ACK_WAIT_MS,
    };
    const config = writeConfig({
      agents: {
        writer: { ...agent, concurrency: WRITER_CONCURRENCY },
        worker: { ...agent, concurrency: workerConcurrency, replicas: REPLICAS.length },
      },
      coordinator: { leaseTtlMs: LEASE_TTL_MS },
      workflows: {
        fan: {
          steps: {
            plan: { agent: 'writer', input: 'PLAN {{input}}' },
            work: { agent: 'worker', map: 'plan', input: 'WORK {{item}}', retries: 1 },
            sum: { agent: 'writer', input: 'SUM {{input}}: {{steps.work.output}}' },
          },
        },
      },
    });
    const f = new AgentFleet([], { natsUrl: w.nats.url, anthropicBaseUrl: w.fake.url }, t0);
    fleet = f;
    onTestFailed(() => {
      console.log(
        `workflow-chaos: FAILED with seed ${SEED}; timeline:\n${timeline.join('\n')}\n${f.describe(25)}`,
      );
    });

    const coordinatorArgs = ['coordinator', '--config', config];
    const replicaArgs = (k: number) => ['agent', REPLICAS[k] as string, '--config', config];
    const messagesRequests = () => w.fake.requests.filter((r) => r.path === '/v1/messages');

    // Everything up: the coordinator, the writer, each replica in its own process.
    let coordinator: Member = f.start('coordinator-0', coordinatorArgs);
    const writer = f.start('writer', ['agent', 'writer', '--config', config]);
    const replicas: Member[] = REPLICAS.map((name, k) => f.start(`${name}#0`, replicaArgs(k)));
    await Promise.all([
      f.waitForLine(
        coordinator,
        '"coordinator history replayed"',
        (l) => l.msg.startsWith('coordinator history replayed'),
        30_000,
      ),
      f.waitForLine(writer, '"history replayed"', (l) => l.msg.startsWith('history replayed'), 30_000),
      ...replicas.map((m) =>
        f.waitForLine(m, '"pool replicas running"', (l) => l.msg === 'pool replicas running', 30_000),
      ),
    ]);
    note('all processes ready');

    // The starter: the runs in the background with seeded gaps, each retried until the broker takes it.
    let startRetries = 0;
    const startedAt = Date.now();
    const starting = (async () => {
      for (const run of runs) {
        await sleep(run.gapMs);
        for (;;) {
          if (finished) return;
          try {
            await submitWorkflow(w.connection, {
              id: run.id,
              workflow: 'fan',
              input: `${run.id} items=${run.items}`,
            });
            break;
          } catch (err) {
            startRetries += 1;
            if (Date.now() - t0 > TIMEOUT_MS) throw err;
            await sleep(200);
          }
        }
      }
      note('all runs started');
    })();
    starting.catch(() => undefined);

    const faults: Fault[] = [];
    let requestsAtLastFault = 0;
    const coordinatorTakeoverMs: number[] = [];
    const restarts: Promise<void>[] = [];
    /** Replicas whose process is down (killed, not started again yet). */
    const down = new Set<number>();
    /**
     * A replica is started again only while the broker is up, and the broker is killed only once
     * every started process has connected, so that each fault's repeats can be told apart (a
     * `spool agent` started during an outage waits for NATS: test/e2e/late-nats.test.ts).
     */
    let brokerDown = false;
    const connecting: { member: Member; done: boolean }[] = [];
    const connected = (member: Member) =>
      f.waitForLine(
        member,
        'that it is connected (name claimed or standing by)',
        (l) => l.msg === 'agent name claimed' || l.msg.includes('standing by'),
        30_000,
      );

    /** Best effort: waits for a model call in flight (`accept` chooses which), or goes ahead after a while. */
    const callInFlight = (what: string, accept: (r: RecordedRequest) => boolean | Promise<boolean>) =>
      waitFor(
        what,
        async () => {
          for (const r of w.fake.requests.slice(requestsAtLastFault))
            if (r.path === '/v1/messages' && r.status === 0 && (await accept(r))) return true;
          return false;
        },
        3_000,
        20,
      ).catch(() => note(`no ${what}; fault goes ahead anyway`));

    /** The replica that claimed the work task a request is for. */
    const ownerOf = async (r: RecordedRequest): Promise<string | undefined> => {
      const text = lastUserText(r.body);
      const item = /^WORK (\S+)\/(\d+)$/.exec(text);
      if (item === null) return undefined;
      return taskOwner(w.connection, 'worker', `${item[1]}:work:${item[2]}:1`).catch(() => undefined);
    };

    for (const [i, fault] of plan.entries()) {
      await sleep(startedAt + fault.atMs - Date.now());
      note(`fault ${i}: ${fault.kind} (planned at +${fault.atMs} ms after the first start)`);
      if (fault.kind === 'coordinator') {
        // chaos: SIGKILL the coordinator while step tasks are in flight and start a new one at
        // once: it stands by until the dead holder's lease expires, then replays and resumes.
        await callInFlight('step task in flight', () => true);
        await sleep(fault.jitterMs);
        const at = Date.now();
        requestsAtLastFault = w.fake.requests.length;
        await f.signal(coordinator, 'SIGKILL');
        note(`SIGKILLed ${coordinator.label}`);
        coordinator = f.start(
          `coordinator-${faults.filter((x) => x.kind === 'coordinator').length + 1}`,
          coordinatorArgs,
        );
        const claimed = await f.waitForLine(
          coordinator,
          '"coordinator name claimed"',
          (l) => l.msg === 'coordinator name claimed',
          30_000,
        );
        // Measured from when the name could first be claimed: the lease's expiry, or the new
        // process's first log line when it came up later (a loaded machine starts it slowly).
        const up = await f.waitForLine(coordinator, 'its first line', () => true, 30_000);
        if (claimed.takeover === true)
          coordinatorTakeoverMs.push(claimed.time - Math.max(at + LEASE_TTL_MS, up.time));
        const replayed = await f.waitForLine(
          coordinator,
          '"coordinator history replayed"',
          (l) => l.msg.startsWith('coordinator history replayed'),
          30_000,
        );
        note(
          `${coordinator.label} up ${up.time - at} ms and claimed the name (takeover ${String(claimed.takeover)}) ${claimed.time - at} ms after the kill; ${replayed.msg}`,
        );
        // A coordinator kill interrupts no model call: it explains no repeat.
        faults.push({
          kind: 'coordinator',
          label: `${coordinator.label} kill`,
          from: at,
          to: at,
          bound: 0,
          repeats: 0,
        });
      } else if (fault.kind === 'worker') {
        // chaos: SIGKILL one replica's process while it has a work task's call in flight; a
        // sibling adopts the dead replica and finishes its tasks; the process comes back later.
        // The planned replica, or (when a work call is seen in flight) the replica that runs it.
        const up = REPLICAS.map((_, k) => (fault.replica + k) % REPLICAS.length).filter((k) => !down.has(k));
        let k = up[0] as number;
        await callInFlight('work call in flight', async (r) => {
          const owner = await ownerOf(r);
          const running = up.find((j) => REPLICAS[j] === owner);
          if (running !== undefined) k = running;
          return running !== undefined;
        });
        const name = REPLICAS[k] as string;
        await sleep(fault.jitterMs);
        const victim = replicas[k] as Member;
        const at = Date.now();
        requestsAtLastFault = w.fake.requests.length;
        await f.signal(victim, 'SIGKILL');
        down.add(k);
        note(`SIGKILLed ${victim.label}`);
        // Its process may have run adopted siblings too: bound by every replica's slots.
        faults.push({
          kind: 'worker',
          label: `${victim.label} kill`,
          from: at,
          to: at + KILL_SLACK_MS,
          bound: workerConcurrency * REPLICAS.length,
          repeats: 0,
        });
        const restartNo = f.members.filter((m) => m.label.startsWith(`${name}#`)).length;
        restarts.push(
          (async () => {
            await sleep(fault.restartAfterMs);
            await waitFor('the broker to be up', () => !brokerDown, 30_000, 20);
            const member = f.start(`${name}#${restartNo}`, replicaArgs(k));
            const entry = { member, done: false };
            connecting.push(entry);
            replicas[k] = member;
            down.delete(k);
            note(`started ${name}#${restartNo}`);
            await connected(member).finally(() => {
              entry.done = true;
            });
          })(),
        );
      } else {
        // chaos: SIGKILL the broker (no flush), restart it on the same port and data after a
        // moment; every process and the starter reconnect on their own.
        await callInFlight('model call in flight', () => true);
        await sleep(fault.jitterMs);
        await waitFor(
          'every started process to be connected',
          () => connecting.every((c) => c.done),
          30_000,
          20,
        );
        brokerDown = true;
        const from = Date.now();
        requestsAtLastFault = w.fake.requests.length;
        await w.nats.kill();
        note('nats-server SIGKILLed');
        await sleep(fault.downMs);
        await w.nats.restart();
        brokerDown = false;
        const to = Date.now();
        note(`nats-server back after ${to - from} ms`);
        faults.push({
          kind: 'nats',
          label: 'nats kill',
          from,
          to: to + NATS_SLACK_MS,
          bound: workerConcurrency * REPLICAS.length + WRITER_CONCURRENCY,
          repeats: 0,
        });
      }
    }

    await starting;
    await Promise.all(restarts);
    // chaos: after the last fault, everything must finish on its own.
    await waitFor(
      'every run to have a result',
      async () => new Set((await w.probe.results(COORDINATOR)).map((r) => r.taskId)).size >= RUNS,
      Math.max(10_000, TIMEOUT_MS - (Date.now() - t0) - 25_000),
      250,
    );
    note('all run results in');
    // Each restarted replica process gets its name back once the sibling that adopted it is done.
    await Promise.all(
      replicas.map((m) =>
        f.waitForLine(m, '"pool replicas running"', (l) => l.msg === 'pool replicas running', 15_000),
      ),
    );
    note('every replica back in its own process');
    // Every run's publication journaled (the result is out before its MarkPublished).
    const store = historyStore(w.connection);
    const readHistory = async (name: string): Promise<StoredCommit[]> => {
      const out: StoredCommit[] = [];
      for await (const commit of store.replay(name)) out.push(commit);
      return out;
    };
    await waitFor(
      'every workflow.published to be journaled',
      async () =>
        (await readHistory(COORDINATOR))
          .flatMap((c) => c.events)
          .filter((e) => e.type === 'workflow.published').length >= RUNS,
      15_000,
      250,
    );
    const live = f.members.filter((m) => m.signalled === undefined);
    const exitCodes = await Promise.all(
      live.map(async (m) => [m.label, await f.signal(m, 'SIGTERM')] as const),
    );
    const duration = Date.now() - t0;

    // No process died on its own, and each stopped cleanly on SIGTERM.
    expect(f.unexpectedExits).toEqual([]);
    expect(exitCodes.filter(([, code]) => code !== 0)).toEqual([]);

    // Runs: one result each, completed, summing every item of its plan.
    const runResults = await w.probe.results(COORDINATOR);
    expect([...countBy(runResults, (r) => r.taskId).entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(runResults.map((r) => r.taskId).sort()).toEqual(runs.map((r) => r.id).sort());
    for (const run of runs) {
      const result = runResults.find((r) => r.taskId === run.id) as TaskResult;
      expect({ run: run.id, status: result.status, output: result.output }).toEqual({
        run: run.id,
        status: 'completed',
        output: expectedOutput(run.id, run.items),
      });
    }

    // Coordinator: every decision once; one dispatch per task id, exactly the tasks of the runs
    // (no retry: no task may fail under these faults), one finish and one publication per run.
    const coordinatorHistory = await readHistory(COORDINATOR);
    const coordinatorEvents = coordinatorHistory.flatMap((c) => c.events);
    expect([...countBy(coordinatorEvents, (e) => e.id).entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const dispatched = coordinatorEvents.flatMap((e) =>
      e.type === 'workflow.task_dispatched'
        ? [e.data as { taskId: string; agent: string; input: string }]
        : [],
    );
    const expectedTasks = runs.flatMap((run) => [
      `${run.id}:plan:0:1`,
      ...itemsOf(run.id, run.items).map((_, k) => `${run.id}:work:${k}:1`),
      `${run.id}:sum:0:1`,
    ]);
    expect([...countBy(dispatched, (d) => d.taskId).entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(dispatched.map((d) => d.taskId).sort()).toEqual([...expectedTasks].sort());
    const ofType = (type: string) =>
      coordinatorEvents
        .filter((e) => e.type === type)
        .map((e) => (e.data as { workflowId: string }).workflowId);
    for (const type of ['workflow.started', 'workflow.finished', 'workflow.published']) {
      const per = countBy(ofType(type), (id) => id);
      expect({ type, runs: [...per.keys()].sort(), wrong: [...per].filter(([, n]) => n !== 1) }).toEqual({
        type,
        runs: runs.map((r) => r.id).sort(),
        wrong: [],
      });
    }
    const taskFinished = coordinatorEvents.filter((e) => e.type === 'workflow.task_finished');
    expect(taskFinished.filter((e) => (e.data as { status: string }).status !== 'completed')).toEqual([]);

    // Agents: each step task journaled as received in exactly one history (the writer's, or one
    // replica's), by the agent the step names; unique event ids in each history.
    const agentHistories = new Map<string, StoredCommit[]>();
    for (const name of ['writer', ...REPLICAS]) agentHistories.set(name, await readHistory(name));
    const dump = process.env.CHAOS_DUMP;
    if (dump !== undefined && dump !== '') {
      mkdirSync(dump, { recursive: true });
      const brief = (commits: StoredCommit[]) =>
        commits.map((c) => ({
          seq: c.seq,
          at: rel(Date.parse(c.time)),
          events: c.events.map((e) => `${e.type} ${(e.data as { taskId?: string }).taskId ?? ''}`),
        }));
      writeFileSync(
        join(dump, 'histories.json'),
        JSON.stringify(
          Object.fromEntries([
            [COORDINATOR, brief(coordinatorHistory)],
            ...[...agentHistories].map(([n, c]) => [n, brief(c)]),
          ]),
          null,
          1,
        ),
      );
      writeFileSync(join(dump, 'timeline.txt'), `t0=${t0}\n${timeline.join('\n')}\n`);
    }
    const receivedIn = new Map<string, string[]>();
    const journaledAt = new Map<string, number>();
    for (const [name, commits] of agentHistories) {
      const events: HistoryEvent[] = commits.flatMap((c) => c.events);
      expect({ name, duplicateIds: [...countBy(events, (e) => e.id)].filter(([, n]) => n !== 1) }).toEqual({
        name,
        duplicateIds: [],
      });
      for (const commit of commits)
        for (const e of commit.events) {
          const taskId = (e.data as { taskId?: string }).taskId as string;
          if (e.type === 'task.received') receivedIn.set(taskId, [...(receivedIn.get(taskId) ?? []), name]);
          if (e.type === 'model.responded' && !journaledAt.has(taskId))
            journaledAt.set(taskId, Date.parse(commit.time));
        }
    }
    expect([...receivedIn].filter(([, where]) => where.length !== 1)).toEqual([]);
    expect([...receivedIn.keys()].sort()).toEqual([...expectedTasks].sort());
    const misplaced = [...receivedIn].filter(([taskId, [where]]) =>
      taskId.includes(':work:') ? !where?.startsWith('worker-') : where !== 'writer',
    );
    expect(misplaced).toEqual([]);
    const replicaOfTask = new Map([...receivedIn].map(([taskId, [where]]) => [taskId, where as string]));

    // Results: exactly one per task, completed, from the agent (pool) that ran it.
    for (const name of ['writer', 'worker']) {
      const stored = await w.probe.results(name);
      const per = countBy(stored, (r) => r.taskId);
      expect({ name, wrong: [...per].filter(([, n]) => n !== 1) }).toEqual({ name, wrong: [] });
      expect({ name, notCompleted: stored.filter((r) => r.status !== 'completed') }).toEqual({
        name,
        notCompleted: [],
      });
      expect([...per.keys()].sort()).toEqual(
        expectedTasks.filter((id) => id.includes(':work:') === (name === 'worker')).sort(),
      );
    }

    // Model calls: each request maps to its task by its input; none after the task's reply was
    // journaled; each repeat explained by a fault between the previous call and the repeat
    // (a replica or broker kill: a coordinator kill interrupts no call), within its bound.
    const taskOfInput = new Map(dispatched.map((d) => [d.input, d.taskId]));
    const requests = messagesRequests();
    const { callsOf, unmapped, afterJournal, unexplained, repeatedCalls, tasksRepeated } = auditCalls({
      requests,
      taskOfInput,
      journaledAt,
      faults,
      rel,
      explains: (x, taskId) =>
        x.bound > 0 && (x.kind === 'nats' || replicaOfTask.get(taskId)?.startsWith('worker-') === true),
      label: (taskId) => `${taskId} (${replicaOfTask.get(taskId)})`,
    });
    expect(unmapped).toEqual([]);
    expect([...callsOf.keys()].sort()).toEqual([...expectedTasks].sort());
    expect(afterJournal).toEqual([]);
    expect(unexplained).toEqual([]);
    expect(faults.filter((x) => x.repeats > x.bound)).toEqual([]);

    // Liveness: each step task's result was journaled by the coordinator within RESULT_LAG_MS of
    // its publication (the agent's result.published commit to the coordinator's task_finished).
    const publishedAt = new Map<string, number>();
    for (const commits of agentHistories.values())
      for (const commit of commits)
        for (const e of commit.events)
          if (e.type === 'result.published')
            publishedAt.set((e.data as { taskId: string }).taskId, Date.parse(commit.time));
    const lags = coordinatorHistory.flatMap((commit) =>
      commit.events.flatMap((e) => {
        if (e.type !== 'workflow.task_finished') return [];
        const taskId = (e.data as { taskId: string }).taskId;
        const from = publishedAt.get(taskId) ?? Number.NaN;
        return [{ taskId, from, ms: Date.parse(commit.time) - from }];
      }),
    );
    expect(lags.filter((l) => Number.isNaN(l.ms))).toEqual([]);
    const lag = lags.reduce((a, b) => (b.ms > a.ms ? b : a), { taskId: '-', from: t0, ms: 0 });
    const lagged = lags
      .filter((l) => l.ms > RESULT_LAG_MS)
      .map((l) => `${l.taskId} published ${rel(l.from)}, journaled ${l.ms} ms later`);
    expect(lagged).toEqual([]);

    // Each coordinator kill was a takeover, soon after the lease expired (or the process was up).
    expect(coordinatorTakeoverMs).toHaveLength(2);
    expect(coordinatorTakeoverMs.filter((ms) => ms > 8_000)).toEqual([]);

    const lines = f.allLines();
    const adoptions = lines.filter((l) =>
      l.line.msg.startsWith('adopted a replica whose process is gone'),
    ).length;
    const released = lines.filter((l) =>
      l.line.msg.startsWith('adopted replica has no unfinished task left'),
    ).length;
    const agentTakeovers = lines.filter(
      (l) => l.line.msg === 'agent name claimed' && l.line.takeover === true,
    ).length;
    const redeliveredAcks = lines.filter((l) =>
      l.line.msg.startsWith('task belongs to another replica'),
    ).length;
    const claimTakeovers = lines.filter((l) =>
      l.line.msg.startsWith('took over a task its claimant never journaled'),
    ).length;
    const stepBacks = lines.filter((l) => l.line.msg.includes('stepping back')).length;
    const resent = lines.filter((l) => l.line.msg === 'step task sent' && l.line.duplicate === true).length;
    if (process.env.CHAOS_VERBOSE) {
      const warnings = lines
        .filter(
          (l) =>
            Number(l.line.level) >= 40 ||
            /NATS|claimed|replayed|lease|redeliver|standing|adopt|took over|another replica|stepping/.test(
              l.line.msg,
            ),
        )
        .sort((a, b) => a.line.time - b.line.time)
        .map((l) => `${rel(l.line.time)} ${l.label} ${l.line.msg} ${String(l.line.err ?? '')}`);
      console.log(
        `workflow-chaos: timeline\n${timeline.join('\n')}\nworkflow-chaos: log\n${warnings.join('\n')}`,
      );
    }
    console.log(
      `workflow-chaos: seed=${SEED} runs=${RUNS} tasks=${expectedTasks.length} latency=${latencyMs}ms workerConcurrency=${workerConcurrency} coordinatorKills=2 workerKills=2 natsKills=1 coordinatorTakeover=${coordinatorTakeoverMs.join('/')}ms agentTakeovers=${agentTakeovers} adoptions=${adoptions} adoptedReleased=${released} claimTakeovers=${claimTakeovers} lateCopiesAcked=${redeliveredAcks} resentDuplicates=${resent} requests=${requests.length} repeatedCalls=${repeatedCalls} tasksRepeated=${tasksRepeated} repeatsPerFault=${faults.map((x) => `${x.label}:${x.repeats}/${x.bound}`).join(',')} maxResultLag=${lag.ms}ms(${lag.taskId}@${rel(lag.from)}) startRetries=${startRetries} stepBacks=${stepBacks} coordinatorCommits=${coordinatorHistory.length} duration=${(duration / 1000).toFixed(1)}s`,
    );
  });
});
