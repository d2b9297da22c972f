import { type DeadLetterEntry, type DeadLetterReport, TASK_ID_PATTERN } from '@spool/core';
import type { SpoolConnection } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { fetchDeadLetters } from '../operator/coordinator-api.ts';
import { keyedDeadLetters, mergeDeadLetters } from '../operator/keyed-dead-letters.ts';
import { UsageError } from '../usage-error.ts';
import { checkedAgent, publish } from './control.ts';

/**
 * `spool dlq`: the dead-letter view, failed tasks that are neither retried nor dropped, as
 * the coordinator folds them from the agents' histories, with the keyed instances' (read
 * here: see keyed-dead-letters.ts). `dlq retry` runs one again as a new attempt of the same
 * task id (its journal kept); `dlq drop` removes it from the view. A keyed instance's task
 * goes to `spool.control.<agent>.<key>`, which activates a passivated instance.
 */
export async function dlqCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'dlq',
    argv,
    { agent: { type: 'string' }, json: { type: 'boolean' } },
    { required: [], optional: ['action', 'taskId'] },
  );
  const [action, taskId] = positionals;
  if (action !== undefined && action !== 'retry' && action !== 'drop')
    throw new UsageError(
      `spool dlq: unknown action "${action}"; use "spool dlq", "spool dlq retry <taskId>" or "spool dlq drop <taskId>"`,
    );
  if (action !== undefined && taskId === undefined)
    throw new UsageError(`spool dlq ${action}: missing <taskId>`);
  if (taskId !== undefined && !TASK_ID_PATTERN.test(taskId))
    throw new UsageError(
      `spool dlq ${action}: "${taskId}" is not a task id (letters, digits and _ : = @ + -)`,
    );
  if (action === undefined && values.agent !== undefined)
    throw new UsageError('spool dlq: --agent applies to "dlq retry" and "dlq drop"');
  const json = values.json === true;

  const connection = await openConnection(natsTarget({ role: 'operator' }), 'spool-dlq', logger);
  try {
    if (action === undefined || taskId === undefined) {
      const [report, keyed] = await Promise.all([
        fetchDeadLetters(connection),
        keyedDeadLetters(connection, logger),
      ]);
      const merged: DeadLetterReport = { ...report, entries: mergeDeadLetters(report.entries, keyed) };
      console.log(json ? JSON.stringify(merged) : render(merged));
      return 0;
    }
    const agent =
      values.agent === undefined
        ? await ownerOf(connection, taskId, action, logger)
        : checkedAgent(`dlq ${action}`, values.agent);
    return await publish(connection, agent, { type: action, taskId }, json);
  } finally {
    await connection.close();
  }
}

/** `<agent>` or `<agent>/<key>` of a dead letter, as `--agent` takes it. */
export function addressOfEntry(entry: DeadLetterEntry): string {
  return entry.key === undefined ? entry.agent : `${entry.agent}/${entry.key}`;
}

/** The agent (or keyed instance, as its subject tokens) whose dead letter `taskId` is. */
async function ownerOf(
  connection: SpoolConnection,
  taskId: string,
  action: string,
  logger: Logger,
): Promise<string> {
  const keyed = (await keyedDeadLetters(connection, logger)).filter((e) => e.taskId === taskId);
  // Without a coordinator the keyed instances are still found: they are read here.
  const plain = await fetchDeadLetters(connection).then(
    (report) => report.entries.filter((e) => e.taskId === taskId),
    () => {
      if (keyed.length > 0) return [];
      throw new UsageError(
        `spool dlq ${action}: no coordinator answered to find the agent of ${taskId}; pass --agent NAME`,
      );
    },
  );
  const found = [...plain, ...keyed];
  const [entry] = found;
  if (entry === undefined)
    throw new UsageError(`spool dlq ${action}: ${taskId} is not in the dead-letter view (see spool dlq)`);
  // Task ids are per keyed instance: the same id may have failed on two keys.
  if (found.length > 1)
    throw new UsageError(
      `spool dlq ${action}: ${taskId} is in the dead-letter view of ${found.map(addressOfEntry).sort().join(', ')}; pass --agent <agent>/<key>`,
    );
  return checkedAgent(`dlq ${action}`, addressOfEntry(entry));
}

function render(report: DeadLetterReport): string {
  if (report.entries.length === 0) return 'the dead-letter view is empty: no failed task is waiting';
  const lines = [
    `${report.entries.length} failed task(s); "spool dlq retry <taskId>" runs one again, "spool dlq drop <taskId>" removes it`,
  ];
  for (const e of report.entries) {
    // A keyed instance's task: `<agent>/<key> <taskId>` (`--agent <agent>/<key>` names it).
    const where = e.key === undefined ? `${e.agent}/${e.taskId}` : `${e.agent}/${e.key} ${e.taskId}`;
    lines.push(
      `${where}  ${e.error.code}  after ${e.attempts} attempt(s)${e.failedAt ? `, failed ${e.failedAt}` : ''}`,
      `  ${e.error.message}`,
      `  input: ${e.input.replace(/\s+/g, ' ').slice(0, 100)}`,
    );
  }
  return lines.join('\n');
}
