import { randomBytes } from 'node:crypto';
import { answerWorkflows } from '@spool/coordinator';
import {
  applyCoordinatorCommit,
  COORDINATOR,
  type ControlMessage,
  initialCoordinatorState,
  parseCoordinatorCommit,
  subjects,
  WORKFLOW_ID_PATTERN,
} from '@spool/core/internal';
import { historyStore, requests, type SpoolConnection, sendControl } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand, positiveInt } from '../args.ts';
import { ensureNats } from '../embedded-nats.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { UsageError } from '../usage-error.ts';

/** What `spool.api.workflows` answers (views are the coordinator's workflowView: JSON data). */
type WorkflowView = Record<string, unknown> & { id?: string; workflowId?: string; status?: string };
type WorkflowsAnswer =
  | { workflow: WorkflowView | null }
  | { workflows: WorkflowView[]; total?: number }
  | { error: { code: string; message: string } };

/** `spool workflow [<id>] [--json]`: one workflow's steps, or the list of workflows. */
export async function workflowCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'workflow',
    argv,
    { json: { type: 'boolean' }, timeout: { type: 'string' } },
    { required: [], optional: ['id'] },
  );
  const id = positionals[0] === undefined ? undefined : checkedWorkflowId('workflow', positionals[0]);
  const timeoutSec = positiveInt('workflow', 'timeout', values.timeout) ?? 3;
  // Like `spool replay`, it reads the embedded server's data when no server answers.
  const nats = await ensureNats(natsTarget({ role: 'client' }), logger);
  const connection = await openConnection(nats.target, 'spool-workflow', logger);
  try {
    const asked = nats.embedded
      ? undefined
      : await askWorkflows(connection, id, timeoutSec * 1000).catch((err) => {
          if (err instanceof NoCoordinatorError) return undefined;
          throw err;
        });
    if (asked === undefined)
      console.error(
        'no coordinator answered: this view is folded from its history (spool.history.coordinator)',
      );
    const answer = asked ?? (await fromHistory(connection, id));
    if ('error' in answer) throw new Error(`coordinator refused the request: ${answer.error.message}`);
    if ('workflow' in answer) {
      if (answer.workflow === null) {
        console.error(`no workflow "${id}" known to the coordinator; list them with: spool workflow`);
        return 1;
      }
      if (values.json) console.log(JSON.stringify(answer.workflow));
      else console.log(renderWorkflow(answer.workflow));
      return 0;
    }
    if (values.json) console.log(JSON.stringify(answer.workflows));
    else if (answer.workflows.length === 0)
      console.log('no workflows yet; start one with: spool run <workflow> <input>');
    else for (const view of answer.workflows) console.log(summaryLine(view));
    return 0;
  } finally {
    await connection.close();
    await nats.stop();
  }
}

/** What the coordinator would answer, folded here from its history (read-only; no coordinator runs). */
async function fromHistory(connection: SpoolConnection, id: string | undefined): Promise<WorkflowsAnswer> {
  const state = initialCoordinatorState();
  for await (const commit of historyStore(connection, parseCoordinatorCommit).replay(COORDINATOR))
    applyCoordinatorCommit(state, commit);
  return JSON.parse(
    answerWorkflows(state, JSON.stringify(id === undefined ? {} : { id })),
  ) as WorkflowsAnswer;
}

class NoCoordinatorError extends Error {}

/** Asks the coordinator; no answer is one clear error saying what to run. */
export async function askWorkflows(
  connection: SpoolConnection,
  id: string | undefined,
  timeoutMs: number,
): Promise<WorkflowsAnswer> {
  let reply: string;
  try {
    reply = await requests(connection).request(
      subjects.workflows,
      JSON.stringify(id === undefined ? {} : { id }),
      timeoutMs,
    );
  } catch {
    throw new NoCoordinatorError(
      `no coordinator answered on ${subjects.workflows} within ${Math.round(timeoutMs / 1000)}s: start one with "spool coordinator" or "spool up"`,
    );
  }
  try {
    return JSON.parse(reply) as WorkflowsAnswer;
  } catch {
    throw new Error(`the coordinator's answer on ${subjects.workflows} is not JSON`);
  }
}

function idOf(view: WorkflowView): string {
  return String(view.workflowId ?? view.id ?? '?');
}

function summaryLine(view: WorkflowView): string {
  const started = typeof view.startedAt === 'string' ? ` started ${view.startedAt}` : '';
  return `${idOf(view).padEnd(28)} ${String(view.workflow ?? '').padEnd(16)} ${String(view.status ?? '?').padEnd(10)}${started}`;
}

const excerpt = (text: unknown, max = 120): string => {
  if (typeof text !== 'string') return '';
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** One line for the workflow, then one per step: status, attempts, task ids, output excerpt. */
function renderWorkflow(view: WorkflowView): string {
  const lines = [summaryLine(view).replace(/\s+/g, ' ')];
  const error = view.error as { code?: string; message?: string } | undefined;
  if (error?.message !== undefined) lines.push(`error ${error.code ?? ''}: ${error.message}`);
  const usage = view.usage as { inputTokens?: number; outputTokens?: number } | undefined;
  if (usage !== undefined)
    lines.push(
      `tokens: ${usage.inputTokens ?? 0} in / ${usage.outputTokens ?? 0} out${typeof view.costUsd === 'number' ? ` ($${view.costUsd.toFixed(4)})` : ''} over every task and attempt`,
    );
  const steps = view.steps as Record<string, Record<string, unknown>> | Record<string, unknown>[] | undefined;
  const entries: [string, Record<string, unknown>][] = Array.isArray(steps)
    ? steps.map((s) => [String((s as Record<string, unknown>).name ?? '?'), s as Record<string, unknown>])
    : Object.entries(steps ?? {});
  for (const [name, step] of entries) {
    const tasks = (step.tasks as Record<string, unknown>[] | undefined) ?? [];
    const taskIds = tasks.map((t) => String(t.taskId ?? '')).filter((t) => t !== '');
    const attempts = tasks.reduce((most, t) => Math.max(most, Number(t.attempt ?? 0)), 0);
    const stepError = step.error as { code?: string; message?: string } | undefined;
    lines.push(
      `  ${name.padEnd(16)} ${String(step.status ?? '?').padEnd(10)} attempts ${attempts}; tasks ${taskIds.join(', ') || 'none'}${
        step.output === undefined ? '' : `; output: ${excerpt(step.output)}`
      }${stepError?.message === undefined ? '' : `; error ${stepError.code ?? ''}: ${excerpt(stepError.message)}`}`,
    );
  }
  if (view.output !== undefined) lines.push(`output: ${excerpt(view.output, 400)}`);
  return lines.join('\n');
}

export function checkedWorkflowId(command: string, id: string): string {
  if (!WORKFLOW_ID_PATTERN.test(id))
    throw new UsageError(
      `spool ${command}: "${id}" is not a workflow id (1-64 letters, digits and _ = @ + -)`,
    );
  return id;
}

/**
 * `spool cancel <id>` for a workflow: when the coordinator knows `id` as a workflow, sends the
 * cancel to `spool.control.coordinator` and returns the exit code; undefined when it is not a
 * workflow (or no coordinator answers), so the caller treats it as an agent's task.
 */
export async function cancelWorkflowIfKnown(
  id: string,
  message: ControlMessage,
  json: boolean,
  logger: Logger,
): Promise<number | undefined> {
  if (!WORKFLOW_ID_PATTERN.test(id)) return undefined; // task ids of steps contain ":"
  const connection = await openConnection(natsTarget({ role: 'operator' }), 'spool-cancel', logger);
  try {
    const answer = await askWorkflows(connection, id, 2_000).catch(() => undefined);
    if (answer === undefined || !('workflow' in answer) || answer.workflow === null) return undefined;
    const status = String(answer.workflow.status ?? '');
    if (status !== 'running') {
      console.error(`workflow ${id} already finished (${status}); nothing to cancel`);
      return 1;
    }
    const sent = await sendControl(connection, COORDINATOR, message, randomBytes(8).toString('hex'));
    if (json) console.log(JSON.stringify({ agent: COORDINATOR, ...message, controlSeq: sent.seq }));
    else
      console.log(
        `cancel of workflow ${id} sent to the coordinator (control message ${sent.seq}); its running tasks are cancelled too`,
      );
    return 0;
  } finally {
    await connection.close();
  }
}
