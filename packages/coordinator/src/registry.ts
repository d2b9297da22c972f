import {
  type AgentState,
  type AgentStatus,
  applyCommit,
  COORDINATOR,
  costOf,
  type DeadLetterEntry,
  type DeadLetterReport,
  deadLettersOf,
  type DelegationWait,
  fromSnapshot,
  type KeyedAgentStatus,
  type McpServerStatus,
  initialState,
  pendingApprovals,
  isAgentEvent,
  type PoolStatus,
  type Price,
  priceFor,
  replicaNames,
  type StatusReport,
  type StoredCommit,
  type TaskResult,
  toSnapshot,
  usageLastDay,
} from '@spool/core/internal';

type Counter = { count: number; lastAt?: string };

/** The registry as the coordinator's snapshot holds it (each agent in its own snapshot form). */
export interface RegistryState {
  readonly agents: [string, unknown][];
  readonly published: [string, Counter][];
  readonly byReplica: [string, Counter][];
}

export interface AgentLiveness {
  readonly holder?: string;
  readonly holderAlive?: boolean;
  /** As the holder last described them in its lease. */
  readonly mcpServers?: readonly McpServerStatus[];
  readonly queued: number;
  readonly unacked: number;
}

/** A keyed agent's instances and hosts (keyed-census in jetstream) with its shared inbox's counts. */
export interface KeyedLiveness {
  readonly hosts: { readonly alive: readonly string[]; readonly expired: number };
  readonly instances: KeyedAgentStatus['instances'];
  readonly queued: number;
  readonly unacked: number;
}

/**
 * The task registry: every agent's state, folded from its history with core's `evolve`
 * exactly as the agent folds it, so it is rebuilt from the streams on every start and
 * needs no storage of its own.
 */
export class TaskRegistry {
  private readonly agents = new Map<string, AgentState>();
  /** Results by the name they were published under (agent or pool), and by replica. */
  private readonly published = new Map<string, { count: number; lastAt?: string }>();
  private readonly byReplica = new Map<string, { count: number; lastAt?: string }>();
  /** Replica name → pool name, for the pools of the config. */
  private readonly replicaPool = new Map<string, string>();

  constructor(
    known: readonly string[] = [],
    private readonly prices: Readonly<Record<string, Readonly<Record<string, Price>>>> = {},
    /** The config's pools: name → replicas (> 1). Their replicas are reported under the pool. */
    private readonly pools: Readonly<Record<string, number>> = {},
    /** The config's keyed agents: reported by their instances, not as one agent (their histories are per key). */
    private readonly keyed: readonly string[] = [],
  ) {
    for (const [pool, replicas] of Object.entries(pools))
      for (const replica of replicaNames(pool, replicas)) this.replicaPool.set(replica, pool);
    // A pool has no actor (and no history) of its own: its replicas do.
    for (const name of known)
      if (pools[name] === undefined && !keyed.includes(name)) this.agents.set(name, initialState(name));
    for (const replica of this.replicaPool.keys()) this.agents.set(replica, initialState(replica));
  }

  apply(agent: string, commit: StoredCommit): void {
    // The coordinator's own history holds workflow events, not an agent's: it is folded elsewhere.
    if (agent === COORDINATOR) return;
    const state = this.stateOf(agent);
    // Only agent events mean anything to an agent's state (none other is in its history).
    if (commit.seq > state.seq)
      applyCommit(state, { seq: commit.seq, events: commit.events.filter(isAgentEvent) });
  }

  /** A result seen on `spool.results.>`: each task id has one, so counting them is exact. */
  applyResult(result: TaskResult): void {
    if (result.agent === COORDINATOR) return; // workflow results: the coordinator is not an agent
    // A pool's results carry the pool's name: the pool is no agent, its replica is named apart;
    // a keyed agent's carry the agent's name and the key (counted, not folded per instance).
    if (this.pools[result.agent] === undefined && result.key === undefined) this.stateOf(result.agent);
    count(this.published, result.agent, result.finishedAt);
    if (result.replica !== undefined) count(this.byReplica, result.replica, result.finishedAt);
  }

  exportState(): RegistryState {
    return {
      agents: [...this.agents].map(([name, state]) => [name, toSnapshot(state)]),
      published: [...this.published],
      byReplica: [...this.byReplica],
    };
  }

  /** Takes the state of a snapshot; a problem (an agent of another state version) leaves it as it was. */
  importState(data: RegistryState): string | undefined {
    const agents: [string, AgentState][] = [];
    for (const [name, encoded] of data.agents) {
      const decoded = fromSnapshot(encoded, name);
      if ('problem' in decoded) return `${name}: ${decoded.problem}`;
      agents.push([name, decoded.state]);
    }
    for (const [name, state] of agents) this.agents.set(name, state);
    for (const [name, counter] of data.published) this.published.set(name, counter);
    for (const [name, counter] of data.byReplica) this.byReplica.set(name, counter);
    return undefined;
  }

  private stateOf(agent: string): AgentState {
    let state = this.agents.get(agent);
    if (state === undefined) {
      state = initialState(agent);
      this.agents.set(agent, state);
    }
    return state;
  }

  /** Every agent's failed tasks that are neither retried nor dropped, oldest failure first. */
  deadLetters(now: Date): DeadLetterReport {
    const entries: DeadLetterEntry[] = [];
    for (const state of this.agents.values()) entries.push(...deadLettersOf(state, state.agent));
    entries.sort((a, b) => (a.failedAt ?? '').localeCompare(b.failedAt ?? ''));
    return { generatedAt: now.toISOString(), entries };
  }

  private costs(state: AgentState, now: Date): { costUsd?: number; costLast24hUsd?: number } {
    const owner = this.replicaPool.get(state.agent) ?? state.agent;
    const price = state.model === undefined ? undefined : priceFor(state.model, this.prices[owner]);
    if (price === undefined) return {};
    const rounded = (x: number) => Math.round(x * 1e6) / 1e6;
    return {
      costUsd: rounded(costOf(state.usage, price)),
      costLast24hUsd: rounded(costOf(usageLastDay(state, now), price)),
    };
  }

  /** Every actor with a history (agents and pool replicas): the names to ask leases for. */
  names(): string[] {
    return [...this.agents.keys()].filter((name) => !this.keyed.includes(name)).sort();
  }

  /** The config's keyed agents. */
  keyedNames(): string[] {
    return [...this.keyed].sort();
  }

  /** The names with an inbox consumer of their own: agents and pools (not replicas). */
  inboxNames(): string[] {
    return [...this.names().filter((name) => !this.replicaPool.has(name)), ...Object.keys(this.pools)].sort();
  }

  report(
    liveness: ReadonlyMap<string, AgentLiveness>,
    now: Date,
    keyedLiveness: ReadonlyMap<string, KeyedLiveness> = new Map(),
  ): StatusReport {
    const agents = this.names()
      .filter((name) => !this.replicaPool.has(name))
      .map((name) => this.agentStatus(name, liveness.get(name), this.published.get(name), now));
    const pools = Object.entries(this.pools)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, replicas]) => this.poolStatus(name, replicas, liveness, now));
    const actors = [...agents, ...pools.flatMap((p) => p.replicas)];
    const sum = (pick: (a: AgentStatus) => number) => actors.reduce((total, a) => total + pick(a), 0);
    const keyed = this.keyedNames().map((name) => this.keyedStatus(name, keyedLiveness.get(name)));
    return {
      generatedAt: now.toISOString(),
      agents,
      pools,
      ...(keyed.length === 0 ? {} : { keyed }),
      workflows: [],
      schedules: [],
      // Filled by the coordinator from the shared buckets (spend-status.ts).
      spend: [],
      rateLimits: [],
      totals: {
        tasks: sum((a) => a.counts.received + a.counts.rejected),
        inFlight: sum((a) => a.inFlight.filter((t) => t.phase === 'queued' || t.phase === 'running').length),
        queued:
          sum((a) => a.queued) +
          pools.reduce((total, p) => total + p.queued, 0) +
          keyed.reduce((total, k) => total + k.queued, 0),
        completed: sum((a) => a.counts.completed),
        failed: sum((a) => a.counts.failed),
        rejected: sum((a) => a.counts.rejected),
        cancelled: sum((a) => a.counts.cancelled),
      },
    };
  }

  private keyedStatus(name: string, live: KeyedLiveness | undefined): KeyedAgentStatus {
    const instances = live?.instances ?? { active: 0, passivated: 0, known: 0, orphaned: 0, waiting: 0 };
    const queued = live?.queued ?? 0;
    const unacked = live?.unacked ?? 0;
    const hosts = live?.hosts ?? { alive: [], expired: 0 };
    const published = this.published.get(name);
    return {
      name,
      status:
        queued + unacked + instances.active + instances.orphaned > 0
          ? 'working'
          : instances.known === 0 && hosts.alive.length === 0
            ? 'unknown'
            : 'idle',
      hosts: { alive: hosts.alive.length, names: [...hosts.alive], expired: hosts.expired },
      instances: { ...instances },
      queued,
      unacked,
      results: {
        published: published?.count ?? 0,
        ...(published?.lastAt ? { lastAt: published.lastAt } : {}),
      },
    };
  }

  private poolStatus(
    name: string,
    replicas: number,
    liveness: ReadonlyMap<string, AgentLiveness>,
    now: Date,
  ): PoolStatus {
    // The shared inbox is the pool's: its replicas have no consumer of their own.
    const live = liveness.get(name);
    const members = replicaNames(name, replicas).map((replica) => {
      const own = liveness.get(replica);
      return this.agentStatus(
        replica,
        {
          ...(own?.holder === undefined ? {} : { holder: own.holder }),
          ...(own?.holderAlive === undefined ? {} : { holderAlive: own.holderAlive }),
          ...(own?.mcpServers === undefined ? {} : { mcpServers: own.mcpServers }),
          queued: 0,
          unacked: 0,
        },
        this.byReplica.get(replica),
        now,
      );
    });
    const counts = { received: 0, completed: 0, failed: 0, rejected: 0, cancelled: 0 };
    for (const member of members)
      for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] += member.counts[key];
    const queued = live?.queued ?? 0;
    const published = this.published.get(name);
    return {
      name,
      status: members.some((m) => m.status === 'working')
        ? 'working'
        : members.every((m) => m.status === 'unknown') && queued === 0
          ? 'unknown'
          : 'idle',
      replicas: members,
      queued,
      unacked: live?.unacked ?? 0,
      counts,
      results: {
        published: published?.count ?? 0,
        ...(published?.lastAt ? { lastAt: published.lastAt } : {}),
      },
    };
  }

  private agentStatus(
    name: string,
    live: AgentLiveness | undefined,
    published: { count: number; lastAt?: string } | undefined,
    now: Date,
  ): AgentStatus {
    const state = this.agents.get(name) ?? initialState(name);
    const inFlight = [...state.active.values()].map((task) => {
      // What a parked task waits for and until when (a keyed instance's wake-up reads the same).
      const timer = task.steps
        .at(-1)
        ?.tools.find((call) => call.result === undefined && call.timer !== undefined)?.timer;
      return {
        taskId: task.taskId,
        phase: task.phase,
        attempt: task.attempt,
        steps: task.steps.length,
        ...(task.receivedAt === undefined ? {} : { receivedAt: task.receivedAt }),
        ...(timer === undefined ? {} : { waitingUntil: timer.until }),
        ...(timer?.reason === undefined ? {} : { waitingFor: timer.reason }),
      };
    });
    const working = inFlight.some((t) => ['queued', 'running', 'waiting'].includes(t.phase));
    const approvals = pendingApprovals(state);
    return {
      name,
      status: state.seq === 0 && (live?.queued ?? 0) === 0 ? 'unknown' : working ? 'working' : 'idle',
      ...(live?.holder === undefined ? {} : { holder: live.holder }),
      ...(live?.holderAlive === undefined ? {} : { holderAlive: live.holderAlive }),
      inFlight,
      approvals,
      delegations: delegationsWaiting(state),
      queued: live?.queued ?? 0,
      unacked: live?.unacked ?? 0,
      counts: { ...state.counts },
      ...this.costs(state, now),
      paused: state.paused,
      usage: { ...state.usage },
      historySeq: state.seq,
      ...(live?.mcpServers === undefined ? {} : { mcpServers: [...live.mcpServers] }),
      results: {
        published: published?.count ?? 0,
        ...(published?.lastAt ? { lastAt: published.lastAt } : {}),
      },
    };
  }
}

function count(table: Map<string, { count: number; lastAt?: string }>, key: string, at: string): void {
  const seen = table.get(key) ?? { count: 0 };
  table.set(key, { count: seen.count + 1, lastAt: at });
}

/**
 * The `delegate` calls of each unfinished task still waiting for their sub-task's result. They
 * are journaled in the reply's commit, so the reply's time is when the wait began.
 */
function delegationsWaiting(state: AgentState): DelegationWait[] {
  return [...state.active.values()].flatMap((task) => {
    if (task.phase !== 'running') return [];
    const step = task.steps.at(-1);
    return (step?.tools ?? []).flatMap((call) =>
      call.delegation === undefined || call.result !== undefined
        ? []
        : [
            {
              taskId: task.taskId,
              agent: call.delegation.agent,
              childTaskId: call.delegation.childTaskId,
              sent: call.delegation.sent,
              ...(step?.at === undefined ? {} : { since: step.at }),
              input: call.delegation.input.slice(0, 200),
            },
          ],
    );
  });
}
