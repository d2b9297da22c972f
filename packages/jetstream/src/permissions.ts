import {
  Buckets,
  COORDINATOR,
  controlConsumerName,
  inboxConsumerName,
  namespacing,
  replicaNames,
  Streams,
  subjects,
} from '@spool/core/internal';

/**
 * Least-privilege NATS permissions for each role that uses Spool, as nats-server's
 * `permissions` block takes them. They list exactly what this package sends on the wire
 * (verified against nats-server 2.9 in test/production/permissions.test.ts): the JetStream API
 * calls with the stream, consumer and filter in their subjects, KV keys, and core subjects.
 */
export const ROLES = ['agent', 'coordinator', 'client', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What an agent's permissions depend on: its config. */
export interface AgentGrant {
  readonly name: string;
  /** More than 1: a pool, whose replicas `<name>-<k>` are its actors. */
  readonly replicas: number;
  /** A keyed agent: it hosts instances `<name>.<key>` (keyed-host in runtime). */
  readonly keyed?: boolean | undefined;
  /** The agents it may delegate to. */
  readonly delegates: readonly string[];
  /** Its result subscriptions: a durable consumer each, on `subject`. */
  readonly subscriptions: readonly { readonly name: string; readonly subject: string }[];
}

export interface PermissionsOptions {
  readonly namespace?: string | undefined;
  /** The role's reply-subject prefix (default: `defaultInboxPrefix`); the client must connect with it. */
  readonly inboxPrefix?: string | undefined;
  /** Required for `agent`. */
  readonly agent?: AgentGrant | undefined;
}

export interface NatsPermissions {
  readonly publish: { readonly allow: string[]; readonly deny: string[] };
  readonly subscribe: { readonly allow: string[] };
  /** May answer requests it received (the coordinator's APIs, a pool replica's "do you have it?"). */
  readonly allow_responses?: boolean;
}

/**
 * Each identity gets its own reply prefix (nats.js `inboxPrefix`): with the default `_INBOX`
 * everyone allowed to read replies could read everyone's, pulled messages included.
 */
export function defaultInboxPrefix(role: Role, name?: string, namespace?: string): string {
  const parts = ['_INBOX', namespace, role, role === 'agent' ? name : undefined].filter(Boolean);
  return parts.join('_').replace(/-/g, '_');
}

/** Spool's three streams and its three buckets' streams, as named in `namespace`. */
function streamsOf(namespace?: string) {
  const ns = namespacing(namespace);
  return {
    ns,
    inbox: ns.stream(Streams.Inbox),
    history: ns.stream(Streams.History),
    keyed: ns.stream(Streams.Keyed),
    results: ns.stream(Streams.Results),
    leases: ns.bucket(Buckets.Leases),
    snapshots: ns.bucket(Buckets.Snapshots),
    claims: ns.bucket(Buckets.Claims),
    keyedRecords: ns.bucket(Buckets.Keyed),
    spend: ns.bucket(Buckets.Spend),
    rates: ns.bucket(Buckets.Rates),
  };
}

const API = '$JS.API';

/** What every role does: JetStream account info, and look up Spool's streams (never create them). */
function base(namespace?: string): string[] {
  const s = streamsOf(namespace);
  return [
    `${API}.INFO`,
    ...[s.inbox, s.history, s.keyed, s.results].map((stream) => `${API}.STREAM.INFO.${stream}`),
    ...[s.leases, s.snapshots, s.claims, s.keyedRecords, s.spend, s.rates].map(
      (bucket) => `${API}.STREAM.INFO.KV_${bucket}`,
    ),
  ];
}

/** A durable consumer on `stream` filtered to `filter`: create, look up, pull, ack, recreate. */
function durable(stream: string, consumer: string, filter: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}.${consumer}.${filter}`,
    `${API}.CONSUMER.INFO.${stream}.${consumer}`,
    `${API}.CONSUMER.DELETE.${stream}.${consumer}`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
    `$JS.ACK.${stream}.${consumer}.>`,
  ];
}

/** Ephemeral consumers (replays, watches) that may only filter on `filter`; their names are random. */
function reader(stream: string, filter: string): string[] {
  return [
    `${API}.CONSUMER.CREATE.${stream}.*.${filter}`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`,
  ];
}

/** Read and write one KV key (and the keys under it): put, get, and a lease's compare-and-swap. */
function kvKey(bucket: string, key: string): string[] {
  return [`$KV.${bucket}.${key}`, `${API}.DIRECT.GET.KV_${bucket}.$KV.${bucket}.${key}`];
}

/**
 * A keyed agent's host: the shared consumers on every key, its instances' histories in
 * SPOOL_KEYED (append, replay; never purge), results and live text under the key, snapshots
 * `<agent>.<key>`, and its records in `spool_keyed` (host leases, ownership, wake records
 * watched, attempt counts of redelivered tasks), and forwarding between its hosts.
 */
function keyedPublish(grant: AgentGrant, namespace?: string): string[] {
  const s = streamsOf(namespace);
  const w = s.ns.subject;
  const a = grant.name;
  const records = s.keyedRecords;
  return [
    ...durable(s.inbox, inboxConsumerName(a), w(subjects.keyedInbox(a, '*'))),
    ...durable(s.inbox, controlConsumerName(a), w(subjects.keyedControl(a, '*'))),
    w(subjects.keyedHistory(`${a}.*`)),
    `${API}.DIRECT.GET.${s.keyed}.${w(subjects.keyedHistory(`${a}.*`))}`,
    ...reader(s.keyed, w(subjects.keyedHistory(`${a}.*`))),
    w(subjects.result(`${a}.*`, '*')),
    `${API}.DIRECT.GET.${s.results}.${w(subjects.result(`${a}.*`, '*'))}`,
    w(subjects.liveText(`${a}.*`, '*')),
    ...kvKey(s.snapshots, `${a}.*`),
    ...kvKey(s.snapshots, `${a}.*.>`),
    `${API}.STREAM.PURGE.KV_${s.snapshots}`,
    ...['own', 'wake', 'host'].flatMap((kind) => kvKey(records, `${kind}.${a}.*`)),
    ...kvKey(records, `try.${a}.*.*`),
    ...reader(`KV_${records}`, `$KV.${records}.wake.${a}.>`),
    `${API}.STREAM.PURGE.KV_${records}`,
    w(subjects.keyedHost(a, '*')),
  ];
}

function agentPublish(grant: AgentGrant, namespace?: string): string[] {
  const s = streamsOf(namespace);
  if (grant.keyed === true) return [...keyedPublish(grant, namespace), ...delegatePublish(grant, namespace)];
  const w = s.ns.subject;
  const pool = grant.replicas > 1;
  const actors = pool ? replicaNames(grant.name, grant.replicas) : [grant.name];
  const out: string[] = [
    ...durable(s.inbox, inboxConsumerName(grant.name), w(subjects.inbox(grant.name))),
    w(subjects.result(grant.name, '*')),
    `${API}.DIRECT.GET.${s.results}.${w(subjects.result(grant.name, '*'))}`,
    w(subjects.liveText(grant.name, '*')),
  ];
  for (const actor of actors) {
    out.push(
      ...durable(s.inbox, controlConsumerName(actor), w(subjects.control(actor))),
      w(subjects.history(actor)),
      `${API}.DIRECT.GET.${s.history}.${w(subjects.history(actor))}`,
      ...reader(s.history, w(subjects.history(actor))),
      ...kvKey(s.leases, actor),
      ...kvKey(s.snapshots, actor),
      ...kvKey(s.snapshots, `${actor}.>`),
    );
  }
  // Its spend today, shared by its processes and replicas (one key: the configured agent's name),
  // and the fleet's rate limit buckets (one key per limit, shared by every agent). Both are read
  // from the leader (a message get names its subject in the body) and changed by compare-and-swap.
  out.push(
    `$KV.${s.spend}.${grant.name}`,
    `${API}.STREAM.MSG.GET.KV_${s.spend}`,
    `$KV.${s.rates}.*`,
    `${API}.STREAM.MSG.GET.KV_${s.rates}`,
  );
  // Old snapshot chunks are swept with a filtered purge of the bucket's stream (2.9 cannot
  // restrict a purge's filter): snapshots are derived data, the histories stay untouchable.
  out.push(`${API}.STREAM.PURGE.KV_${s.snapshots}`);
  if (pool) {
    // Which replica took each task, and asking a sibling whether it journaled one. Claims and
    // the results a replica checks before journaling are read from the leader (a message get
    // names its subject in the body), and a claim is released with a filtered purge.
    out.push(
      ...kvKey(s.claims, `${grant.name}.*`),
      `${API}.STREAM.MSG.GET.KV_${s.claims}`,
      `${API}.STREAM.PURGE.KV_${s.claims}`,
      `${API}.STREAM.MSG.GET.${s.results}`,
    );
    for (const actor of actors) out.push(w(subjects.poolAsk(actor)));
  }
  out.push(...delegatePublish(grant, namespace));
  for (const sub of grant.subscriptions)
    out.push(...durable(s.results, `sub-${grant.name}-${sub.name}`, w(sub.subject)));
  return out;
}

/** Send sub-tasks to its delegates and read their results. */
function delegatePublish(grant: AgentGrant, namespace?: string): string[] {
  const s = streamsOf(namespace);
  const w = s.ns.subject;
  return grant.delegates.flatMap((delegate) => [
    w(subjects.inbox(delegate)),
    `${API}.DIRECT.GET.${s.results}.${w(subjects.result(delegate, '*'))}`,
  ]);
}

function agentSubscribe(grant: AgentGrant, namespace?: string): string[] {
  const w = namespacing(namespace).subject;
  const actors = grant.replicas > 1 ? replicaNames(grant.name, grant.replicas) : [];
  return [
    ...actors.map((actor) => w(subjects.poolAsk(actor))),
    ...(grant.keyed === true ? [w(subjects.keyedHost(grant.name, '*'))] : []),
    ...grant.delegates.map((delegate) => w(subjects.result(delegate, '*'))),
  ];
}

/** Submit tasks and workflow runs, read and wait for results, follow replies and a run's progress. */
function clientPublish(namespace?: string): string[] {
  const s = streamsOf(namespace);
  const w = s.ns.subject;
  return [
    w(subjects.inbox('*')),
    w(subjects.keyedInbox('*', '*')),
    `${API}.DIRECT.GET.${s.results}.${w('spool.results.>')}`,
    `${API}.DIRECT.GET.${s.history}.${w(subjects.history(COORDINATOR))}`,
    ...reader(s.history, w(subjects.history(COORDINATOR))),
    w(subjects.workflows),
    w(subjects.schedules),
  ];
}

function clientSubscribe(namespace?: string): string[] {
  const w = namespacing(namespace).subject;
  return [w('spool.results.>'), w('spool.stream.>')];
}

/** Control every agent, ask the status and dead-letter APIs, replay any history (with --verify). */
function operatorPublish(namespace?: string): string[] {
  const s = streamsOf(namespace);
  const w = s.ns.subject;
  return [
    ...clientPublish(namespace),
    w(subjects.control('*')),
    w(subjects.keyedControl('*', '*')),
    `${API}.DIRECT.GET.${s.keyed}.${w('spool.keyed.*.*')}`,
    ...reader(s.keyed, w('spool.keyed.*.*')),
    // Keyed instances' latest results, for their dead letters (keyed-failures.ts).
    ...reader(s.results, w('spool.results.*.*.*')),
    // Keyed agents' hosts and ownership records: the console's list of instances (keyed-census.ts).
    `${API}.STREAM.MSG.GET.KV_${s.keyedRecords}`,
    w(subjects.status),
    w(subjects.deadLetters),
    `${API}.DIRECT.GET.${s.history}.${w('spool.history.*')}`,
    // One commit by its sequence (the console's task pages read a task's commits so).
    `${API}.DIRECT.GET.${s.history}`,
    ...reader(s.history, w('spool.history.*')),
    `${API}.DIRECT.GET.KV_${s.snapshots}.>`,
    `${API}.DIRECT.GET.KV_${s.claims}.>`,
    `${API}.STREAM.MSG.GET.KV_${s.claims}`,
    `${API}.CONSUMER.LIST.${s.inbox}`,
  ];
}

/** The coordinator: its own actor, and it reads every history, result, lease and queue. */
function coordinatorPublish(namespace?: string): string[] {
  const s = streamsOf(namespace);
  const w = s.ns.subject;
  const own: AgentGrant = { name: COORDINATOR, replicas: 1, delegates: [], subscriptions: [] };
  return [
    ...agentPublish(own, namespace),
    // The status registry's own snapshot (coordinator/src/registry-snapshots.ts).
    ...kvKey(s.snapshots, 'coordinator_registry'),
    ...kvKey(s.snapshots, 'coordinator_registry.>'),
    w(subjects.inbox('*')),
    w(subjects.control('*')),
    ...reader(s.history, w('spool.history.>')),
    ...reader(s.results, w('spool.results.>')),
    `${API}.DIRECT.GET.${s.results}.${w('spool.results.>')}`,
    ...reader(`KV_${s.leases}`, `$KV.${s.leases}.>`),
    `${API}.DIRECT.GET.KV_${s.leases}.>`,
    `${API}.DIRECT.GET.KV_${s.claims}.>`,
    `${API}.STREAM.MSG.GET.KV_${s.claims}`,
    // Spend today and the rate limits, for the status API.
    `${API}.STREAM.MSG.GET.KV_${s.spend}`,
    `${API}.STREAM.MSG.GET.KV_${s.rates}`,
    // Keyed agents' hosts and ownership records, for the instances in status reports (keyed-census.ts).
    `${API}.STREAM.MSG.GET.KV_${s.keyedRecords}`,
    `${API}.CONSUMER.INFO.${s.inbox}.*`,
    `${API}.CONSUMER.LIST.${s.inbox}`,
  ];
}

function coordinatorSubscribe(namespace?: string): string[] {
  const w = namespacing(namespace).subject;
  return [w(subjects.status), w(subjects.deadLetters), w(subjects.workflows), w(subjects.schedules)];
}

/** Creates and updates the streams and buckets (`spool provision`), and may do anything in Spool's space. */
function adminPublish(namespace?: string): string[] {
  const w = namespacing(namespace).subject;
  return [`${API}.>`, '$JS.ACK.>', '$KV.>', w('spool.>')];
}

/** Never granted to any role but admin, whatever an allow pattern would match. */
function denied(namespace?: string): string[] {
  const s = streamsOf(namespace);
  return [
    `${API}.STREAM.CREATE.>`,
    `${API}.STREAM.UPDATE.>`,
    `${API}.STREAM.DELETE.>`,
    `${API}.STREAM.PURGE.${s.inbox}`,
    `${API}.STREAM.PURGE.${s.history}`,
    // Erasing an instance of a keyed agent (spool forget) is the admin's alone.
    `${API}.STREAM.PURGE.${s.keyed}`,
    `${API}.STREAM.PURGE.${s.results}`,
    `${API}.STREAM.MSG.DELETE.>`,
  ];
}

/** The nats-server `permissions` object for `role`, ready for a user entry of an `authorization` block. */
export function permissionsFor(role: Role, options: PermissionsOptions = {}): NatsPermissions {
  const { namespace } = options;
  const inbox = options.inboxPrefix ?? defaultInboxPrefix(role, options.agent?.name, namespace);
  const unique = (list: string[]) => [...new Set(list)];
  switch (role) {
    case 'agent': {
      const grant = options.agent;
      if (grant === undefined) throw new Error('the agent role needs the agent (name, replicas, delegates)');
      return {
        publish: {
          allow: unique([...base(namespace), ...agentPublish(grant, namespace)]),
          deny: denied(namespace),
        },
        subscribe: { allow: unique([`${inbox}.>`, ...agentSubscribe(grant, namespace)]) },
        ...(grant.replicas > 1 || grant.keyed === true ? { allow_responses: true } : {}),
      };
    }
    case 'coordinator':
      return {
        publish: {
          allow: unique([...base(namespace), ...coordinatorPublish(namespace)]),
          deny: denied(namespace),
        },
        subscribe: { allow: unique([`${inbox}.>`, ...coordinatorSubscribe(namespace)]) },
        allow_responses: true,
      };
    case 'client':
      return {
        publish: {
          allow: unique([...base(namespace), ...clientPublish(namespace)]),
          deny: denied(namespace),
        },
        subscribe: { allow: unique([`${inbox}.>`, ...clientSubscribe(namespace)]) },
        // A follower answers the agent's "anyone watching?" probe on the live text (live-text.ts).
        allow_responses: true,
      };
    case 'operator':
      return {
        publish: {
          allow: unique([...base(namespace), ...operatorPublish(namespace)]),
          deny: denied(namespace),
        },
        // An operator also runs the client's commands.
        subscribe: {
          allow: unique([
            `${inbox}.>`,
            `${defaultInboxPrefix('client', undefined, namespace)}.>`,
            ...clientSubscribe(namespace),
          ]),
        },
        allow_responses: true,
      };
    case 'admin':
      return {
        publish: { allow: adminPublish(namespace), deny: [] },
        subscribe: { allow: [`${inbox}.>`, namespacing(namespace).subject('spool.>')] },
        allow_responses: true,
      };
  }
}
