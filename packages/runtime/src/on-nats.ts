import type { ModelClient } from '@spool/claude';
import type { AgentSpec } from '@spool/core';
import {
  historyStore,
  leases,
  liveText,
  openControl,
  openInbox,
  openSubscription,
  results,
  type SpoolConnection,
  snapshotStore,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { type AgentHandle, type AgentOptions, startAgent } from './agent.ts';
import { subscriptionTasks } from './subscriptions.ts';

export interface AgentOnNatsOptions
  extends Omit<
    AgentOptions,
    'store' | 'inbox' | 'control' | 'subscriptions' | 'results' | 'leases' | 'snapshots' | 'liveText'
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
  const ackWait = options.ackWaitMs === undefined ? {} : { ackWaitMs: options.ackWaitMs };
  return startAgent({
    ...options,
    store: historyStore(connection),
    inbox: await openInbox(connection, options.name, ackWait),
    control: await openControl(connection, options.name, ackWait),
    subscriptions: await Promise.all(
      options.spec.subscriptions.map(async (sub) =>
        subscriptionTasks(
          await openSubscription(connection, options.name, sub.name, sub.subject, ackWait),
          sub,
        ),
      ),
    ),
    results: results(connection),
    leases: await leases(connection),
    snapshots: await snapshotStore(connection),
    liveText: liveText(connection),
  });
}
