import { type Clock, type SnapshotPort, startActor, systemClock } from '@spool/actor';
import type { ModelClient } from '@spool/claude';
import {
  type AgentEvent,
  type AgentSpec,
  type AgentState,
  delegateTool,
  noObserver,
  type Observer,
  priceFor,
  specHash,
  toolDefinitions,
  waitTool,
} from '@spool/core/internal';
import {
  type HistoryStore,
  type Inbox,
  type Leases,
  type LiveText,
  type Results,
  reclaimUnacked,
  type RateLimiter,
  type Spend,
} from '@spool/jetstream';
import type { McpServerState } from '@spool/mcp';
import type { Logger } from 'pino';
import { agentLogic } from './agent-logic.ts';
import { AgentTerm } from './agent-term.ts';
import type { AgentPorts, KeyedInstance, SubmitPort } from './context.ts';
import { type McpTools, noMcpTools } from './mcp-tools.ts';
import type { PoolIntake } from './pool-intake.ts';
import type { TaskAttempts } from './task-attempts.ts';

export interface AgentOptions {
  readonly name: string;
  readonly spec: AgentSpec;
  /** Identifies this process in the lease (default `<hostname>:<pid>`). */
  readonly holder: string;
  /** The agent's history (`historyStore(connection, parseAgentCommit)`). */
  readonly store: HistoryStore<AgentEvent>;
  readonly inbox: Inbox;
  /** Other agents' results as tasks: `subscriptionTasks(openSubscription(…))` per `spec.subscriptions` entry, in order. */
  readonly subscriptions?: readonly Inbox[];
  /** The agent's control consumer (`openControl`): pause, resume, cancel. */
  readonly control: Inbox;
  readonly results: Results;
  /** Where `delegate` calls send sub-tasks (`submitTask` / `sendControl`); needed by agents with `delegation`. */
  readonly submit?: SubmitPort;
  /** Snapshot storage (`snapshotStore`); without it recovery always replays the whole history. */
  readonly snapshots?: SnapshotPort;
  /** Live reply text (`liveText`), for `spool submit --follow`. */
  readonly liveText?: Pick<LiveText, 'publish' | 'listening'>;
  readonly leases: Pick<Leases, 'acquire'>;
  readonly model: ModelClient;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Work in flight gets this long to finish on stop (default: the spec's shutdownGraceMs). */
  readonly stopGraceMs?: number;
  /** Inbox consumer ack wait, for keep-alive signals (default 30 s). */
  readonly ackWaitMs?: number;
  readonly fetchExpiresMs?: number;
  /**
   * A replica of an agent pool: `inbox` (and the subscriptions) are the pool's, shared with the
   * siblings, and the claims decide which replica journals a task.
   */
  readonly pool?: PoolIntake;
  /**
   * A dead sibling taken over by its pool (startPool): the name is taken only if free or
   * expired now (no standing by), and given up for good when the term ends.
   */
  readonly adopted?: boolean;
  /** An instance of a keyed agent (keyed-host.ts): `name` is `<agent>.<key>`. */
  readonly keyed?: KeyedInstance;
  /** A keyed instance's attempts at journaling redelivered tasks, counted by its host (keyed-host.ts). */
  readonly attempts?: TaskAttempts;
  /**
   * The spec's MCP servers, connected (`connectMcpTools`; `startAgentOnNats` connects them).
   * The agent owns them: they are closed, stdio children stopped, when it stops.
   */
  readonly mcp?: McpTools;
  /** Where it reports tasks, model and tool calls, commits and its lease, for metrics (default: nowhere). */
  readonly observer?: Observer;
  /** Record prompt, reply and tool text in spans (default off: they may hold anything). */
  readonly traceContent?: boolean;
  /** The fleet's shared spend (`spend(connection)`), for `budget.dailyCostUsd` across processes and replicas. */
  readonly spend?: Spend;
  /** The process's shared rate limits (`rateLimiter(connection, config.limits)`), one for all its agents. */
  readonly rates?: RateLimiter;
}

/** A running agent: its state is the fold of its history; `stop()` ends it cleanly. */
export interface AgentHandle {
  readonly name: string;
  /** Resolves once this process holds the name and has replayed the history. */
  readonly ready: Promise<void>;
  /** The replayed state while this process is the writer. */
  state(): AgentState | undefined;
  /** Whether the history has the task (or it is being journaled); undefined while not the writer or not replayed. */
  knows(taskId: string): boolean | undefined;
  stop(): Promise<void>;
  /** Each MCP server's state (status, restarts, tools, last error), for status and logs. */
  mcpServers(): McpServerState[];
  /** Resolves when the agent has stopped. */
  readonly stopped: Promise<void>;
}

/**
 * Runs an agent on the actor kernel until stopped: waits to hold its name (a standby waits
 * here while another process is the writer), replays its history, and works (agent-term.ts).
 * If it loses the name (its lease was taken, or another writer appended first) it steps back
 * and waits to hold it again; it never writes on a stale view.
 */
export function startAgent(options: AgentOptions): AgentHandle {
  const { spec } = options;
  const logger = options.logger.child({ agent: options.name });
  const price = priceFor(spec.model, spec.prices);
  const mcp = options.mcp ?? noMcpTools;
  const observer = options.observer ?? noObserver;
  const ports: AgentPorts = {
    name: options.name,
    spec,
    inbox: options.inbox,
    subscriptions: options.subscriptions ?? [],
    control: options.control,
    results: options.results,
    submit: options.submit,
    liveText: options.liveText,
    model: options.model,
    fetchExpiresMs: options.fetchExpiresMs ?? 2_000,
    keepAliveMs: Math.max(1_000, Math.floor((options.ackWaitMs ?? 30_000) / 3)),
    pool: options.pool,
    keyed: options.keyed,
    attempts: options.attempts,
    specHash: specHash(spec, mcp.hashEntries()),
    mcp,
    tools: [
      ...toolDefinitions(spec.tools),
      ...mcp.definitions(),
      ...(spec.delegation === undefined ? [] : [delegateTool(spec.delegation)]),
      ...(spec.timers === undefined ? [] : [waitTool(spec.timers)]),
    ],
    price,
    observer,
    traceContent: options.traceContent === true,
    spend: options.spend,
    rates: options.rates,
  };
  const actor = startActor({
    name: options.name,
    holder: options.holder,
    role: 'agent',
    logic: agentLogic(spec, price),
    handlers: (term) => new AgentTerm(ports, term),
    store: options.store,
    snapshots: options.snapshots,
    snapshotEvery: spec.snapshotEvery,
    leases: options.leases,
    ttlMs: spec.leaseTtlMs,
    clock: options.clock ?? systemClock,
    logger,
    observer,
    graceMs: options.stopGraceMs ?? spec.shutdownGraceMs,
    // A keyed agent's instances come and go by the thousand: their host logs a summary instead.
    lifecycleLevel: options.keyed === undefined ? 'info' : 'debug',
    // An adoption never stands by: if the name is held, its pool has it elsewhere. Its pool
    // adopts it again if it is still needed.
    once: options.adopted === true,
    // Status reads each MCP server's state from the lease (the coordinator has no other way to
    // see a server that could not start in this process).
    describeHolder: mcp.states().length === 0 ? undefined : () => ({ mcpServers: mcp.states() }),
    afterTakeover: async () => {
      // A pool's inbox is shared: recreating its consumer would redeliver what live siblings
      // hold. Their ack wait and the claims bring the dead replica's messages back instead.
      if (options.pool === undefined) await reclaimUnacked(options.inbox, 'inbox', logger);
      await reclaimUnacked(options.control, 'control', logger);
      if (options.pool === undefined)
        for (const source of options.subscriptions ?? [])
          await reclaimUnacked(source, 'subscription', logger);
    },
  });

  // A keyed instance is watched by its host, as the agent (keyed-on-nats.ts): one probe, not one per key.
  const forget =
    options.keyed !== undefined
      ? () => undefined
      : observer.watch({
          name: options.name,
          role: 'agent',
          phase: () => actor.phase(),
          inFlight: () => actor.state()?.active.size ?? 0,
          // An adopted replica takes nothing from the pool's inbox: its siblings report it.
          ...(options.adopted === true
            ? {}
            : {
                inbox: {
                  name: options.pool?.name ?? options.name,
                  pending: async () => {
                    const { queued, unacked } = await options.inbox.pending();
                    return queued + unacked;
                  },
                },
              }),
        });
  const stopped = actor.stopped
    .finally(forget)
    .finally(() => mcp.close())
    .finally(() => logger[options.keyed === undefined ? 'info' : 'debug']('agent stopped'));
  return {
    name: options.name,
    ready: actor.ready,
    state: () => actor.state(),
    knows: (taskId) => actor.handlers()?.knows(taskId),
    mcpServers: () => mcp.states(),
    stop: async () => {
      await actor.stop(new Error('agent stopping'));
      await stopped;
    },
    stopped,
  };
}
