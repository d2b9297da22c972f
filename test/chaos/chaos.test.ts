/**
 * The chaos test: real `spool agent` processes, a real nats-server and the real SDK against
 * the fake Messages API, with agents SIGKILLed, a standby taking over and the broker itself
 * SIGKILLed while a few hundred tasks are submitted and worked on. At the end every task
 * must have exactly one completed result, the history must hold each decision once, and no
 * model call whose reply was journaled may have been made again.
 *
 * Keyed agents too: two more processes host a keyed agent (`desk`, a few keys, few instances
 * in memory so they are passivated and activated all the time); its tasks are interleaved with
 * the plain ones, each plain kill SIGKILLs one of its hosts too (a fresh one starts and adopts
 * its keys), and the broker kill hits them all. The same invariants hold per instance.
 *
 * Environment (a longer soak reuses this file):
 *   CHAOS_SEED   replays a run: the seed is printed on the first line of every run
 *   CHAOS_TASKS  tasks to submit (default 300)
 *   CHAOS_KILLS  plain agent SIGKILL + restarts (default 4), each with one keyed host's; one
 *                standby takeover and one broker SIGKILL come on top
 *   CHAOS_KEYED_TASKS  tasks for the keyed agent's instances (default a third of CHAOS_TASKS)
 *   CHAOS_VERBOSE=1  also prints the fault timeline and the agents' warnings and lease log lines
 *   CHAOS_LOG_DIR  on a failure, writes each process's whole log and the model requests there
 *   CHAOS_CLUSTER=1  runs on a 3-node JetStream cluster (replicas 3, the agents given all three
 *                URLs): the broker fault SIGKILLs the node leading SPOOL_HISTORY instead
 * e.g. CHAOS_SEED=123 CHAOS_TASKS=3000 CHAOS_KILLS=30 pnpm exec vitest run test/chaos
 * (a soak that long needs a longer timeout: CHAOS_TIMEOUT_MS).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HistoryEvent, taskIdOf } from '@spool/core';
import { submitTask } from '@spool/jetstream';
import { lastUserText } from '@spool/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import { writeConfig } from '../support/cli.ts';
import { type ClusterWorld, leaderOf, startClusterWorld } from '../support/cluster.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWorld, type World } from '../support/world.ts';
import { auditCalls } from './call-audit.ts';
import { AgentFleet, type Member } from './fleet.ts';
import { chaosSeed, envInt, Rng } from './prng.ts';

const AGENT = 'worker';
const TASKS = envInt('CHAOS_TASKS', 300, 1);
/** The keyed agent: its tasks go to KEYS instances, at most KEYED_MAX_ACTIVE in memory per host. */
const KEYED = 'desk';
const KEYED_TASKS = envInt('CHAOS_KEYED_TASKS', Math.ceil(TASKS / 3), 0);
const KEYS = 10;
const KEYED_MAX_ACTIVE = 4;
const KEYED_HOSTS = 2;
const KILLS = envInt('CHAOS_KILLS', 4, 0);
const TIMEOUT_MS = envInt('CHAOS_TIMEOUT_MS', 180_000, 10_000);
const SEED = chaosSeed();
const CLUSTER = process.env.CHAOS_CLUSTER === '1';
const LEASE_TTL_MS = 2_000;
/**
 * A request the killed process sent just before its SIGKILL can be read by the fake server
 * (and stamped) a little after the kill was stamped: a kill counts as [at, at + this]. No other
 * process can call the model that soon: a replacement waits for the lease (>= 2/3 of its ttl).
 */
const KILL_SLACK_MS = 1_000;

type FaultKind = 'kill' | 'standby' | 'nats';

/** One planned fault: what, when (model requests seen, a share of the tasks), and its jitter. */
interface PlannedFault {
  readonly kind: FaultKind;
  readonly afterRequests: number;
  /** Delay after a call is seen in flight, so that the fault lands anywhere in a call's life. */
  readonly jitterMs: number;
  /** How long the broker stays down (nats only). */
  readonly downMs: number;
}

/** A fault as it happened: [from, to] in Date.now() ms (an agent kill: see KILL_SLACK_MS). */
interface Fault {
  readonly label: string;
  readonly from: number;
  readonly to: number;
  /** Repeated model calls this fault explains. */
  repeats: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('chaos - agents and the broker SIGKILLed while hundreds of tasks run', () => {
  let world: World | ClusterWorld | undefined;
  let fleet: AgentFleet | undefined;
  /** Ends the background submitter if the test ends early. */
  let finished = false;
  afterAll(async () => {
    finished = true;
    await fleet?.killAll();
    await world?.close();
  });

  it('loses nothing, does nothing twice, and never repeats a journaled model call', {
    timeout: TIMEOUT_MS,
  }, async ({ onTestFailed }) => {
    const t0 = Date.now();
    const rng = new Rng(SEED);
    const rel = (at: number) => `+${at - t0}ms`;
    const timeline: string[] = [];
    const note = (what: string) => timeline.push(`${rel(Date.now())} ${what}`);

    // chaos: the world is drawn from the seed too: model latency 150-300 ms, 4-8 tasks at once.
    const latencyMs = rng.int(150, 300);
    const concurrency = rng.int(4, 8);
    // chaos: the fault schedule. CHAOS_KILLS plain SIGKILL + restart of the agent, one standby
    // takeover (a second process waits, the active one is SIGKILLed) and one broker SIGKILL,
    // shuffled, each in its own slot of the run's progress between 5% and 85% of the model
    // calls (so there is always work in flight and work left), with a jitter after a call is
    // seen in flight so a kill lands before, during or after a reply's journaling.
    const kinds = rng.shuffle<FaultKind>([...Array<FaultKind>(KILLS).fill('kill'), 'standby', 'nats']);
    const slot = 0.8 / kinds.length;
    const plan: PlannedFault[] = kinds.map((kind, i) => ({
      kind,
      afterRequests: Math.max(1, Math.floor(TASKS * (0.05 + slot * (i + rng.between(0.1, 0.9))))),
      jitterMs: rng.int(0, latencyMs + 100),
      downMs: rng.int(800, 1_500),
    }));
    // chaos: tasks are submitted in the background in seeded bursts of 1-15, keeping a backlog
    // of at most 3 x concurrency ahead of the model calls: submission lasts the whole run, so
    // the agent kills hit the submitter too. While the broker is down the submitter ignores
    // that bound, so its publishes always meet the outage (and must land once each).
    const bursts: number[] = [];
    for (let left = TASKS + KEYED_TASKS; left > 0; left -= bursts.at(-1) as number)
      bursts.push(Math.min(left, rng.int(1, 15)));
    const backlog = 3 * concurrency;
    console.log(
      `chaos: seed=${SEED} (CHAOS_SEED=${SEED} to replay)${CLUSTER ? ' cluster=3' : ''} tasks=${TASKS} latency=${latencyMs}ms concurrency=${concurrency} plan=${plan
        .map((f) => `${f.kind}@${f.afterRequests}`)
        .join(',')}`,
    );

    world = CLUSTER ? await startClusterWorld({ latencyMs, replicas: 3 }) : await startWorld({ latencyMs });
    const w = world;
    const natsUrl = 'cluster' in w ? w.cluster.url : w.nats.url;
    /** The broker fault's target: the server, or on a cluster the node leading SPOOL_HISTORY now. */
    const brokerToKill = async () =>
      'cluster' in w
        ? await leaderOf(w.probe, w.cluster, 'SPOOL_HISTORY')
        : { ...w.nats, name: 'nats-server' };
    const config = writeConfig({
      ...(CLUSTER ? { nats: { replicas: 3 } } : {}),
      agents: {
        [AGENT]: {
          instructions: 'Work.',
          model: 'claude-sonnet-4-6',
          concurrency,
          leaseTtlMs: LEASE_TTL_MS,
          snapshotEvery: 50,
        },
        [KEYED]: {
          instructions: 'Help.',
          model: 'claude-sonnet-4-6',
          keyed: { maxActive: KEYED_MAX_ACTIVE, idleMs: 400 },
          leaseTtlMs: LEASE_TTL_MS,
          // A dead host's messages come back after the ack wait (its consumer is shared).
          ackWaitMs: 3_000,
          snapshotEvery: 10,
        },
      },
    });
    const keyedArgs = ['agent', KEYED, '--config', config];
    const f = new AgentFleet(
      ['agent', AGENT, '--config', config],
      { natsUrl, anthropicBaseUrl: w.fake.url },
      t0,
    );
    fleet = f;
    onTestFailed(() => {
      console.log(`chaos: FAILED with seed ${SEED}; timeline:\n${timeline.join('\n')}\n${f.describe()}`);
      // Every process's whole log, for a failure the tails above do not explain.
      const dir = process.env.CHAOS_LOG_DIR;
      if (dir) {
        f.writeLogs(dir);
        const calls = messagesRequests().map((r) => ({
          at: rel(r.at),
          task: lastUserText(r.body),
          retry: r.headers['x-stainless-retry-count'],
          status: r.status,
        }));
        writeFileSync(join(dir, 'model-requests.json'), JSON.stringify(calls, null, 1));
      }
    });

    const messagesRequests = () => w.fake.requests.filter((r) => r.path === '/v1/messages');
    let active: Member = f.start('agent-0');
    await f.waitForLine(active, '"history replayed"', (l) => l.msg.startsWith('history replayed'), 30_000);
    note('agent-0 ready');
    const hostRunning = (member: Member) =>
      f.waitForLine(
        member,
        '"keyed agent host running"',
        (l) => l.msg === 'keyed agent host running',
        30_000,
      );
    const desks: Member[] = Array.from({ length: KEYED_HOSTS }, (_, i) => f.start(`desk-${i}`, keyedArgs));
    await Promise.all(desks.map(hostRunning));
    note('keyed hosts ready');

    // The submitter: every task id once, retried until the broker takes it (the outage included).
    // chaos: the keyed agent's tasks are interleaved with the plain ones at seeded places.
    const ids = Array.from({ length: TASKS }, (_, i) => `job-${i}`);
    const jobs: { to: string; id: string; input: string }[] = ids.map((id, i) => ({
      to: AGENT,
      id,
      input: `job number ${i}`,
    }));
    const keyedIds = Array.from({ length: KEYED_TASKS }, (_, j) => ({
      key: `k${j % KEYS}`,
      id: `kjob-${j}`,
    }));
    for (const [j, { key, id }] of keyedIds.entries())
      jobs.splice(rng.int(0, jobs.length), 0, { to: `${KEYED}.${key}`, id, input: `keyed job number ${j}` });
    let submitRetries = 0;
    const submitCalls: { from: number; to: number }[] = [];
    let brokerDown = false;
    let allSubmittedAt = Number.POSITIVE_INFINITY;
    const submitting = (async () => {
      let n = 0;
      for (const size of bursts) {
        if (finished) return;
        await waitFor(
          'room in the backlog',
          () => brokerDown || n - messagesRequests().length < backlog,
          TIMEOUT_MS,
          20,
        );
        for (let i = 0; i < size; i++, n++) {
          const { to, ...task } = jobs[n] as (typeof jobs)[number];
          for (;;) {
            const from = Date.now();
            try {
              await submitTask(w.connection, to, task);
              submitCalls.push({ from, to: Date.now() });
              break;
            } catch (err) {
              submitRetries += 1;
              if (finished || Date.now() - t0 > TIMEOUT_MS) throw err;
              await sleep(200);
            }
          }
        }
      }
      allSubmittedAt = Date.now();
      note('all tasks submitted');
    })();
    submitting.catch(() => undefined);

    const faults: Fault[] = [];
    let requestsAtLastFault = 0;
    let agentKills = 0;
    let keyedKills = 0;
    let takeoverMs: number | undefined;
    const recoveryMs: number[] = [];

    /** Waits for a model call of the live agent to be in flight (best effort: the run may be nearly done). */
    const callInFlight = () =>
      waitFor(
        'a model call in flight',
        () =>
          w.fake.requests.slice(requestsAtLastFault).some((r) => r.path === '/v1/messages' && r.status === 0),
        15_000,
        10,
      ).catch(() => note('no call in flight; fault goes ahead anyway'));

    const killActive = async (label: string): Promise<number> => {
      const at = Date.now();
      faults.push({ label, from: at, to: at + KILL_SLACK_MS, repeats: 0 });
      requestsAtLastFault = w.fake.requests.length;
      await f.signal(active, 'SIGKILL');
      agentKills += 1;
      note(`${label}: SIGKILLed ${active.label}`);
      return at;
    };

    /** Waits for `member` to have replayed the history, and records how long after the kill. */
    const replayedAfter = async (member: typeof active, killedAt: number) => {
      const replayed = await f.waitForLine(
        member,
        '"history replayed"',
        (l) => l.msg.startsWith('history replayed'),
        30_000,
      );
      recoveryMs.push(replayed.time - killedAt);
      return replayed;
    };

    for (const [i, fault] of plan.entries()) {
      await waitFor(
        `${fault.afterRequests} model requests before fault ${i} (${fault.kind})`,
        () => messagesRequests().length >= fault.afterRequests,
        60_000,
        20,
      );
      if (fault.kind === 'kill') {
        // chaos: SIGKILL the agent with calls in flight, start a fresh process at once; it
        // stands by until the dead holder's lease expires (2 s), then replays and resumes.
        await callInFlight();
        await sleep(fault.jitterMs);
        const killedAt = await killActive(`kill ${agentKills + 1}`);
        active = f.start(`agent-${f.members.length}`);
        // chaos: one keyed host SIGKILLed in the same window (its instances mid-call, or
        // passivating); a fresh one starts at once and adopts its keys when its lease expires.
        const d = rng.int(0, KEYED_HOSTS - 1);
        const victim = desks[d] as Member;
        await f.signal(victim, 'SIGKILL');
        keyedKills += 1;
        desks[d] = f.start(`desk-${f.members.length}`, keyedArgs);
        note(`${victim.label} SIGKILLed; ${desks[d]?.label} started`);
        const replayed = await replayedAfter(active, killedAt);
        note(`${active.label} replayed (${replayed.msg}) ${replayed.time - killedAt} ms after the kill`);
      } else if (fault.kind === 'standby') {
        // chaos: a second process of the same agent while the first is alive: it must stand
        // by; SIGKILL the active one and the standby must take the name over within a few s.
        const standby = f.start(`standby-${f.members.length}`);
        await f.waitForLine(standby, '"standing by"', (l) => l.msg.includes('standing by'), 30_000);
        note(`${standby.label} standing by`);
        await callInFlight();
        await sleep(fault.jitterMs);
        const killedAt = await killActive(`standby takeover (kill ${agentKills + 1})`);
        const claimed = await f.waitForLine(
          standby,
          '"agent name claimed" with takeover',
          (l) => l.msg === 'agent name claimed' && l.takeover === true,
          LEASE_TTL_MS + 10_000,
        );
        takeoverMs = claimed.time - killedAt;
        note(`${standby.label} took over ${takeoverMs} ms after the kill`);
        active = standby;
        await replayedAfter(active, killedAt);
      } else {
        // chaos: SIGKILL the broker (no flush) for ~1 s, then restart it on the same port and
        // data; agents and the submitter reconnect on their own. On a cluster: the node leading
        // SPOOL_HISTORY; the others elect a new leader and the clients move to them.
        await callInFlight();
        await sleep(fault.jitterMs);
        const broker = await brokerToKill();
        const from = Date.now();
        requestsAtLastFault = w.fake.requests.length;
        brokerDown = true;
        await broker.kill();
        note(`${broker.name} SIGKILLed`);
        await sleep(fault.downMs);
        await broker.restart();
        brokerDown = false;
        const to = Date.now();
        faults.push({ label: 'nats kill', from, to, repeats: 0 });
        note(`${broker.name} back after ${to - from} ms`);
      }
    }

    await submitting;
    // chaos: after the last fault, the last agent must finish everything on its own.
    await waitFor(
      'every task to have a result',
      async () => (await w.probe.results(AGENT)).length >= TASKS,
      Math.max(10_000, TIMEOUT_MS - (Date.now() - t0) - 20_000),
      500,
    );
    await waitFor(
      'every keyed task to have a result',
      async () => (await w.probe.results(KEYED)).length >= KEYED_TASKS,
      Math.max(10_000, TIMEOUT_MS - (Date.now() - t0) - 20_000),
      500,
    );
    await waitFor(
      'every keyed result.published to be journaled',
      async () =>
        (await w.probe.keyedHistory(KEYED))
          .flatMap((c) => c.events)
          .filter((e) => e.type === 'result.published').length >= KEYED_TASKS,
      15_000,
      250,
    );
    await waitFor(
      'every result.published to be journaled',
      async () =>
        (await w.probe.history(AGENT)).flatMap((c) => c.events).filter((e) => e.type === 'result.published')
          .length >= TASKS,
      15_000,
      250,
    );
    note('all results in');
    const exitCode = await f.signal(active, 'SIGTERM');
    const keyedExitCodes = await Promise.all(desks.map((d) => f.signal(d, 'SIGTERM')));
    const duration = Date.now() - t0;

    // No process died on its own, and the last ones stopped cleanly.
    expect(f.unexpectedExits).toEqual([]);
    expect(exitCode).toBe(0);
    expect(keyedExitCodes).toEqual(desks.map(() => 0));

    // Results: exactly one per task id, none lost, none extra, all completed with their own reply.
    const stored = await w.probe.results(AGENT);
    const perTask = countBy(stored, (r) => r.taskId);
    expect([...perTask.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...perTask.keys()].sort()).toEqual([...ids].sort());
    expect(stored.filter((r) => r.status !== 'completed')).toEqual([]);
    expect(
      stored.filter((r) => r.output !== `fake reply to: job number ${r.taskId.slice('job-'.length)}`),
    ).toEqual([]);

    // History: each decision once. Unique event ids; one received, completed and published per task.
    const history = await w.probe.history(AGENT);
    const events: HistoryEvent[] = history.flatMap((c) => c.events);
    expect([...countBy(events, (e) => e.id).entries()].filter(([, n]) => n !== 1)).toEqual([]);
    const tasksOf = (type: HistoryEvent['type']) => events.filter((e) => e.type === type).map(taskIdOf);
    for (const type of ['task.received', 'task.completed', 'result.published'] as const) {
      const per = countBy(tasksOf(type), (id) => String(id));
      expect({ type, size: per.size, wrong: [...per.entries()].filter(([, n]) => n !== 1) }).toEqual({
        type,
        size: TASKS,
        wrong: [],
      });
    }
    expect(tasksOf('task.failed')).toEqual([]);
    expect(tasksOf('task.rejected')).toEqual([]);

    // The keyed agent, per instance: one completed result per key and task id, its own reply,
    // and in each key's history each decision once.
    const keyedStored = await w.probe.results(KEYED);
    const perKeyedTask = countBy(keyedStored, (r) => `${r.key}/${r.taskId}`);
    expect([...perKeyedTask.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...perKeyedTask.keys()].sort()).toEqual(keyedIds.map(({ key, id }) => `${key}/${id}`).sort());
    expect(
      keyedStored.filter(
        (r) =>
          r.status !== 'completed' ||
          r.output !== `fake reply to: keyed job number ${r.taskId.slice('kjob-'.length)}`,
      ),
    ).toEqual([]);
    const keyedHistory = await w.probe.keyedHistory(KEYED);
    const keyedEvents = keyedHistory.flatMap((c) => c.events.map((e) => ({ key: c.key, e })));
    expect([...countBy(keyedEvents, ({ e }) => e.id).entries()].filter(([, n]) => n !== 1)).toEqual([]);
    for (const type of ['task.received', 'task.completed', 'result.published'] as const) {
      const per = countBy(
        keyedEvents.filter(({ e }) => e.type === type),
        ({ key, e }) => `${key}/${String(taskIdOf(e))}`,
      );
      expect({ type, size: per.size, wrong: [...per.entries()].filter(([, n]) => n !== 1) }).toEqual({
        type,
        size: KEYED_TASKS,
        wrong: [],
      });
    }
    expect(keyedEvents.filter(({ e }) => e.type === 'task.failed' || e.type === 'task.rejected')).toEqual([]);

    // Model calls: map each request to its task by its LAST user message (memory carries
    // earlier tasks' inputs as earlier messages).
    const taskOfInput = new Map<string, string>();
    const journaledAt = new Map<string, number>();
    for (const commit of [...history, ...keyedHistory]) {
      for (const event of commit.events) {
        if (event.type === 'task.received') taskOfInput.set(event.data.input, event.data.taskId);
        if (event.type === 'model.responded' && !journaledAt.has(event.data.taskId))
          journaledAt.set(event.data.taskId, commit.time);
      }
    }
    const requests = messagesRequests();
    // Never a request for a step whose reply was already in the history. Every repeat is
    // explained by a fault between the task's previous call and the repeat, and a fault
    // explains at most one call per task that could be in flight (concurrency).
    const { unmapped, afterJournal, unexplained, repeatedCalls, tasksRepeated } = auditCalls({
      requests,
      taskOfInput,
      journaledAt,
      faults,
      rel,
    });
    expect(unmapped).toEqual([]);
    expect(afterJournal).toEqual([]);
    expect(unexplained).toEqual([]);
    // (Calls in flight at a fault: the plain agent's, and each keyed host's instances'.)
    expect(faults.filter((x) => x.repeats > concurrency + KEYED_HOSTS * KEYED_MAX_ACTIVE)).toEqual([]);

    // The standby took over within the lease ttl plus a few polls.
    expect(takeoverMs).toBeDefined();
    expect(takeoverMs).toBeLessThan(LEASE_TTL_MS + 4_000);

    // Snapshots were taken and recoveries started from one.
    const lines = f.allLines();
    const snapshotsSaved = lines.filter((l) => l.line.msg === 'snapshot saved').length;
    const fromSnapshot = lines.filter(
      (l) => l.line.msg.startsWith('history replayed') && Number(l.line.fromSnapshot) > 0,
    ).length;
    // Terms a live process ended on its own (it lost its lease, or an append): reported, not judged.
    const stepBacks = lines.filter((l) => l.line.msg.includes('stepping back')).length;
    expect(snapshotsSaved).toBeGreaterThan(0);
    expect(fromSnapshot).toBeGreaterThan(0);

    const outage = faults.find((x) => x.label === 'nats kill');
    const submitsAcrossOutage = submitCalls.filter(
      (c) => outage !== undefined && c.from <= outage.to && c.to >= outage.from,
    ).length;
    // The submitter met the outage (unless it had submitted everything before it).
    if (outage !== undefined && allSubmittedAt > outage.from) expect(submitsAcrossOutage).toBeGreaterThan(0);
    if (process.env.CHAOS_VERBOSE) {
      const warnings = lines
        .filter(
          (l) =>
            Number(l.line.level) >= 40 || /NATS|claimed|replayed|lease|redeliver|standing/.test(l.line.msg),
        )
        .map((l) => `${rel(l.line.time)} ${l.label} ${l.line.msg} ${String(l.line.err ?? '')}`);
      console.log(`chaos: timeline\n${timeline.join('\n')}\nchaos: warnings\n${warnings.join('\n')}`);
    }
    console.log(
      `chaos: seed=${SEED}${CLUSTER ? ' cluster=3' : ''} tasks=${TASKS} concurrency=${concurrency} latency=${latencyMs}ms agentKills=${agentKills} keyedTasks=${KEYED_TASKS} keyedHostKills=${keyedKills} natsKills=1 takeover=${takeoverMs}ms recovery=${recoveryMs.join('/')}ms requests=${requests.length} repeatedCalls=${repeatedCalls} tasksRepeated=${tasksRepeated} repeatsPerFault=${faults.map((x) => x.repeats).join('/')} submitRetries=${submitRetries} submitsAcrossOutage=${submitsAcrossOutage} snapshots=${snapshotsSaved} resumesFromSnapshot=${fromSnapshot} stepBacks=${stepBacks} commits=${history.length} duration=${(duration / 1000).toFixed(1)}s`,
    );
  });
});
