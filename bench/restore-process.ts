/**
 * Restores one agent's state from its whole history in a fresh process and prints
 * `{"rss", "heapUsed", "ms", "commits"}` (bytes after a full GC when --expose-gc is given): what
 * an agent holds once it has replayed (bench/recovery.ts). argv: <nats url> <agent>.
 */
import { parseAgentCommit } from '@spool/core/internal';
import { connect, historyStore } from '@spool/jetstream';
import { restoreState } from '@spool/runtime';
import { pino } from 'pino';

const [url, agent] = process.argv.slice(2);
if (url === undefined || agent === undefined) {
  console.error('usage: restore-process.ts <nats url> <agent>');
  process.exit(2);
}
const logger = pino({ level: 'silent' });
const connection = await connect({ url, name: 'bench-restore', logger });
const started = performance.now();
const restored = await restoreState(agent, historyStore(connection, parseAgentCommit), undefined, logger);
const ms = performance.now() - started;
(globalThis as { gc?: () => void }).gc?.();
const { rss, heapUsed } = process.memoryUsage();
// The state stays reachable until the figures are taken.
console.log(JSON.stringify({ rss, heapUsed, ms, commits: restored.replayed, seq: restored.state.seq }));
await connection.close();
