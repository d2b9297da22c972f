/**
 * pnpm bench (second part): recovery time of an agent with a long history, with and without a
 * snapshot, on a real nats-server. Writes a history of --events events (default 100 000) as an
 * agent would, --group tasks per commit (default 1), then restores the state three times each way.
 * Options: bench/args.ts (pnpm bench --help).
 */

import { spawn } from 'node:child_process';
import { jetstream } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import { parseAgentCommit, toSnapshot } from '@spool/core/internal';
import { connect, historyStore, provision, snapshotStore } from '@spool/jetstream';
import { restoreState } from '@spool/runtime';
import { startNats } from '@spool/testkit';
import { pino } from 'pino';
import { benchArgs } from './args.ts';
import { checkGoal } from './goals.ts';
import { writeHistory } from './history.ts';

const { values: args, json } = benchArgs('recovery');
const EVENTS = args.events;
/** Tasks whose commands share one commit, as concurrent tasks do (1: an agent with concurrency 1, the most commits). */
const GROUP = args.group;
const say = (line: string) => {
  if (!json) console.log(line);
};
const AGENT = 'recovering';
/** A short history beside it, for the RSS an agent has after replaying little. */
const SMALL_AGENT = 'recovering-small';
const SMALL_EVENTS = 1_000;
/** Events after the snapshot: a snapshot every 1000 events leaves at most this tail. */
const TAIL = 1_000;
const logger = pino({ level: 'silent' });
const decoder = new TextDecoder();
const RESTORE_PROCESS = new URL('./restore-process.ts', import.meta.url).pathname;

const nats = await startNats();
try {
  const connection = await connect({ url: nats.url, name: 'bench-recovery', logger });
  await provision(connection);
  const store = historyStore(connection, parseAgentCommit);
  const snapshots = await snapshotStore(connection);

  /** Writes `events` events for `agent`, with the snapshot taken about TAIL events before the end (or at its start). */
  const writeWithSnapshot = async (agent: string, events: number) => {
    let snapshot: ReturnType<typeof toSnapshot> | undefined;
    const state = await writeHistory(store, agent, events, {
      group: GROUP,
      afterCommit: (folded, written) => {
        if (snapshot === undefined && written >= events - TAIL) snapshot = toSnapshot(folded);
      },
    });
    return { state, snapshot: snapshot ?? toSnapshot(state) };
  };

  say(`nats-server on ${nats.url}; writing a history of ${EVENTS} events…`);
  const writeStarted = performance.now();
  const { state, snapshot } = await writeWithSnapshot(AGENT, EVENTS);
  say(
    `  written in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s (${state.seq} is the last sequence)`,
  );
  const saved = await snapshots.save(AGENT, snapshot.seq, snapshot);
  say(
    `  snapshot about ${TAIL} events before the end: ${(saved.bytes / 1024).toFixed(0)} KiB gzipped in ${saved.chunks} chunk(s)`,
  );

  // The short history has a snapshot too, as far from its end as the long one's (or at its start):
  // recovery from a snapshot should take as long after 1k events as after --events.
  const { snapshot: smallSnapshot } = await writeWithSnapshot(SMALL_AGENT, SMALL_EVENTS);
  await snapshots.save(SMALL_AGENT, smallSnapshot.seq, smallSnapshot);
  const small = await restoreInProcess(nats.url, SMALL_AGENT);
  const large = await restoreInProcess(nats.url, AGENT);
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  say(
    `an agent process after replaying ${SMALL_EVENTS} events: RSS ${mib(small.rss)} (heap ${mib(small.heapUsed)}); after ${EVENTS}: RSS ${mib(large.rss)} (heap ${mib(large.heapUsed)}), ${(large.rss / small.rss).toFixed(2)}×`,
  );
  const ordered = await measureOrdered(nats.url, state.seq);
  say(
    `an ordered consumer reading + JSON.parse of the same history: ${ordered.ms.toFixed(0)} ms (median of 3; ${ordered.messages} messages)`,
  );
  const full = await measure(() => restoreState(AGENT, store, undefined, logger));
  const fast = await measure(() => restoreState(AGENT, store, snapshots, logger));
  say(
    `recovery without a snapshot: ${full.ms.toFixed(0)} ms (median of 3; ${full.commits} commits replayed)`,
  );
  say(
    `replay: ${((full.commits / full.ms) * 1000).toFixed(0)} commits/s, ${(ordered.ms / full.ms).toFixed(2)} of the ordered consumer's rate`,
  );
  say(
    `recovery with a snapshot:    ${fast.ms.toFixed(0)} ms (median of 3; ${fast.commits} commits replayed after it)`,
  );
  const smallFast = await measure(() => restoreState(SMALL_AGENT, store, snapshots, logger));
  say(
    `recovery with a snapshot after ${SMALL_EVENTS} events: ${smallFast.ms.toFixed(0)} ms (median of 3; ${smallFast.commits} commits replayed after it)`,
  );
  const goal = (g: Omit<Parameters<typeof checkGoal>[0], 'part'>) =>
    checkGoal({ part: 'recovery', ...g }, say);
  goal({
    goal: `replay of ${EVENTS} events against an ordered consumer reading + parsing them`,
    measured: ordered.ms / full.ms,
    bound: 'at-least',
    target: 0.8,
    unit: '×',
  });
  goal({
    goal: `recovery from a snapshot after ${EVENTS} events against after ${SMALL_EVENTS} (flat)`,
    measured: fast.ms / smallFast.ms,
    bound: 'at-most',
    target: 1.5,
    unit: '×',
  });
  goal({
    goal: `an agent's RSS after replaying ${EVENTS} events against after ${SMALL_EVENTS}`,
    measured: large.rss / small.rss,
    bound: 'at-most',
    target: 1.5,
    unit: '×',
  });
  if (json)
    console.log(
      JSON.stringify({
        events: EVENTS,
        commits: state.seq,
        snapshotKiB: Math.round(saved.bytes / 1024),
        fullReplayMs: Math.round(full.ms),
        orderedReadMs: Math.round(ordered.ms),
        replayVsOrdered: ordered.ms / full.ms,
        fromSnapshotMs: Math.round(fast.ms),
        fromSnapshotSmallMs: Math.round(smallFast.ms),
        tailCommits: fast.commits,
        rssAfterSmall: small.rss,
        rssAfterAll: large.rss,
        rssRatio: large.rss / small.rss,
      }),
    );
  await connection.close();
} finally {
  await nats.close();
}

/** Restores `agent` from its whole history in a process of its own: its RSS and heap after a GC. */
async function restoreInProcess(url: string, agent: string) {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', import.meta.resolve('tsx'), RESTORE_PROCESS, url, agent],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the restore process exited with ${code}`);
  return JSON.parse(out) as { rss: number; heapUsed: number; ms: number; commits: number };
}

/** The floor for replay: an ordered consumer on the agent's subject, each message JSON-parsed and dropped. */
async function measureOrdered(url: string, lastSeq: number) {
  const nc = await natsConnect({ servers: url });
  const js = jetstream(nc);
  const runs: { ms: number; messages: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const consumer = await js.consumers.get('SPOOL_HISTORY', { filter_subjects: `spool.history.${AGENT}` });
    const messages = await consumer.consume();
    let count = 0;
    for await (const m of messages) {
      JSON.parse(decoder.decode(m.data));
      count += 1;
      if (m.seq >= lastSeq) break;
    }
    await messages.close();
    runs.push({ ms: performance.now() - started, messages: count });
  }
  await nc.close();
  runs.sort((a, b) => a.ms - b.ms);
  return runs[1] as { ms: number; messages: number };
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
