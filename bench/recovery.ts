/**
 * pnpm bench (second part): recovery time of an agent with a long history, with and without a
 * snapshot, on a real nats-server. Writes a history of --events events (default 100 000) as an
 * agent would, --group tasks per commit (default 1), then restores the state three times each way.
 * Options: bench/args.ts (pnpm bench --help).
 */
import { parseAgentCommit, toSnapshot } from '@spool/core/internal';
import { connect, historyStore, provision, snapshotStore } from '@spool/jetstream';
import { restoreState } from '@spool/runtime';
import { startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';
import { writeHistory } from './history.ts';

const { values: args, json } = benchArgs('recovery');
const EVENTS = args.events;
/** Tasks whose commands share one commit, as concurrent tasks do (1: an agent with concurrency 1, the most commits). */
const GROUP = args.group;
const say = (line: string) => {
  if (!json) console.log(line);
};
const AGENT = 'recovering';
/** Events after the snapshot: a snapshot every 1000 events leaves at most this tail. */
const TAIL = 1_000;
const logger = pino({ level: 'silent' });

const nats = await startNats();
try {
  const connection = await connect({ url: nats.url, name: 'bench-recovery', logger });
  await provision(connection);
  const store = historyStore(connection, parseAgentCommit);
  const snapshots = await snapshotStore(connection);

  say(`nats-server on ${nats.url}; writing a history of ${EVENTS} events…`);
  const writeStarted = performance.now();
  let snapshot: ReturnType<typeof toSnapshot> | undefined;
  const state = await writeHistory(store, AGENT, EVENTS, {
    group: GROUP,
    afterCommit: (folded, written) => {
      if (snapshot === undefined && written >= EVENTS - TAIL) snapshot = toSnapshot(folded);
    },
  });
  snapshot ??= toSnapshot(state);
  say(
    `  written in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s (${state.seq} is the last sequence)`,
  );
  const saved = await snapshots.save(AGENT, snapshot.seq, snapshot);
  say(
    `  snapshot about ${TAIL} events before the end: ${(saved.bytes / 1024).toFixed(0)} KiB gzipped in ${saved.chunks} chunk(s)`,
  );

  const full = await measure(() => restoreState(AGENT, store, undefined, logger));
  const fast = await measure(() => restoreState(AGENT, store, snapshots, logger));
  say(
    `recovery without a snapshot: ${full.ms.toFixed(0)} ms (median of 3; ${full.commits} commits replayed)`,
  );
  say(
    `recovery with a snapshot:    ${fast.ms.toFixed(0)} ms (median of 3; ${fast.commits} commits replayed after it)`,
  );
  if (json)
    console.log(
      JSON.stringify({
        events: EVENTS,
        commits: state.seq,
        snapshotKiB: Math.round(saved.bytes / 1024),
        fullReplayMs: Math.round(full.ms),
        fromSnapshotMs: Math.round(fast.ms),
        tailCommits: fast.commits,
      }),
    );
  await connection.close();
} finally {
  await nats.close();
}

async function measure(restore: () => ReturnType<typeof restoreState>) {
  const runs: { ms: number; commits: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const restored = await restore();
    runs.push({ ms: performance.now() - started, commits: restored.replayed });
  }
  runs.sort((a, b) => a.ms - b.ms);
  return runs[1] as { ms: number; commits: number };
}
