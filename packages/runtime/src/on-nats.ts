import type { ModelClient } from '@spool/claude';
import { type AgentSpec, parseAgentCommit } from '@spool/core/internal';
import {
  historyStore,
  leases,
  liveText,
  openControl,
  openInbox,
  openSubscription,
  results,
  type SpoolConnection,
  sendControl,
  snapshotStore,
  spend,
  submitTask,
  taskOwner,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { type AgentHandle, type AgentOptions, startAgent } from './agent.ts';
import type { SubmitPort } from './context.ts';
import { connectMcpTools, type McpTools } from './mcp-tools.ts';
import { noIntake } from './pool.ts';
import { subscriptionTasks } from './subscriptions.ts';

export interface AgentOnNatsOptions
  extends Omit<
    AgentOptions,
    | 'store'
    | 'inbox'
    | 'control'
    | 'subscriptions'
    | 'results'
    | 'leases'
    | 'snapshots'
    | 'liveText'
    | 'submit'
    | 'spend'
  > {
  readonly name: string;
  readonly spec: AgentSpec;
  readonly model: ModelClient;
  readonly logger: Logger;
}

/** Starts an agent on a NATS connection: its history, inbox, control subject, results, lease and snapshots. */
export async function startAgentOnNats(
  connection: SpoolConnection,
  options: AgentOnNatsOptions,
): Promise<AgentHandle> {
  // A pool replica takes work from the pool's consumers (shared with its siblings); an adopted
  // one takes none, it only finishes what its history holds.
  const source = options.pool?.name ?? options.name;
  const mcp =
    options.mcp ??
    (await connectMcpTools(options.spec, { logger: options.logger.child({ agent: options.name }) }));
  try {
    return await startOn(connection, options, source, mcp);
  } catch (err) {
    await mcp.close(); // no stdio children left behind by a start that failed
    throw err;
  }
}

async function startOn(
  connection: SpoolConnection,
  options: AgentOnNatsOptions,
  source: string,
  mcp: McpTools,
): Promise<AgentHandle> {
  const ackWait = options.ackWaitMs === undefined ? {} : { ackWaitMs: options.ackWaitMs };
  return startAgent({
    ...options,
    mcp,
    store: historyStore(connection, parseAgentCommit),
    inbox: options.adopted ? noIntake() : await openInbox(connection, source, ackWait),
    control: await openControl(connection, options.name, ackWait),
    subscriptions: await Promise.all(
      (options.adopted ? [] : options.spec.subscriptions).map(async (sub) =>
        subscriptionTasks(await openSubscription(connection, source, sub.name, sub.subject, ackWait), sub),
      ),
    ),
    results: results(connection),
    leases: await leases(connection),
    snapshots: await snapshotStore(connection),
    liveText: liveText(connection),
    ...(options.spec.budget.dailyCostUsd === undefined ? {} : { spend: await spend(connection) }),
    submit: submitPortOn(connection),
  });
}

/** Where an agent's `delegate` calls go on NATS: sub-tasks with their trace, and their cancels. */
export function submitPortOn(connection: SpoolConnection): SubmitPort {
  return {
    task: (agent, task, trace) => submitTask(connection, agent, task, { trace }),
    // A pool's task is cancelled at the replica that holds it.
    control: async (agent, message, id) =>
      sendControl(
        connection,
        'taskId' in message ? await taskOwner(connection, agent, message.taskId) : agent,
        message,
        id,
      ),
  };
}
