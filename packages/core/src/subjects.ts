/** Stream and subject names: the public contract (see DESIGN.md). */

export const Streams = {
  Inbox: 'SPOOL_INBOX',
  History: 'SPOOL_HISTORY',
  Results: 'SPOOL_RESULTS',
  /** Keyed agents' instance histories: append-only, but an admin may purge one instance's subject (erasure). */
  Keyed: 'SPOOL_KEYED',
} as const;

export const Buckets = {
  /** Who holds each agent name (single writer): derived coordination data only. */
  Leases: 'spool_leases',
  /** Agents' state snapshots (derived: the histories rebuild them). */
  Snapshots: 'spool_snapshots',
  /** Which replica of a pool took each task (derived: the replicas' histories are the truth). */
  Claims: 'spool_claims',
  /**
   * Keyed agents: `own.<agent>.<key>` names the host running an active instance (valid while
   * that host's lease lives), `wake.<agent>.<key>` what a passivated waiting instance waits for.
   */
  Keyed: 'spool_keyed',
  /** Each agent's spend today and the holds of its calls in flight (spend-ledger.ts). */
  Spend: 'spool_spend',
  /** The shared rate limits' token buckets (rate-limits.ts). */
  Rates: 'spool_rates',
} as const;

/** The coordinator's own history lives beside the agents'; no agent may take its name. */
export const COORDINATOR = 'coordinator';

/** Agent names are one subject token: lower-case letters, digits and dashes. */
export const AGENT_NAME_PATTERN = /^[a-z0-9-]+$/;
/** Task ids become a subject token of the result subject, so `.`, `*`, `>` and spaces are out. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9_:=@+-]{1,128}$/;

export const subjects = {
  inbox: (agent: string) => `spool.inbox.${agent}`,
  control: (agent: string) => `spool.control.${agent}`,
  history: (agent: string) => `spool.history.${agent}`,
  result: (agent: string, taskId: string) => `spool.results.${agent}.${taskId}`,
  /** A keyed agent's instance: tasks, commands and its history (`<agent>.<key>`, see keyed.ts). */
  keyedInbox: (agent: string, key: string) => `spool.inbox.${agent}.${key}`,
  keyedControl: (agent: string, key: string) => `spool.control.${agent}.${key}`,
  keyedHistory: (instance: string) => `spool.keyed.${instance}`,
  allKeyed: 'spool.keyed.>',
  /** Request/reply: a keyed agent's host takes messages for the instances it runs (forwarded by siblings). */
  keyedHost: (agent: string, host: string) => `spool.api.keyed.${agent}.${host}`,
  /** Core NATS, not stored: a task's reply text as it streams from the model (`spool submit --follow`). */
  liveText: (agent: string, taskId: string) => `spool.stream.${agent}.${taskId}`,
  /** Wildcards used by provisioning and watchers. */
  allInboxes: 'spool.inbox.>',
  allControls: 'spool.control.>',
  allHistories: 'spool.history.>',
  allResults: 'spool.results.>',
  /** Request/reply: the coordinator answers with a StatusReport. */
  status: 'spool.api.status',
  /** Request/reply: the coordinator answers with a DeadLetterReport (failed tasks not retried or dropped). */
  deadLetters: 'spool.api.dlq',
  /** Request/reply `{ id?: string }`: the coordinator answers with one workflow's view, or the list of workflows. */
  workflows: 'spool.api.workflows',
  /** Request/reply `{}`: the coordinator answers with its schedules (`spool schedule list`). */
  schedules: 'spool.api.schedules',
  /** Request/reply: pool siblings ask a replica whether it journaled a task. */
  poolAsk: (replica: string) => `spool.api.pool.${replica}`,
} as const;

/** The agent name of a history subject, or undefined when it is not one. */
export function agentOfHistorySubject(subject: string): string | undefined {
  const prefix = 'spool.history.';
  return subject.startsWith(prefix) ? subject.slice(prefix.length) : undefined;
}

/** Durable consumer name of an agent's inbox. */
export const inboxConsumerName = (agent: string) => `inbox-${agent}`;

/** Durable consumer name of an agent's control subject. */
export const controlConsumerName = (agent: string) => `control-${agent}`;
