import { type DeadLetterReport, TASK_ID_PATTERN } from '@spool/core';
import type { SpoolConnection } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { fetchDeadLetters } from '../operator/coordinator-api.ts';
import { UsageError } from '../usage-error.ts';
import { checkedAgent, publish } from './control.ts';

/**
 * `spool dlq`: the dead-letter view, failed tasks that are neither retried nor dropped, as
 * the coordinator folds them from the histories. `dlq retry` runs one again as a new attempt
 * of the same task id (its journal kept); `dlq drop` removes it from the view.
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
      const report = await fetchDeadLetters(connection);
      console.log(json ? JSON.stringify(report) : render(report));
      return 0;
    }
    const agent =
      values.agent === undefined
        ? await ownerOf(connection, taskId, action)
        : checkedAgent(`dlq ${action}`, values.agent);
    return await publish(connection, agent, { type: action, taskId }, json);
  } finally {
    await connection.close();
  }
}

async function ownerOf(connection: SpoolConnection, taskId: string, action: string): Promise<string> {
  const report = await fetchDeadLetters(connection).catch(() => {
    throw new UsageError(
      `spool dlq ${action}: no coordinator answered to find the agent of ${taskId}; pass --agent NAME`,
    );
  });
  const entry = report.entries.find((e) => e.taskId === taskId);
  if (entry === undefined)
    throw new UsageError(`spool dlq ${action}: ${taskId} is not in the dead-letter view (see spool dlq)`);
  return entry.agent;
}

function render(report: DeadLetterReport): string {
  if (report.entries.length === 0) return 'the dead-letter view is empty: no failed task is waiting';
  const lines = [
    `${report.entries.length} failed task(s); "spool dlq retry <taskId>" runs one again, "spool dlq drop <taskId>" removes it`,
  ];
  for (const e of report.entries) {
    lines.push(
      `${e.agent}/${e.taskId}  ${e.error.code}  after ${e.attempts} attempt(s)${e.failedAt ? `, failed ${e.failedAt}` : ''}`,
      `  ${e.error.message}`,
      `  input: ${e.input.replace(/\s+/g, ' ').slice(0, 100)}`,
    );
  }
  return lines.join('\n');
}
