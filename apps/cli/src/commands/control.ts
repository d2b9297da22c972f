import { type ControlMessage, ControlMessageSchema, TASK_ID_PATTERN } from '@spool/core';
import type { SpoolConnection } from '@spool/jetstream';
import type { Logger } from 'pino';
import { addressOf } from '../address.ts';
import { parseCommand } from '../args.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { fetchStatus } from '../operator/coordinator-api.ts';
import { sendControlTo } from '../operator/send-control.ts';
import { actorRunning, cancelTargets } from '../operator/task-owner.ts';
import { UsageError } from '../usage-error.ts';
import { cancelWorkflowIfKnown } from './workflow.ts';

/** `spool pause <agent>`: finish the step in flight, start nothing new, keep queueing tasks. */
export function pauseCommand(argv: string[], logger: Logger): Promise<number> {
  return agentCommand('pause', argv, logger);
}

/** `spool resume <agent>`. */
export function resumeCommand(argv: string[], logger: Logger): Promise<number> {
  return agentCommand('resume', argv, logger);
}

async function agentCommand(type: 'pause' | 'resume', argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    type,
    argv,
    { reason: { type: 'string' }, json: { type: 'boolean' } },
    { required: ['agent'] },
  );
  const agent = checkedAgent(type, positionals[0] as string);
  if (type === 'resume' && values.reason !== undefined)
    throw new UsageError('spool resume: --reason applies to pause and cancel only');
  const message: ControlMessage =
    type === 'pause'
      ? { type, ...(values.reason === undefined ? {} : { reason: values.reason }) }
      : { type: 'resume' };
  return send(agent, checkedMessage(type, message), values.json === true, logger);
}

/** `spool approve <taskId> [--agent A]`: the task's tool calls waiting for an operator run. */
export function approveCommand(argv: string[], logger: Logger): Promise<number> {
  return decideCommand('approve', argv, logger);
}

/** `spool deny <taskId> --reason R [--agent A]`: the waiting tool calls fail; the model is told why. */
export function denyCommand(argv: string[], logger: Logger): Promise<number> {
  return decideCommand('deny', argv, logger);
}

async function decideCommand(type: 'approve' | 'deny', argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    type,
    argv,
    { agent: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } },
    { required: ['taskId'] },
  );
  const taskId = positionals[0] as string;
  if (type === 'deny' && (values.reason === undefined || values.reason.trim() === ''))
    throw new UsageError('spool deny: --reason "…" is required (the model is told why)');
  if (type === 'approve' && values.reason !== undefined)
    throw new UsageError('spool approve: --reason applies to deny only');
  const message = checkedMessage(
    type,
    type === 'deny' ? { type, taskId, reason: values.reason as string } : { type, taskId },
  );
  return forTask(type, taskId, values.agent, logger, (connection, agent) =>
    publish(connection, agent, message, values.json === true),
  );
}

/** `spool cancel <taskId> [--agent A]`: the task ends `cancelled`, running or not yet arrived. */
export async function cancelCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'cancel',
    argv,
    { agent: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } },
    { required: ['taskId'] },
  );
  const taskId = positionals[0] as string;
  if (!TASK_ID_PATTERN.test(taskId))
    throw new UsageError(`spool cancel: "${taskId}" is not a task id (letters, digits and _ : = @ + -)`);
  const message = checkedMessage('cancel', {
    type: 'cancel',
    taskId,
    ...(values.reason === undefined ? {} : { reason: values.reason }),
  });
  // A workflow id the coordinator knows: the cancel goes to spool.control.coordinator.
  if (values.agent === undefined) {
    const cancelled = await cancelWorkflowIfKnown(taskId, message, values.json === true, logger);
    if (cancelled !== undefined) return cancelled;
  }
  return forTask('cancel', taskId, values.agent, logger, async (connection, agent) => {
    const where = await cancelTargets(connection, agent, taskId);
    if ('finished' in where) {
      console.error(`task ${taskId} already finished (${where.finished.status}); nothing to cancel`);
      return 1;
    }
    if (!where.unclaimedPoolTask)
      return publish(connection, where.targets[0] ?? agent, message, values.json === true);
    const seqs = await sendControlTo(connection, where.targets, message);
    if (values.json)
      console.log(JSON.stringify({ agent, replicas: where.targets, ...message, controlSeqs: seqs }));
    else
      console.log(
        `cancel ${taskId} sent to every replica of pool ${agent} (${where.targets.join(', ')}; control messages ${seqs.join(', ')}): no replica has claimed the task yet, so each records the request and the one it reaches cancels it`,
      );
    return 0;
  });
}

/** Runs `body` on a connection with the task's agent: `--agent`, else the one the coordinator says runs it. */
async function forTask(
  command: string,
  taskId: string,
  agentFlag: string | undefined,
  logger: Logger,
  body: (connection: SpoolConnection, agent: string) => Promise<number>,
): Promise<number> {
  const given = agentFlag === undefined ? undefined : checkedAgent(command, agentFlag);
  const connection = await openConnection(natsTarget({ role: 'operator' }), `spool-${command}`, logger);
  try {
    return await body(connection, given ?? (await agentRunning(connection, taskId)));
  } finally {
    await connection.close();
  }
}

async function send(agent: string, message: ControlMessage, json: boolean, logger: Logger): Promise<number> {
  const connection = await openConnection(natsTarget({ role: 'operator' }), `spool-${message.type}`, logger);
  try {
    return await publish(connection, agent, message, json);
  } finally {
    await connection.close();
  }
}

export async function publish(
  connection: SpoolConnection,
  agent: string,
  message: ControlMessage,
  json: boolean,
): Promise<number> {
  const [seq] = await sendControlTo(connection, [agent], message);
  if (json) console.log(JSON.stringify({ agent, ...message, controlSeq: seq }));
  else {
    const what = 'taskId' in message ? `${message.type} ${message.taskId}` : message.type;
    console.log(
      `${what} sent to ${agent} (control message ${seq}); the agent journals it now, or when it next runs`,
    );
  }
  return 0;
}

/** Which agent runs a task, asked of the coordinator; a queued task needs --agent. */
async function agentRunning(connection: SpoolConnection, taskId: string): Promise<string> {
  const report = await fetchStatus(connection).catch(() => {
    throw new UsageError(`spool: no coordinator answered to find the agent of ${taskId}; pass --agent NAME`);
  });
  // A pool's task is held by one of its replicas: the cancel goes to that replica's control subject.
  const owner = actorRunning(report, taskId);
  if (owner === undefined)
    throw new UsageError(
      `spool: no agent has ${taskId} in flight; if it is still queued or not yet sent, pass --agent NAME`,
    );
  return owner;
}

/** An agent name, or `<agent>/<key>` of a keyed agent's instance: its control subject's tokens. */
export function checkedAgent(command: string, agent: string): string {
  return addressOf(command, agent).wire;
}

function checkedMessage(command: string, message: ControlMessage): ControlMessage {
  const parsed = ControlMessageSchema.safeParse(message);
  if (!parsed.success)
    throw new UsageError(
      `spool ${command}: --${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data;
}
