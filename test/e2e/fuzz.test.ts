/**
 * Property-based tests: thousands of random and malformed inbox and control messages thrown at
 * a running agent (real nats-server, real SDK to the fake Messages API, agent in this process).
 *
 *   FUZZ_SEED=<n> [FUZZ_PATH=<p>]  replay a failing run (the failure message prints both)
 *   FUZZ_SCALE=<x>                 multiply the number of runs (default 1)
 *   FUZZ_SHRINK=1                  shrink a counterexample (slow: every try runs a real agent)
 *
 * What the generated messages leave out on purpose, each covered by a focused test at the end
 * (the bugs the fuzzing found there are fixed): ids of the form `inbox-<n>`, `__proto__` keys in
 * `meta`, deeply nested JSON, and messages near the 1 MB NATS payload limit.
 */
import { jetstream } from '@nats-io/jetstream';
import { subjects, type TaskResult } from '@spool/core';
import { results } from '@spool/jetstream';
import type { AgentHandle } from '@spool/runtime';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countBy } from '../support/broker.ts';
import {
  type ControlExpectation,
  type ControlStep,
  controlStep,
  decoded,
  expectControl,
  expectInbox,
  type InboxExpectation,
  inboxRun,
  materialize,
  sizeOf,
} from '../support/fuzz-messages.ts';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, capturingLogger, runAgentInProcess, startWorld, type World } from '../support/world.ts';

const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const PATH = process.env.FUZZ_PATH;
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

/** Lines that mean the agent fell over (a term ended on an error, an effect had to be retried). */
const TROUBLE = /agent stopped on an error|history append failed|step failed|another writer|stepping back/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const excerpt = (text: string) => JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
/** `toMatch` that prints both sides in full (vitest shortens long strings). */
function expectMatch(actual: string | undefined, pattern: RegExp, label: string): void {
  if (actual === undefined || !pattern.test(actual))
    throw new Error(`${label}\n  got:      ${JSON.stringify(actual)}\n  expected: ${pattern}`);
}
const uniq = () => Math.random().toString(36).slice(2, 7);

/**
 * fast-check parameters. The reporter replaces the default one: a counterexample here is
 * hundreds of messages (some of 200 KB), so the report names the seed, the path and the
 * error, and only the start of the counterexample.
 */
function params<T>(numRuns: number): fc.Parameters<T> {
  return {
    numRuns: Math.max(1, Math.round(numRuns * SCALE)),
    ...(SEED === undefined ? {} : { seed: SEED }),
    ...(PATH === undefined ? {} : { path: PATH }),
    endOnFailure: process.env.FUZZ_SHRINK === undefined,
    reporter: (out) => {
      if (!out.failed) return;
      const example = fc.stringify(out.counterexample).slice(0, 1_500);
      const error =
        out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
      throw new Error(
        `property failed after ${out.numRuns} run(s) (${out.numShrinks} shrink(s)); replay with ` +
          `FUZZ_SEED=${out.seed} FUZZ_PATH=${out.counterexamplePath}\n${error}\ncounterexample (start): ${example}`,
      );
    },
  };
}

/** Keeps the agent's handle honest: it must still be running when asked. */
function stillRunning(agent: AgentHandle, settled: { done: boolean }) {
  expect(settled.done, 'the agent loop ended').toBe(false);
  const state = agent.state();
  expect(state, 'the agent has no active term (it stopped or stepped back)').toBeDefined();
  return state as NonNullable<typeof state>;
}

async function stopWithin(agent: AgentHandle, ms: number): Promise<void> {
  await Promise.race([
    agent.stop(),
    sleep(ms).then(() => {
      throw new Error(`agent ${agent.name} did not stop within ${ms} ms`);
    }),
  ]);
}

describe('fuzz - random and malformed messages never stop an agent', () => {
  let world: World;
  let js: ReturnType<typeof jetstream>;
  const stats = {
    inboxRuns: 0,
    inboxMessages: 0,
    inboxRejected: 0,
    inboxValid: 0,
    inboxDuplicates: 0,
    inboxHuge: 0,
    inboxMs: 0,
    controlRuns: 0,
    controlMessages: 0,
    controlRefused: 0,
    controlValid: 0,
    controlTasks: 0,
    controlEndedPaused: 0,
    controlCancelledTasks: 0,
    controlMs: 0,
  };

  beforeAll(async () => {
    world = await startWorld();
    js = jetstream(world.probe.nc);
  });
  afterAll(async () => {
    console.log(`fuzz summary: ${JSON.stringify(stats)}`);
    await world?.close();
  });

  const publishInbox = async (agent: string, payload: string | Uint8Array) =>
    (await js.publish(subjects.inbox(agent), payload)).seq;
  const publishControl = async (agent: string, payload: string | Uint8Array) =>
    (await js.publish(subjects.control(agent), payload)).seq;

  it('inbox: every message gets exactly one answer, on the right id, and valid tasks complete', async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(inboxRun(120, 260), async (specs) => {
        const run = ++stats.inboxRuns;
        const name = `fz-in-${run}-${uniq()}`;
        const { logger, messages: log } = capturingLogger();
        const agent = await runAgentInProcess(world, name, analystSpec({ concurrency: 4 }), { logger });
        const settled = { done: false };
        void agent.stopped.finally(() => {
          settled.done = true;
        });
        const requestsBefore = world.fake.requests.length;

        // Publish everything (the agent works meanwhile), then one last valid task.
        const sent: { why: string; text: string; seq: number; bytes: number }[] = [];
        for (const m of materialize(specs)) {
          const seq = await publishInbox(name, m.payload);
          sent.push({ why: m.why, text: decoded(m.payload), seq, bytes: sizeOf(m.payload) });
        }
        const finalId = `final-${run}`;
        const finalSeq = await publishInbox(name, JSON.stringify({ id: finalId, input: 'the last task' }));
        sent.push({
          why: 'final task',
          text: JSON.stringify({ id: finalId, input: 'the last task' }),
          seq: finalSeq,
          bytes: 0,
        });

        // The contract: the first message that names an id decides its one result; a later
        // message naming the same id (valid or not) is the same task and gets none of its own.
        const expected = new Map<string, { exp: InboxExpectation; why: string; text: string }>();
        for (const s of sent) {
          const exp = expectInbox(s.text, s.seq);
          if (!expected.has(exp.id)) expected.set(exp.id, { exp, why: s.why, text: s.text });
          else stats.inboxDuplicates += 1;
        }
        stats.inboxMessages += sent.length;
        stats.inboxHuge += sent.filter((s) => s.bytes > 200_000).length;

        await waitFor(
          `${expected.size} results from ${name}`,
          () => {
            const state = agent.state();
            return state !== undefined && state.recentlyDone.size >= expected.size && state.active.size === 0;
          },
          30_000,
          25,
        );
        const state = stillRunning(agent, settled);
        expect(log.filter((m) => TROUBLE.test(m))).toEqual([]);

        const stored = await world.probe.results(name);
        const dupes = [...countBy(stored, (r) => r.taskId)].filter(([, n]) => n > 1);
        expect(dupes, 'duplicated results').toEqual([]);
        expect(stored.map((r) => r.taskId).sort()).toEqual([...expected.keys()].sort());

        const byId = new Map<string, TaskResult>(stored.map((r) => [r.taskId, r]));
        let completed = 0;
        let rejected = 0;
        for (const [id, { exp, why, text }] of expected) {
          const result = byId.get(id) as TaskResult;
          const label = `${why} ${excerpt(text)} -> ${id}`;
          expect(result.agent, label).toBe(name);
          if (exp.ok) {
            completed += 1;
            expect(result.status, label).toBe('completed');
            expect(result.output, label).toBe(`fake reply to: ${exp.input}`);
            expect(result.meta, label).toEqual(exp.meta);
            expect(result.error, label).toBeUndefined();
          } else {
            rejected += 1;
            expect(result.status, `${label}: ${JSON.stringify(result.error)}`).toBe('rejected');
            expect(result.error?.code, `${label}: ${result.error?.message}`).toBe(exp.code);
            for (const says of exp.says) expectMatch(result.error?.message, says, label);
            expect(result.output, label).toBeUndefined();
            expect(result.steps, label).toBe(0);
          }
        }
        // Bad messages never reach the model; each valid task costs one call.
        expect(world.fake.requests.length - requestsBefore).toBe(completed);
        expect(state.counts).toMatchObject({
          received: completed,
          completed,
          rejected,
          failed: 0,
          cancelled: 0,
        });
        stats.inboxValid += completed;
        stats.inboxRejected += rejected;
        await stopWithin(agent, 15_000);
      }),
      params(10),
    );
    stats.inboxMs = Date.now() - started;
  }, 75_000);

  it('control: bad commands are refused with a reason, valid ones take effect, tasks still complete', async () => {
    const started = Date.now();
    world.fake.setLatency(15);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(controlStep, { minLength: 40, maxLength: 110 }), async (steps) => {
          await controlRun(steps);
        }),
        params(12),
      );
    } finally {
      world.fake.setLatency(0);
      stats.controlMs = Date.now() - started;
    }
  }, 75_000);

  async function controlRun(steps: readonly ControlStep[]): Promise<void> {
    const run = ++stats.controlRuns;
    const name = `fz-ctl-${run}-${uniq()}`;
    const { logger, messages: log } = capturingLogger();
    const agent = await runAgentInProcess(world, name, analystSpec({ concurrency: 2 }), { logger });
    const settled = { done: false };
    void agent.stopped.finally(() => {
      settled.done = true;
    });

    const taskCount = steps.filter((s) => s.t === 'task').length;
    const tasks = new Map<string, string>();
    const controls: { text: string; exp: ControlExpectation; why: string }[] = [];
    const sendControl = async (payload: string | Uint8Array, why: string) => {
      await publishControl(name, payload);
      const text = decoded(payload);
      controls.push({ text, exp: expectControl(text), why });
    };
    for (const step of steps) {
      switch (step.t) {
        case 'task': {
          const id = `c${tasks.size}`;
          tasks.set(id, step.input);
          await publishInbox(name, JSON.stringify({ id, input: step.input }));
          break;
        }
        case 'pause':
          await sendControl(
            JSON.stringify({ type: 'pause', ...(step.reason === undefined ? {} : { reason: step.reason }) }),
            'pause',
          );
          break;
        case 'resume':
          await sendControl('{"type":"resume"}', 'resume');
          break;
        case 'cancel': {
          const taskId =
            step.unknown || taskCount === 0 ? `never-${step.ref % 5}` : `c${step.ref % taskCount}`;
          const reason = step.reason === undefined ? {} : { reason: step.reason };
          await sendControl(JSON.stringify({ type: 'cancel', taskId, ...reason }), 'cancel');
          break;
        }
        case 'bad':
          await sendControl(step.payload, step.why);
          break;
      }
    }
    stats.controlMessages += controls.length;
    stats.controlTasks += tasks.size;

    // Every control message is answered by exactly one line, in order.
    const CONTROL_LINE =
      /^(control message refused: |(pause|resume|cancel): nothing to do \(|agent paused$|agent resumed$|task cancelled$|cancellation recorded; applies when the task arrives$)/;
    await waitFor(
      `${controls.length} control outcomes from ${name}`,
      () => log.filter((m) => CONTROL_LINE.test(m)).length >= controls.length,
      20_000,
      25,
    );
    stillRunning(agent, settled);
    const lines = log.filter((m) => CONTROL_LINE.test(m));
    expect(lines).toHaveLength(controls.length);

    // Replay the valid commands on a model of the contract.
    let paused = false;
    const cancels = new Map<string, { line: string; reason: string }[]>();
    for (const [i, { text, exp, why }] of controls.entries()) {
      const line = lines[i] as string;
      const label = `control #${i} (${why}) ${excerpt(text)}`;
      if (!exp.ok) {
        stats.controlRefused += 1;
        expectMatch(line, exp.says, label);
        continue;
      }
      stats.controlValid += 1;
      if (exp.type === 'pause') {
        expect(line, label).toBe(paused ? 'pause: nothing to do (already paused)' : 'agent paused');
        paused = true;
      } else if (exp.type === 'resume') {
        expect(line, label).toBe(paused ? 'agent resumed' : 'resume: nothing to do (not paused)');
        paused = false;
      } else {
        expect(line, label).toMatch(
          /^(task cancelled|cancellation recorded; .*|cancel: nothing to do \(.*\))$/,
        );
        const list = cancels.get(exp.taskId) ?? [];
        list.push({ line, reason: exp.reason ?? 'cancelled by an operator' });
        cancels.set(exp.taskId, list);
      }
    }
    expect(agent.state()?.paused, 'paused after the last valid pause/resume').toBe(paused);
    expect(log.filter((m) => TROUBLE.test(m))).toEqual([]);

    if (paused) {
      stats.controlEndedPaused += 1;
      // Paused: the model call in flight finishes, nothing new starts (a task started but not yet
      // calling stays `running`, parked), queued tasks wait. Tasks with a cancel are left out:
      // one cancelled before it arrived may still arrive now and end at once.
      const view = () => {
        const state = agent.state();
        const moving = [...(state?.active.values() ?? [])]
          .filter((t) => !cancels.has(t.taskId) && t.phase !== 'queued')
          .map((t) => `${t.taskId}:${t.phase}:${t.steps.length}`)
          .sort();
        const done = [...(state?.recentlyDone.keys() ?? [])].filter((id) => !cancels.has(id)).length;
        // Unanswered for over a second: a call aborted by a cancel (the fake never answers those).
        const inFlight = world.fake.requests.filter(
          (r) => r.status === 0 && Date.now() - r.at < 1_000,
        ).length;
        return {
          key: JSON.stringify({ moving, done, calls: world.fake.requests.length }),
          quiet: inFlight === 0 && moving.every((m) => m.includes(':running:')),
        };
      };
      let last = '';
      await waitFor(
        `${name} to settle while paused`,
        () => {
          const { key, quiet } = view();
          const settledNow = quiet && key === last;
          last = key;
          return settledNow;
        },
        10_000,
        100,
      ).catch((err) => {
        const phases = [...(agent.state()?.active.values() ?? [])].map((t) => `${t.taskId}:${t.phase}`);
        throw new Error(
          `${String(err)}; last view ${last}; active ${phases.join(' ')}; ${JSON.stringify(view())}`,
        );
      });
      await sleep(150);
      expect(view().key, 'work moved on while paused (results, model calls or steps)').toBe(last);
      await sendControl('{"type":"resume"}', 'final resume');
    }
    const finalId = `final-${run}`;
    tasks.set(finalId, 'the last task');
    await publishInbox(name, JSON.stringify({ id: finalId, input: 'the last task' }));

    await waitFor(
      `every task of ${name} to finish`,
      () => {
        const state = agent.state();
        return state !== undefined && [...tasks.keys()].every((id) => state.recentlyDone.has(id));
      },
      30_000,
      25,
    );
    const state = stillRunning(agent, settled);
    expect(state.paused).toBe(false);
    const stored = await world.probe.results(name);
    expect(
      [...countBy(stored, (r) => r.taskId)].filter(([, n]) => n > 1),
      'duplicated results',
    ).toEqual([]);
    expect(stored.map((r) => r.taskId).sort()).toEqual([...tasks.keys()].sort());
    for (const result of stored) {
      const asked = cancels.get(result.taskId) ?? [];
      const label = `${result.taskId}: ${JSON.stringify(asked)}`;
      if (result.status === 'completed') {
        expect(result.output, label).toBe(`fake reply to: ${tasks.get(result.taskId)}`);
        // Every cancel came too late.
        for (const c of asked)
          expect(c.line, label).toBe('cancel: nothing to do (the task has already finished)');
      } else {
        expect(result.status, label).toBe('cancelled');
        stats.controlCancelledTasks += 1;
        // The first cancel for the task took effect, with its reason; later ones did nothing.
        const [first, ...later] = asked;
        expect(first?.line, label).toMatch(
          /^(task cancelled|cancellation recorded; applies when the task arrives)$/,
        );
        expect(result.error, label).toEqual({ code: 'cancelled', message: first?.reason });
        for (const c of later) expect(c.line, label).toMatch(/^cancel: nothing to do \(/);
      }
    }
    expect(stored.find((r) => r.taskId === finalId)?.status).toBe('completed');
    // Cancels of ids that never arrived: the first is recorded, the rest find it on record.
    for (const [id, asked] of cancels) {
      if (tasks.has(id)) continue;
      expect(asked.map((c) => c.line)).toEqual(
        asked.map((_, i) =>
          i === 0
            ? 'cancellation recorded; applies when the task arrives'
            : 'cancel: nothing to do (cancellation already recorded)',
        ),
      );
      expect(state.cancelRequests.get(id)).toBe(asked[0]?.reason);
    }
    await stopWithin(agent, 15_000);
  }
});

/**
 * Product bugs the fuzzing found, now fixed; each test keeps the contract it broke.
 */
describe('fuzz findings - inputs that once broke the inbox contract', () => {
  let world: World;
  let js: ReturnType<typeof jetstream>;
  // A wedged journal rejects a promise nobody awaits; keep it from failing the whole file.
  const unhandled: unknown[] = [];
  const vitestListeners = process.listeners('unhandledRejection');
  const onUnhandled = (reason: unknown) => {
    unhandled.push(reason);
  };
  /** Agents left wedged by a bug: stopped without waiting (their stop never returns). */
  const wedged: AgentHandle[] = [];

  beforeAll(async () => {
    world = await startWorld();
    js = jetstream(world.probe.nc);
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    for (const agent of wedged) void agent.stop().catch(() => undefined);
    await world?.close();
    process.off('unhandledRejection', onUnhandled);
    for (const listener of vitestListeners) process.on('unhandledRejection', listener);
  });

  const publish = async (agent: string, payload: string) =>
    (await js.publish(subjects.inbox(agent), payload)).seq;

  // Found by fuzzing: `inbox-<seq>`, the answer id of an unreadable message, was also a valid task
  // id, so a task and a bad message could claim one result subject and one of them got no answer.
  // Fixed: task ids starting with "inbox-" are reserved (packages/core/src/task.ts).
  it('a valid task id of the form inbox-<n> and a bad message at sequence n each get an answer', async () => {
    const name = `fz-bug-fallback-${uniq()}`;
    const agent = await runAgentInProcess(world, name);
    const s1 = await publish(name, 'not json'); // rejected on inbox-<s1>
    const s2 = await publish(name, JSON.stringify({ id: `inbox-${s1}`, input: 'a valid task' }));
    // This world's inbox stream has no other publisher: the next two sequences are s2+1 and s2+2.
    await publish(name, JSON.stringify({ id: `inbox-${s2 + 2}`, input: 'another valid task' }));
    const s4 = await publish(name, '[1,2]'); // rejected on inbox-<s4> = inbox-<s2+2>
    await publish(name, JSON.stringify({ id: 'last', input: 'the last task' }));
    await results(world.connection).wait(name, 'last', AbortSignal.timeout(10_000));
    await agent.stop();
    expect(s4).toBe(s2 + 2);
    const stored = await world.probe.results(name);
    // Five messages, five answers on five different ids: "inbox-" ids are reserved, so the two
    // tasks that use one are rejected on their own sequence instead of taking another's answer.
    expect(stored.map((r) => [r.taskId, r.status, r.error?.code]).sort()).toEqual(
      [
        [`inbox-${s1}`, 'rejected', 'invalid_json'],
        [`inbox-${s2}`, 'rejected', 'invalid_task_id'],
        [`inbox-${s2 + 1}`, 'rejected', 'invalid_task_id'],
        [`inbox-${s4}`, 'rejected', 'invalid_message'],
        ['last', 'completed', undefined],
      ].sort(),
    );
  });

  // Found by fuzzing: JSON nested thousands of levels deep made JSON.stringify in the journal
  // overflow the stack and wedged the agent for good. Fixed: meta deeper than 32 levels is
  // rejected, and a command the journal cannot encode now fails alone (packages/runtime/src/journal.ts).
  it('deeply nested JSON in a task message gets an answer and does not wedge the agent', async () => {
    const name = `fz-bug-deep-${uniq()}`;
    const agent = await runAgentInProcess(world, name);
    wedged.push(agent);
    const depth = 20_000;
    await publish(name, `{"id":"deep-1","input":"x","meta":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
    await publish(name, JSON.stringify({ id: 'after-deep', input: 'still working?' }));
    const sink = results(world.connection);
    const after = await sink.wait(name, 'after-deep', AbortSignal.timeout(5_000)).catch((err) => {
      const seen = unhandled.map((r) => (r instanceof Error ? `${r.name}: ${r.message}` : String(r)));
      throw new Error(
        `the task after it got no answer (${String(err)}); unhandled rejections: ${seen.join('; ')}`,
      );
    });
    expect(after.status).toBe('completed');
    expect((await sink.get(name, 'deep-1'))?.status).toBeDefined();
    expect(unhandled).toEqual([]);
  }, 15_000);

  // Found by fuzzing: a message just under the 1 MB max payload fit the inbox but not its history
  // commit, and the client's refusal was retried as an unknown outcome for 60 s, blocking the
  // journal. Fixed: task messages over 512 KiB are rejected, and a client-side refusal is not retried.
  it('a valid task message near the 1 MB payload limit does not block the agent', async () => {
    const name = `fz-bug-big-${uniq()}`;
    const agent = await runAgentInProcess(world, name);
    wedged.push(agent);
    const shell = JSON.stringify({ id: 'big-1', input: 'x', meta: { blob: '' } });
    const payload = JSON.stringify({
      id: 'big-1',
      input: 'x',
      meta: { blob: 'm'.repeat(1_048_476 - shell.length) },
    });
    expect(payload.length).toBe(1_048_476); // 100 bytes under max_payload: the inbox stores it
    await publish(name, payload);
    await publish(name, JSON.stringify({ id: 'after-big', input: 'still working?' }));
    const after = await results(world.connection).wait(name, 'after-big', AbortSignal.timeout(5_000));
    expect(after.status).toBe('completed');
  }, 15_000);

  // Found by fuzzing: a `meta` key named `__proto__` was dropped (zod's record copies keys onto a
  // plain object). Fixed: meta is kept as the object that was parsed (MetaSchema in task.ts).
  it('meta with a "__proto__" key comes back in the result as sent', async () => {
    const name = `fz-bug-proto-${uniq()}`;
    const agent = await runAgentInProcess(world, name);
    await publish(name, '{"id":"proto-meta","input":"x","meta":{"__proto__":{"polluted":true},"k":1}}');
    await results(world.connection).wait(name, 'proto-meta', AbortSignal.timeout(10_000));
    await agent.stop();
    const [stored] = await world.probe.results(name);
    expect(JSON.stringify(stored?.meta)).toBe('{"__proto__":{"polluted":true},"k":1}');
  });
});
