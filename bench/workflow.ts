/**
 * pnpm bench (third part): what the coordinator adds to agent work, on a real nats-server with
 * the fake model at zero latency.
 * - a 3-step chain, run one at a time: submit to result, next to 3 single tasks sent one at a
 *   time to the same idle agents (the coordinator's cost per hop is the difference / 3);
 * - one map step over --items items on an agent of concurrency 32: tasks/s through the fan-out,
 *   against the same number of tasks sent straight to that agent at once;
 * - a coordinator term's catch-up on results with --results results stored: the whole results
 *   stream read from its start (how a term started before) against a watch from now plus a
 *   lookup by id of each running task (how it starts now), in the same run;
 * - the replay of the coordinator's history written by the runs above.
 * Options: bench/args.ts (pnpm bench --help).
 */
import { anthropicModel } from '@spool/claude';
import { startCoordinator } from '@spool/coordinator';
import {
  AgentSpecSchema,
  applyCoordinatorCommit,
  COORDINATOR,
  initialCoordinatorState,
  parseCoordinatorCommit,
  type TaskResult,
  WorkflowSchema,
} from '@spool/core/internal';
import {
  connect,
  historyStore,
  provision,
  results,
  type SpoolConnection,
  submitTask,
  submitWorkflow,
  watchResults,
} from '@spool/jetstream';
import { startAgentOnNats } from '@spool/runtime';
import { startFakeClaude, startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';
import { checkGoal } from './goals.ts';

const { values: args, json } = benchArgs('workflow');
const RUNS = args.runs;
const ITEMS = args.items;
const RESULTS = args.results;
const say = (line: string) => {
  if (!json) console.log(line);
};
const logger = pino({ level: 'silent' });
/** Running tasks a restarted coordinator looks up by id in the catch-up comparison. */
const OPEN_TASKS = 10;

const WORKFLOWS = {
  chain: WorkflowSchema.parse({
    steps: {
      first: { agent: 'alpha', input: 'one {{input}}' },
      second: { agent: 'beta', input: 'two {{steps.first.output}}' },
      third: { agent: 'alpha', input: 'three {{steps.second.output}}' },
    },
  }),
  fan: WorkflowSchema.parse({
    steps: {
      list: { agent: 'alpha', input: 'LIST {{input}}' },
      each: { agent: 'alpha', map: 'list', input: 'item {{item}}' },
    },
  }),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const nats = await startNats();
const fake = await startFakeClaude({
  // The fan-out's list step gets a JSON array of ITEMS items; everything else an echo.
  responder: (body) => {
    const last = body.messages?.at(-1)?.content;
    const text = typeof last === 'string' ? last : '';
    return text.startsWith('LIST')
      ? JSON.stringify(Array.from({ length: ITEMS }, (_, i) => `i${i}`))
      : `ok ${text.slice(0, 40)}`;
  },
});
try {
  const connection = await connect({ url: nats.url, name: 'bench-workflow', logger });
  await provision(connection);
  const model = anthropicModel({ baseURL: fake.url, apiKey: 'bench', maxRetries: 0 });
  const spec = AgentSpecSchema.parse({ instructions: 'Bench.', model: 'claude-sonnet-4-6', concurrency: 32 });
  const agents = await Promise.all(
    ['alpha', 'beta'].map((name) =>
      startAgentOnNats(connection, { name, spec, holder: 'bench', model, logger }),
    ),
  );
  await Promise.all(agents.map((a) => a.ready));
  const coordinator = await startCoordinator({
    connection,
    agents: ['alpha', 'beta'],
    workflows: WORKFLOWS,
    holder: 'bench',
    logger,
  });
  await coordinator.ready;
  say(`nats-server on ${nats.url}; fake model at zero latency; agents of concurrency 32`);

  const sink = results(connection);
  const timed = async (agent: string, id: string, send: () => Promise<unknown>) => {
    const started = performance.now();
    const done = sink.wait(agent, id);
    await send();
    await done;
    return performance.now() - started;
  };

  // One task at a time, then one chain at a time, both warmed up once first.
  await timed('alpha', 'warm-task', () =>
    submitTask(connection, 'alpha', { id: 'warm-task', input: 'warm' }),
  );
  await timed(COORDINATOR, 'warm-chain', () =>
    submitWorkflow(connection, { id: 'warm-chain', workflow: 'chain', input: 'warm' }),
  );
  const task: number[] = [];
  const chain: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const agent = i % 2 === 0 ? 'alpha' : 'beta';
    task.push(
      await timed(agent, `t-${i}`, () => submitTask(connection, agent, { id: `t-${i}`, input: `t ${i}` })),
    );
    chain.push(
      await timed(COORDINATOR, `c-${i}`, () =>
        submitWorkflow(connection, { id: `c-${i}`, workflow: 'chain', input: `c ${i}` }),
      ),
    );
  }
  const perHop = (median(chain) - 3 * median(task)) / 3;
  say(`one task to an idle agent:     median ${median(task).toFixed(1)} ms (${RUNS} tasks)`);
  say(
    `a 3-step chain, one at a time: median ${median(chain).toFixed(1)} ms (${RUNS} runs): the coordinator adds ${perHop.toFixed(1)} ms per step`,
  );

  const fanMs = await timed(COORDINATOR, 'fan-1', () =>
    submitWorkflow(connection, { id: 'fan-1', workflow: 'fan', input: 'x' }),
  );
  const fanRate = (ITEMS + 1) / (fanMs / 1000);
  say(
    `a map step over ${ITEMS} items: ${fanMs.toFixed(0)} ms for the run, ${fanRate.toFixed(0)} step tasks/s`,
  );

  // The same number of tasks sent straight to the map's agent, all at once: the rate the fan-out
  // is held against (the goal: a map step at least half the single-agent task rate).
  const directStarted = performance.now();
  await Promise.all(
    Array.from({ length: ITEMS }, (_, i) =>
      timed('alpha', `d-${i}`, () => submitTask(connection, 'alpha', { id: `d-${i}`, input: `item i${i}` })),
    ),
  );
  const directRate = ITEMS / ((performance.now() - directStarted) / 1000);
  say(`the same ${ITEMS} tasks straight to the agent: ${directRate.toFixed(0)} tasks/s`);
  checkGoal(
    {
      part: 'workflow',
      goal: `a map step over ${ITEMS} items against the same tasks sent to its agent`,
      measured: (fanRate / directRate) * 100,
      bound: 'at-least',
      target: 50,
      unit: '%',
    },
    say,
  );

  const catchUp = await resultsCatchUp(connection, RESULTS);
  say(
    `a coordinator term's catch-up with ${RESULTS} stored results: reading them all ${catchUp.fromStartMs.toFixed(0)} ms (before); watch from now + ${OPEN_TASKS} lookups ${catchUp.byIdMs.toFixed(1)} ms (now)`,
  );

  const replay = await coordinatorReplay(connection);
  say(
    `replaying the coordinator's history: ${replay.ms.toFixed(0)} ms for ${replay.commits} commits (${replay.runs} runs)`,
  );

  await coordinator.stop();
  await Promise.all(agents.map((a) => a.stop()));
  await connection.close();
  if (json)
    console.log(
      JSON.stringify({
        runs: RUNS,
        taskMedianMs: median(task),
        chainMedianMs: median(chain),
        coordinatorMsPerStep: perHop,
        fanItems: ITEMS,
        fanRunMs: fanMs,
        fanTasksPerSec: fanRate,
        directTasksPerSec: directRate,
        storedResults: RESULTS,
        catchUpFromStartMs: catchUp.fromStartMs,
        catchUpByIdMs: catchUp.byIdMs,
        coordinatorReplayMs: replay.ms,
        coordinatorCommits: replay.commits,
      }),
    );
} finally {
  await fake.close();
  await nats.close();
}

/** Stores `count` more results, then times both ways a term can catch up on them. */
async function resultsCatchUp(
  connection: SpoolConnection,
  count: number,
): Promise<{ fromStartMs: number; byIdMs: number }> {
  const sink = results(connection);
  const result = (i: number): TaskResult => ({
    taskId: `old-${i}`,
    agent: 'history',
    status: 'completed',
    output: `an old result of about a hundred characters, as a short model answer would be: ${i}`,
    usage: { inputTokens: 10, outputTokens: 10, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
    steps: 1,
    attempts: 1,
    finishedAt: new Date().toISOString(),
  });
  for (let i = 0; i < count; i += 256)
    await Promise.all(
      Array.from({ length: Math.min(256, count - i) }, (_, k) => sink.publish(result(i + k))),
    );

  let started = performance.now();
  const all = await watchResults(connection);
  const reading = (async () => {
    for await (const _ of all) {
      // drained until caught up
    }
  })();
  await all.caughtUp;
  const fromStartMs = performance.now() - started;
  await all.stop();
  await reading;

  started = performance.now();
  const live = await watchResults(connection, undefined, { from: 'now' });
  for (let i = 0; i < OPEN_TASKS; i++) await sink.get('history', `old-${count - 1 - i * 7}`);
  const byIdMs = performance.now() - started;
  await live.stop();
  return { fromStartMs, byIdMs };
}

async function coordinatorReplay(
  connection: SpoolConnection,
): Promise<{ ms: number; commits: number; runs: number }> {
  const started = performance.now();
  const state = initialCoordinatorState();
  let commits = 0;
  for await (const commit of historyStore(connection, parseCoordinatorCommit).replay(COORDINATOR)) {
    applyCoordinatorCommit(state, commit);
    commits += 1;
  }
  return { ms: performance.now() - started, commits, runs: state.workflows.size };
}
