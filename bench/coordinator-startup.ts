/**
 * pnpm bench, fifth part: the coordinator's start-up after 1k and after --finished-runs
 * (default 100k) finished workflow runs. Each history is written as the coordinator journals
 * it (every command decided by core's coordinator logic, one commit each), then the workflow
 * actor is started on it twice: with the snapshot it keeps (the newest 1000 published runs and
 * the runs in flight) and, for comparison, with no snapshot (the whole history folded).
 * Options: bench/args.ts (pnpm bench --help).
 */
import { startWorkflowActor } from '@spool/coordinator';
import {
  applyCoordinatorCommit,
  COORDINATOR,
  type CoordinatorCommand,
  type CoordinatorEvent,
  coordinatorToSnapshot,
  decideCoordinator,
  initialCoordinatorState,
  parseConfig,
  zeroUsage,
} from '@spool/core/internal';
import { connect, historyStore, provision, type SpoolConnection, snapshotStore } from '@spool/jetstream';
import { startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';

const { values: args, json } = benchArgs('coordinator');
const say = (line: string) => {
  if (!json) console.log(line);
};
const logger = pino({ level: 'warn' });
const at = new Date().toISOString();
const config = parseConfig({
  agents: { echo: { instructions: 'Echo.', model: 'claude-sonnet-4-6' } },
  workflows: { one: { steps: { say: { agent: 'echo', input: '{{input}}' } } } },
});
const definition = config.workflows.one;

/**
 * Writes `runs` finished runs into the coordinator's history, as it would: each command decided
 * against the state, its events one commit. Commits are published in windows (a bench set-up,
 * not the product's fenced append); returns the final state.
 */
async function writeHistory(connection: SpoolConnection, runs: number) {
  const store = historyStore(connection);
  const state = initialCoordinatorState();
  let seq = 0;
  let pending: Promise<unknown>[] = [];
  const commit = async (command: CoordinatorCommand) => {
    const events: CoordinatorEvent[] = decideCoordinator(state, command);
    if (events.length === 0) return;
    seq += 1;
    applyCoordinatorCommit(state, { seq, events });
    // A fresh server holds only this history, so its stream sequence is the commit count: the
    // appends are fenced as the coordinator's are, and pipelined (sent in order) to write fast.
    pending.push(store.append(COORDINATOR, events, seq - 1));
    if (pending.length >= 256) {
      await Promise.all(pending);
      pending = [];
    }
  };
  for (let i = 0; i < runs; i++) {
    const workflowId = `wf-${i}`;
    await commit({ type: 'StartWorkflow', workflowId, workflow: 'one', input: `hi ${i}`, definition, at });
    const taskId = `${workflowId}:say:0:1`;
    await commit({ type: 'MarkSent', taskId, inboxSeq: i + 1, at });
    await commit({
      type: 'ObserveResult',
      result: {
        taskId,
        agent: 'echo',
        status: 'completed',
        output: `hi ${i}`,
        usage: zeroUsage(),
        steps: 1,
        attempts: 1,
        finishedAt: at,
      },
      at,
    });
    await commit({ type: 'MarkPublished', workflowId, resultSeq: i + 1, at });
  }
  await Promise.all(pending);
  return state;
}

async function startUpMs(connection: SpoolConnection): Promise<number> {
  const started = performance.now();
  const actor = startWorkflowActor({
    connection,
    workflows: config.workflows,
    schedules: {},
    holder: 'bench',
    logger,
  });
  await actor.ready;
  const ms = performance.now() - started;
  await actor.stop();
  return ms;
}

const figures: Record<
  string,
  { runs: number; commits: number; withSnapshotMs: number; fullReplayMs: number }
> = {};
for (const runs of [1000, args['finished-runs']]) {
  await using nats = await startNats();
  const connection = await connect({ url: nats.url, name: 'bench-coordinator' });
  await provision(connection);
  const writing = performance.now();
  const state = await writeHistory(connection, runs);
  say(
    `coordinator history of ${runs} finished runs: ${state.seq} commits written in ${((performance.now() - writing) / 1000).toFixed(1)} s`,
  );
  const fullReplayMs = await startUpMs(connection);
  const snapshots = await snapshotStore(connection);
  await snapshots.save(COORDINATOR, state.seq, coordinatorToSnapshot(state));
  const withSnapshotMs = await startUpMs(connection);
  figures[runs] = { runs, commits: state.seq, withSnapshotMs, fullReplayMs };
  say(
    `  start-up with its snapshot: ${withSnapshotMs.toFixed(0)} ms; folding the whole history: ${fullReplayMs.toFixed(0)} ms`,
  );
  await connection.close();
}
if (json) console.log(JSON.stringify({ part: 'coordinator-startup', figures: Object.values(figures) }));
