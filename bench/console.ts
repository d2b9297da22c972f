/**
 * pnpm bench (seventh part): what the web console's task page costs on a long history. Writes
 * an agent history of --console-events events (default 20 000) on a real nats-server, serves
 * the console on loopback in this process, and times its task API (`GET /api/tasks/<agent>/<task>`,
 * what the page asks every 2 s): the first open of a task, a refresh with nothing new, and a
 * refresh after a new task's commits were appended. Options: bench/args.ts (pnpm bench --help).
 */
import { finishedCount, parseAgentCommit } from '@spool/core/internal';
import { connect, historyStore, provision } from '@spool/jetstream';
import { startNats } from '@spool/testkit';
import { pino } from 'pino';
import { startConsole } from '../apps/cli/src/console/server.ts';
import { benchArgs } from './args.ts';
import { writeHistory } from './history.ts';

const { values: args, json } = benchArgs('console');
const EVENTS = args['console-events'];
const AGENT = 'long-lived';
const REFRESHES = 10;
const say = (line: string) => {
  if (!json) console.log(line);
};
const logger = pino({ level: 'silent' });

const nats = await startNats();
try {
  const connection = await connect({ url: nats.url, name: 'bench-console', logger });
  await provision(connection);
  const store = historyStore(connection, parseAgentCommit);
  say(`nats-server on ${nats.url}; writing a history of ${EVENTS} events…`);
  const state = await writeHistory(store, AGENT, EVENTS);
  const tasks = finishedCount(state);
  const console_ = await startConsole({
    host: '127.0.0.1',
    port: 0,
    token: 'bench',
    natsUrl: nats.url,
    connection: () => connection,
    logger,
  });
  const get = async (path: string) => {
    const started = performance.now();
    const res = await fetch(`${console_.url}api/${path}`);
    if (!res.ok) throw new Error(`the console answered ${res.status}: ${await res.text()}`);
    await res.json();
    return performance.now() - started;
  };
  const taskPage = (taskId: string) => get(`tasks/${AGENT}/${taskId}`);
  const median = async (path: string) => {
    const runs: number[] = [];
    for (let i = 0; i < REFRESHES; i++) runs.push(await get(path));
    return runs.sort((a, b) => a - b)[Math.floor(REFRESHES / 2)] as number;
  };

  const last = `task-${tasks - 1}`;
  const middle = `task-${Math.floor(tasks / 2)}`;
  const firstOpen = await taskPage(last);
  const refresh = await median(`tasks/${AGENT}/${last}`);
  // What any request costs here (HTTP on loopback, no NATS read): the floor under the others.
  const floor = await median('session');
  const otherTask = await taskPage(middle);
  // New commits since the last refresh: the page's refresh reads them.
  await writeHistory(store, AGENT, 4, { state });
  const appended = `task-${tasks}`;
  const refreshAfterNew = await taskPage(last);
  const newTask = await taskPage(appended);
  say(`  ${state.seq} is the last sequence; ${tasks} tasks`);
  say(`task page, first open (console just started): ${firstOpen.toFixed(0)} ms`);
  say(`task page, refresh with nothing new:        ${refresh.toFixed(1)} ms (median of ${REFRESHES})`);
  say(`(any API request, no NATS read:         ${floor.toFixed(1)} ms, median of ${REFRESHES})`);
  say(`task page, another task (a middle one):     ${otherTask.toFixed(1)} ms`);
  say(`task page, refresh after a new task:        ${refreshAfterNew.toFixed(1)} ms`);
  say(`task page, the new task:                    ${newTask.toFixed(1)} ms`);
  if (json)
    console.log(
      JSON.stringify({
        events: EVENTS,
        commits: state.seq,
        firstOpenMs: Math.round(firstOpen),
        refreshMs: Number(refresh.toFixed(1)),
        floorMs: Number(floor.toFixed(1)),
        otherTaskMs: Number(otherTask.toFixed(1)),
        refreshAfterNewMs: Number(refreshAfterNew.toFixed(1)),
        newTaskMs: Number(newTask.toFixed(1)),
      }),
    );
  await console_.close();
  await connection.close();
} finally {
  await nats.close();
}
