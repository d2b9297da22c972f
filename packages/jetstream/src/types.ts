import type { HistoryEvent, StoredCommit, TaskResult, TraceContext } from '@spool/core/internal';
import type { NatsCredentials } from './connect-settings.ts';

/**
 * The contract of the jetstream package: everything the runtime, coordinator and CLI
 * need from NATS, and nothing NATS-specific leaks out (no NATS types here).
 */

/** Where connection state changes are reported (a pino logger fits). */
export interface ConnectionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ConnectOptions {
  /** e.g. nats://127.0.0.1:4222, or a cluster's servers comma-separated; may carry user:pass@ or token@. */
  readonly url: string;
  /** Credentials and TLS files (over any userinfo of the URL). */
  readonly credentials?: NatsCredentials;
  /** Prefixes every subject and suffixes every stream and bucket name (see core's namespacing). */
  readonly namespace?: string | undefined;
  /** The prefix of this client's reply subjects (default _INBOX): a role's own, so no other user can read its replies. */
  readonly inboxPrefix?: string;
  /** Client name shown by the server (e.g. `spool-agent-analyst`). */
  readonly name: string;
  readonly logger?: ConnectionLogger;
  /** Give up connecting the first time after this long (default 5 s); once connected, reconnects never stop. */
  readonly connectTimeoutMs?: number;
}

/** An open connection to NATS with JetStream; `close()` drains it. */
export interface SpoolConnection {
  /** The servers, with any userinfo replaced by *** (safe to show). */
  readonly url: string;
  readonly namespace: string | undefined;
  /** e.g. "2.9.10" */
  readonly serverVersion: string;
  /** Resolves when the connection is closed (by `close()` or for good). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface AppendResult {
  /** Stream sequence of the stored commit (the original one when `duplicate`). */
  readonly seq: number;
  /** The server had already stored a commit with this id: nothing new was written. */
  readonly duplicate: boolean;
}

export interface ReplayOptions {
  /** First sequence to read (default 1). */
  readonly fromSeq?: number;
  /** Last sequence to read; default: the subject's last sequence when replay starts (caught up). */
  readonly untilSeq?: number;
}

/**
 * Append-only histories on `spool.history.<name>`, one writer each. `Event` is what a history
 * holds: an agent's events, the coordinator's, or any (the default, for readers of all).
 */
export interface HistoryStore<Event = HistoryEvent> {
  /**
   * Appends one commit (its events, written together) if the subject's last sequence is
   * still `expectedSeq` (0: the subject must be empty). Throws ConcurrencyError when another
   * writer got there first. Retries a publish whose outcome is unknown (timeout, lost
   * connection) with the same `Nats-Msg-Id`, so an append is never stored twice.
   */
  append(agent: string, events: readonly Event[], expectedSeq: number): Promise<AppendResult>;
  /** The last sequence of the agent's history subject, 0 when it is empty. */
  lastSeq(agent: string): Promise<number>;
  /**
   * Streams the agent's commits in order from `fromSeq` and ends once it has delivered the
   * subject's last sequence as read at the start (or `untilSeq`): it knows when it has caught up.
   * A message that is not a valid commit throws with its sequence in the message.
   */
  replay(agent: string, options?: ReplayOptions): AsyncIterable<StoredCommit<Event>>;
  /**
   * The commit at stream sequence `seq` of the agent's history (one direct get: for reading a
   * few known commits, not for replay); undefined when that sequence is not the agent's.
   */
  commitAt(agent: string, seq: number): Promise<StoredCommit<Event> | undefined>;
  /** Agents that have a history, by name. */
  agents(): Promise<string[]>;
}

/** One inbox message held by this consumer until acked. */
export interface InboxMessage {
  /** Stream sequence in SPOOL_INBOX. */
  readonly seq: number;
  /** The subject it was published on, without a namespace (a keyed agent's names the key). */
  readonly subject: string;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  /** The raw payload as text (it may be anything: it is validated by the caller). */
  readonly data: string;
  /** The W3C trace context of its `traceparent` / `tracestate` headers, when it carried a valid one. */
  readonly trace?: TraceContext;
  ack(): Promise<void>;
  /** Tells the server the message is still being worked on (resets ack_wait). */
  working(): void;
  nak(delayMs?: number): void;
}

export interface InboxOptions {
  /** Ack wait in ms before the server redelivers an unacked message (default 30 s). */
  readonly ackWaitMs?: number;
  /**
   * Wait for the server to confirm each ack (default true). A keyed agent's consumers do not:
   * they ack only what is journaled, so a lost ack is a redelivery its instance recognises by
   * task id, and not waiting saves a round trip per task.
   */
  readonly confirmAcks?: boolean;
}

/** The durable consumer `inbox-<agent>` on `spool.inbox.<agent>`, explicit ack. */
export interface Inbox {
  /** Up to `max` messages; resolves early with what arrived, or empty after `expiresMs`. */
  fetch(max: number, expiresMs: number, signal?: AbortSignal): Promise<InboxMessage[]>;
  /** Messages not yet delivered plus delivered but unacked. */
  pending(): Promise<{ queued: number; unacked: number }>;
  /**
   * Makes messages delivered to a writer that is gone (crashed, cut off) deliverable again now
   * rather than after the ack wait. Only for a new lease holder that took the name over.
   * Returns how many messages were waiting for an ack.
   */
  reclaim(): Promise<number>;
}

export interface PublishResultOutcome {
  readonly seq: number;
  /** A result for this task id already existed; nothing new was written. */
  readonly alreadyPublished: boolean;
}

export interface Results {
  /**
   * Publishes a task's one result on `spool.results.<agent>.<taskId>`; a second publish for
   * the same id is a no-op. A task retried from the dead-letter view publishes its new result
   * after the previous one: pass that result's sequence as `previousSeq`.
   */
  publish(result: TaskResult, previousSeq?: number): Promise<PublishResultOutcome>;
  /** The stored result of a task, if any. */
  get(agent: string, taskId: string): Promise<TaskResult | undefined>;
  /**
   * Whether a result of the task is stored on `spool.results.<where>.<taskId>` (`where`: the
   * agent, a pool, or a keyed instance's `<agent>.<key>`): the record of every task id an
   * agent ever finished. Throws when the stream cannot say (never a guessed "no").
   */
  published(where: string, taskId: string): Promise<boolean>;
  /** Resolves with the task's result as soon as it exists (already stored, or when it arrives). */
  wait(agent: string, taskId: string, signal?: AbortSignal): Promise<TaskResult>;
}

export interface SubmitOutcome {
  readonly seq: number;
  /** The same task id was submitted within the dedup window: one task. */
  readonly duplicate: boolean;
}

/** Who holds an agent name right now. */
export interface LeaseInfo {
  readonly agent: string;
  readonly holder: string;
  readonly renewedAt: string;
  readonly expired: boolean;
  /** What the holder said about itself at its last renewal (`LeaseOptions.describe`), unvalidated. */
  readonly about?: unknown;
}

/** Single-writer claim on an agent name, kept alive by heartbeat (KV compare-and-swap). */
export interface Lease {
  readonly agent: string;
  readonly holder: string;
  /** Aborted when the lease is lost (another holder took it, or renewal failed past expiry). */
  readonly lost: AbortSignal;
  /** True when the previous holder never released the name (it crashed or was cut off). */
  readonly takeover: boolean;
  release(): Promise<void>;
  /** Stops renewing without releasing: the lease expires, and others treat its holder as dead. */
  abandon?(): void;
}

export interface LeaseOptions {
  /** How long a lease lives without renewal (default 10 s); renewed every ttl/3. */
  readonly ttlMs?: number;
  /** Called while waiting for another holder's lease to expire. */
  readonly onWait?: (current: LeaseInfo) => void;
  readonly signal?: AbortSignal;
  /**
   * What the holder says about itself (e.g. its MCP servers' states), written with the lease and
   * each renewal: status readers see it at most a third of the ttl old, with no extra writes.
   */
  readonly describe?: () => unknown;
  /**
   * Lost as soon as it goes unrenewed for its ttl (less a margin), even if a later renewal
   * would succeed: for a holder whose work others take over the moment its lease looks expired
   * (a keyed host's instances are adopted key by key), so that it stops before they start.
   */
  readonly loseWhenExpired?: boolean;
}

export interface Leases {
  /** Waits until this holder owns the agent name (or the signal aborts). */
  acquire(agent: string, holder: string, options?: LeaseOptions): Promise<Lease>;
  /** Current holders, for status. */
  list(): Promise<LeaseInfo[]>;
}

/** Core request/reply, used by the coordinator's status API. */
export interface Requests {
  /** Serves requests on a subject until the returned function is called. */
  serve(subject: string, handler: (data: string) => Promise<string> | string): () => void;
  request(subject: string, data: string, timeoutMs: number): Promise<string>;
}

/** Every message of a stream's subjects, from the start, then as they arrive. */
export interface StreamWatch<T> {
  /** Yields every item in stream order. */
  [Symbol.asyncIterator](): AsyncIterator<T>;
  /** Resolves once every message that existed when the watch started has been delivered. */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

/** Every history commit of every agent (`spool.history.>`). */
export type HistoryWatch = StreamWatch<{ agent: string; commit: StoredCommit }>;

/** One agent's history commits from a given sequence on, live (`followHistory`); ends only on `stop()`. */
export interface HistoryFollow {
  /** Yields each commit in order as it is stored. */
  [Symbol.asyncIterator](): AsyncIterator<StoredCommit>;
  stop(): Promise<void>;
}

/** Every task result of every agent (`spool.results.>`). */
export type ResultsWatch = StreamWatch<{ seq: number; result: TaskResult }>;
