import { randomBytes } from 'node:crypto';
import {
  AGENT_NAME_PATTERN,
  type ControlMessage,
  ControlMessageSchema,
  StatusReportSchema,
  subjects,
  TASK_ID_PATTERN,
} from '@spool/core';
import {
  poolReplicas,
  requests,
  results,
  type SpoolConnection,
  sendControl,
  taskOwner,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand } from '../args.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
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
    const finished = await results(connection).get(agent, taskId);
    if (finished !== undefined) {
      console.error(`task ${taskId} already finished (${finished.status}); nothing to cancel`);
      return 1;
    }
    // A pool's task: to the replica that holds it (its claim); otherwise the agent itself.
    const owner = await taskOwner(connection, agent, taskId);
    if (owner === agent) {
      // Not claimed yet: nobody reads spool.control.<pool>, so every replica gets it.
      const replicas = await poolReplicas(connection, agent);
      if (replicas.length > 0)
        return publishToReplicas(connection, agent, replicas, message, values.json === true);
    }
    return publish(connection, owner, message, values.json === true);
  });
}

/**
 * A cancel for a pool's task no replica has claimed: each replica journals the request, and
 * the one the task reaches ends it at once (`cancelled`); the others only keep the request.
 */
async function publishToReplicas(
  connection: SpoolConnection,
  pool: string,
  replicas: readonly string[],
  message: ControlMessage,
  json: boolean,
): Promise<number> {
  const id = randomBytes(8).toString('hex');
  const seqs: number[] = [];
  for (const replica of replicas) seqs.push((await sendControl(connection, replica, message, id)).seq);
  if (json) console.log(JSON.stringify({ agent: pool, replicas, ...message, controlSeqs: seqs }));
  else
    console.log(
      `${message.type} ${'taskId' in message ? message.taskId : ''} sent to every replica of pool ${pool} (${replicas.join(', ')}; control messages ${seqs.join(', ')}): no replica has claimed the task yet, so each records the request and the one it reaches cancels it`,
    );
  return 0;
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
  const sent = await sendControl(connection, agent, message, randomBytes(8).toString('hex'));
  if (json) console.log(JSON.stringify({ agent, ...message, controlSeq: sent.seq }));
  else {
    const what = 'taskId' in message ? `${message.type} ${message.taskId}` : message.type;
    console.log(
      `${what} sent to ${agent} (control message ${sent.seq}); the agent journals it now, or when it next runs`,
    );
  }
  return 0;
}

/** Which agent runs a task, asked of the coordinator; a queued task needs --agent. */
async function agentRunning(connection: SpoolConnection, taskId: string): Promise<string> {
  let reply: string;
  try {
    reply = await requests(connection).request(subjects.status, '{}', 3_000);
  } catch {
    throw new UsageError(`spool: no coordinator answered to find the agent of ${taskId}; pass --agent NAME`);
  }
  const report = StatusReportSchema.parse(JSON.parse(reply));
  // A pool's task is held by one of its replicas: the cancel goes to that replica's control subject.
  const actors = [...report.agents, ...report.pools.flatMap((p) => p.replicas)];
  const owner = actors.find((a) => a.inFlight.some((t) => t.taskId === taskId));
  if (owner === undefined)
    throw new UsageError(
      `spool: no agent has ${taskId} in flight; if it is still queued or not yet sent, pass --agent NAME`,
    );
  return owner.name;
}

export function checkedAgent(command: string, agent: string): string {
  if (!AGENT_NAME_PATTERN.test(agent))
    throw new UsageError(
      `spool ${command}: "${agent}" is not a valid agent name (lower-case letters, digits and dashes)`,
    );
  return agent;
}

function checkedMessage(command: string, message: ControlMessage): ControlMessage {
  const parsed = ControlMessageSchema.safeParse(message);
  if (!parsed.success)
    throw new UsageError(
      `spool ${command}: --${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data;
}
