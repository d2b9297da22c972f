import { randomBytes } from 'node:crypto';
import { AGENT_NAME_PATTERN, formatIssues, TaskMessageSchema, type TaskResult } from '@spool/core/internal';
import { liveText, results, type SpoolConnection, submitTask } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand, positiveInt } from '../args.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { UsageError } from '../usage-error.ts';
import { printResult } from './print-result.ts';

export async function submitCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'submit',
    argv,
    {
      id: { type: 'string' },
      wait: { type: 'boolean' },
      follow: { type: 'boolean' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
    },
    { required: ['agent', 'input'] },
  );
  const agent = positionals[0] as string;
  if (!AGENT_NAME_PATTERN.test(agent)) {
    throw new UsageError(
      `spool submit: agent "${agent}" is not a valid name (lower-case letters, digits and dashes)`,
    );
  }
  const input = positionals[1] === '-' ? await readStdin() : (positionals[1] as string);
  const task = { id: values.id ?? generateId(), input };
  const checked = TaskMessageSchema.safeParse(task);
  if (!checked.success)
    throw new UsageError(`spool submit: ${formatIssues(checked.error, task).replace(/^id:/, '--id:')}`);
  const timeoutSec = positiveInt('submit', 'timeout', values.timeout) ?? 600;
  if (values.follow && !values.wait) throw new UsageError('spool submit: --follow needs --wait');

  const connection = await openConnection(natsTarget({ role: 'client' }), 'spool-submit', logger);
  try {
    const sink = results(connection);
    // Listen before submitting, so a fast result cannot be missed.
    const waiting = values.wait
      ? waitWithTimeout(sink.wait.bind(sink), agent, task.id, timeoutSec)
      : undefined;
    const stopFollowing = values.follow
      ? follow(connection, agent, task.id, values.json === true)
      : undefined;
    const submitted = await submitTask(connection, agent, checked.data);
    if (!values.wait) {
      if (values.json)
        console.log(
          JSON.stringify({ taskId: task.id, agent, seq: submitted.seq, duplicate: submitted.duplicate }),
        );
      else
        console.log(
          `submitted ${task.id} to ${agent}${submitted.duplicate ? ' (duplicate id: same task)' : ''}`,
        );
      return 0;
    }
    if (!values.json) console.error(`submitted ${task.id} to ${agent}; waiting for the result…`);
    const result = await (waiting as Promise<TaskResult>).finally(() => stopFollowing?.());
    if (values.follow && !values.json) process.stdout.write('\n');
    printResult(result, values.json === true, values.follow === true);
    return result.status === 'completed' ? 0 : 1;
  } finally {
    await connection.close();
  }
}

/** Prints the reply text as it streams: raw text, or NDJSON `{"type": "text", step, text}` lines. */
function follow(connection: SpoolConnection, agent: string, taskId: string, json: boolean): () => void {
  let lastStep: number | undefined;
  return liveText(connection).follow(agent, taskId, (chunk) => {
    if (json) console.log(JSON.stringify({ type: 'text', ...chunk }));
    else {
      if (lastStep !== undefined && chunk.step !== lastStep) process.stdout.write('\n');
      process.stdout.write(chunk.text);
    }
    lastStep = chunk.step;
  });
}

async function waitWithTimeout(
  wait: (agent: string, taskId: string, signal?: AbortSignal) => Promise<TaskResult>,
  agent: string,
  taskId: string,
  timeoutSec: number,
): Promise<TaskResult> {
  try {
    return await wait(agent, taskId, AbortSignal.timeout(timeoutSec * 1000));
  } catch (err) {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      throw new Error(
        `no result for ${taskId} after ${timeoutSec}s; the task stays queued. Is an agent "${agent}" running (spool status)? Wait again with: spool submit ${agent} - --id ${taskId} --wait`,
      );
    }
    throw err;
  }
}

function generateId(): string {
  return `t-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError('spool submit: input "-" reads stdin, but stdin is a terminal; pipe the input in');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trimEnd();
}
