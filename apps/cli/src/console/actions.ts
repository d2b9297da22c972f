import { COORDINATOR, type ControlMessage, type DeadLetterEntry } from '@spool/core';
import { instanceName, parseAgentCommit } from '@spool/core/internal';
import { keyedHistoryStore, type SpoolConnection, snapshotStore } from '@spool/jetstream';
import { restoreState } from '@spool/runtime';
import type { Logger } from 'pino';
import { askWorkflows, fetchDeadLetters, fetchStatus } from '../operator/coordinator-api.ts';
import { keyedDeadLetters } from '../operator/keyed-dead-letters.ts';
import { sendControlTo } from '../operator/send-control.ts';
import { actorRunning, actorsOf, approvalWaiting, cancelTargets } from '../operator/task-owner.ts';
import { ApiError } from './api-error.ts';
import type { Action } from './schemas.ts';

/** What an action did: a sentence for the page, and where it went. */
export interface ActionOutcome {
  readonly message: string;
  readonly sentTo: readonly string[];
  readonly controlSeqs: readonly number[];
}

/**
 * Runs an operator action through the same control subjects as the CLI, after checking it
 * still applies (a task still waits, is still in the dead-letter view, is not finished): a
 * stale action is a 409 that says what changed, never a message the agent would refuse.
 * A keyed instance's task (`agent` and `key` given) goes to `spool.control.<agent>.<key>`,
 * which activates the instance if it is passivated.
 */
export async function performAction(
  connection: SpoolConnection,
  action: Action,
  logger: Logger,
): Promise<ActionOutcome> {
  switch (action.type) {
    case 'approve':
    case 'deny': {
      const waiting =
        action.key === undefined
          ? approvalWaiting(await fetchStatus(connection), action.taskId)
          : await keyedApprovalWaiting(connection, action.agent as string, action.key, action.taskId, logger);
      if (waiting === undefined)
        throw new ApiError(
          409,
          'not_waiting',
          `task ${action.taskId} is not waiting for an approval (any more): it was answered already, finished, or is unknown. Reload to see its state.`,
        );
      const message: ControlMessage =
        action.type === 'approve'
          ? { type: 'approve', taskId: action.taskId }
          : { type: 'deny', taskId: action.taskId, reason: action.reason };
      return send(
        connection,
        [waiting.agent],
        message,
        `${action.type === 'approve' ? 'approved' : 'denied'} ${waiting.approval.tool} for task ${action.taskId}`,
      );
    }
    case 'retry':
    case 'drop': {
      const entries =
        action.key === undefined
          ? (await fetchDeadLetters(connection)).entries
          : await keyedDeadLetters(connection, logger, action.agent);
      const matching = entries.filter(
        (e) =>
          e.taskId === action.taskId &&
          (action.agent === undefined || e.agent === action.agent) &&
          e.key === action.key,
      );
      const [entry] = matching;
      if (entry === undefined)
        throw new ApiError(
          409,
          'not_dead_lettered',
          `task ${action.taskId} is not in the dead-letter view (any more): it was retried or dropped already, or never failed.`,
        );
      return send(
        connection,
        [wireOf(entry)],
        { type: action.type, taskId: action.taskId },
        action.type === 'retry'
          ? `task ${action.taskId} sent back to work (attempt ${entry.attempts + 1})`
          : `task ${action.taskId} dropped from the dead-letter view`,
      );
    }
    case 'pause':
    case 'resume': {
      const report = await fetchStatus(connection);
      // A pool has no control subject its replicas read: each replica is paused or resumed.
      const pool = report.pools.find((p) => p.name === action.agent);
      const actors = pool?.replicas ?? actorsOf(report).filter((a) => a.name === action.agent);
      if (actors.length === 0)
        throw new ApiError(
          404,
          'unknown_agent',
          `no agent or pool "${action.agent}" is known to the coordinator`,
        );
      const wanted = action.type === 'pause';
      const targets = actors.filter((a) => a.paused !== wanted).map((a) => a.name);
      if (targets.length === 0)
        throw new ApiError(
          409,
          'already_done',
          `${action.agent} is already ${wanted ? 'paused' : 'running (not paused)'}`,
        );
      const message: ControlMessage =
        action.type === 'pause'
          ? { type: 'pause', ...(action.reason === undefined ? {} : { reason: action.reason }) }
          : { type: 'resume' };
      return send(connection, targets, message, `${action.type} sent to ${targets.join(', ')}`);
    }
    case 'cancel': {
      const agent =
        action.agent === undefined
          ? actorRunning(await fetchStatus(connection), action.taskId)
          : action.key === undefined
            ? action.agent
            : instanceName(action.agent, action.key);
      if (agent === undefined)
        throw new ApiError(
          409,
          'not_in_flight',
          `no agent has task ${action.taskId} in flight: it finished already or is not received yet (a queued task is cancelled from its agent's task list)`,
        );
      const where = await cancelTargets(connection, agent, action.taskId);
      if ('finished' in where)
        throw new ApiError(
          409,
          'finished',
          `task ${action.taskId} already finished (${where.finished.status}); nothing to cancel`,
        );
      return send(
        connection,
        where.targets,
        cancelOf(action.taskId, action.reason),
        `cancel of task ${action.taskId} sent`,
      );
    }
    case 'cancel-workflow': {
      const answer = await askWorkflows(connection, action.workflowId, 3_000);
      if (!('workflow' in answer) || answer.workflow === null)
        throw new ApiError(
          404,
          'unknown_workflow',
          `no workflow "${action.workflowId}" is known to the coordinator`,
        );
      if (answer.workflow.status !== 'running')
        throw new ApiError(
          409,
          'finished',
          `workflow ${action.workflowId} already finished (${answer.workflow.status}); nothing to cancel`,
        );
      return send(
        connection,
        [COORDINATOR],
        cancelOf(action.workflowId, action.reason),
        `cancel of workflow ${action.workflowId} sent; its running tasks are cancelled too`,
      );
    }
  }
}

/** The control subject's tokens of a dead letter's agent or keyed instance. */
function wireOf(entry: DeadLetterEntry): string {
  return entry.key === undefined ? entry.agent : instanceName(entry.agent, entry.key);
}

/**
 * The approval a keyed instance's task waits for, read from the instance's own state (the
 * coordinator's status report counts instances, it does not fold them): its snapshot plus the
 * tail of its history, as its activation reads it.
 */
async function keyedApprovalWaiting(
  connection: SpoolConnection,
  agent: string,
  key: string,
  taskId: string,
  logger: Logger,
): Promise<{ agent: string; approval: { tool: string } } | undefined> {
  const name = instanceName(agent, key);
  const { state } = await restoreState(
    name,
    keyedHistoryStore(connection, parseAgentCommit),
    await snapshotStore(connection),
    logger.child({}, { level: 'warn' }),
  );
  const call = state.active
    .get(taskId)
    ?.steps.at(-1)
    ?.tools.find((t) => t.approval?.state === 'pending');
  return call === undefined ? undefined : { agent: name, approval: { tool: call.name } };
}

/** A cancel of a task (or, sent to the coordinator, of a workflow run). */
function cancelOf(taskId: string, reason: string | undefined): ControlMessage {
  return { type: 'cancel', taskId, ...(reason === undefined ? {} : { reason }) };
}

async function send(
  connection: SpoolConnection,
  targets: readonly string[],
  message: ControlMessage,
  said: string,
): Promise<ActionOutcome> {
  const controlSeqs = await sendControlTo(connection, targets, message);
  return {
    message: `${said} (control message ${controlSeqs.join(', ')}); the agent journals it now, or when it next runs`,
    sentTo: targets,
    controlSeqs,
  };
}
