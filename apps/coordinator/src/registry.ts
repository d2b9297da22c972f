import {
  type AgentState,
  type AgentStatus,
  applyCommit,
  COORDINATOR,
  costOf,
  type Price,
  priceFor,
  usageLastDay,
  type DeadLetterEntry,
  type DeadLetterReport,
  initialState,
  type StatusReport,
  type StoredCommit,
  type TaskResult,
} from '@spool/core';

export interface AgentLiveness {
  readonly holder?: string;
  readonly holderAlive?: boolean;
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
  private readonly published = new Map<string, { count: number; lastAt?: string }>();

  constructor(
    known: readonly string[] = [],
    private readonly prices: Readonly<Record<string, Readonly<Record<string, Price>>>> = {},
  ) {
    for (const name of known) this.agents.set(name, initialState(name));
  }

  apply(agent: string, commit: StoredCommit): void {
    // The coordinator's own history holds workflow events, not an agent's: it is folded elsewhere.
    if (agent === COORDINATOR) return;
    const state = this.stateOf(agent);
    if (commit.seq > state.seq) applyCommit(state, commit);
  }

  /** A result seen on `spool.results.>`: each task id has one, so counting them is exact. */
  applyResult(result: TaskResult): void {
    if (result.agent === COORDINATOR) return; // workflow results: the coordinator is not an agent
    this.stateOf(result.agent);
    const seen = this.published.get(result.agent) ?? { count: 0 };
    this.published.set(result.agent, { count: seen.count + 1, lastAt: result.finishedAt });
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
    for (const state of this.agents.values()) {
      for (const { task } of state.dead.values()) {
        entries.push({
          agent: state.agent,
          taskId: task.taskId,
          error: task.error ?? { code: 'unknown', message: 'no error recorded' },
          attempts: task.attempt,
          ...(task.finishedAt === undefined ? {} : { failedAt: task.finishedAt }),
          ...(task.receivedAt === undefined ? {} : { receivedAt: task.receivedAt }),
          input: task.input.slice(0, 200),
          usage: task.usage,
        });
      }
    }
    entries.sort((a, b) => (a.failedAt ?? '').localeCompare(b.failedAt ?? ''));
    return { generatedAt: now.toISOString(), entries };
  }

  private costs(state: AgentState, now: Date): { costUsd?: number; costLast24hUsd?: number } {
    const price = state.model === undefined ? undefined : priceFor(state.model, this.prices[state.agent]);
    if (price === undefined) return {};
    const rounded = (x: number) => Math.round(x * 1e6) / 1e6;
    return {
      costUsd: rounded(costOf(state.usage, price)),
      costLast24hUsd: rounded(costOf(usageLastDay(state, now), price)),
    };
  }

  names(): string[] {
    return [...this.agents.keys()].sort();
  }

  report(liveness: ReadonlyMap<string, AgentLiveness>, now: Date): StatusReport {
    const agents: AgentStatus[] = this.names().map((name) => {
      const state = this.agents.get(name) ?? initialState(name);
      const live = liveness.get(name);
      const published = this.published.get(name);
      const inFlight = [...state.active.values()].map((task) => ({
        taskId: task.taskId,
        phase: task.phase,
        attempt: task.attempt,
        steps: task.steps.length,
        ...(task.receivedAt === undefined ? {} : { receivedAt: task.receivedAt }),
      }));
      const working = inFlight.some((t) => ['queued', 'running', 'waiting'].includes(t.phase));
      const approvals = [...state.active.values()].flatMap((task) =>
        (task.steps.at(-1)?.tools ?? []).flatMap((call) =>
          call.approval?.state === 'pending'
            ? [
                {
                  taskId: task.taskId,
                  tool: call.name,
                  input: (JSON.stringify(call.input) ?? '').slice(0, 200),
                  reason: call.approval.reason,
                  requestedAt: call.approval.at,
                },
              ]
            : [],
        ),
      );
      return {
        name,
        status: state.seq === 0 && (live?.queued ?? 0) === 0 ? 'unknown' : working ? 'working' : 'idle',
        ...(live?.holder === undefined ? {} : { holder: live.holder }),
        ...(live?.holderAlive === undefined ? {} : { holderAlive: live.holderAlive }),
        inFlight,
        approvals,
        queued: live?.queued ?? 0,
        unacked: live?.unacked ?? 0,
        counts: { ...state.counts },
        ...this.costs(state, now),
        paused: state.paused,
        usage: { ...state.usage },
        historySeq: state.seq,
        results: {
          published: published?.count ?? 0,
          ...(published?.lastAt ? { lastAt: published.lastAt } : {}),
        },
      };
    });
    const sum = (pick: (a: AgentStatus) => number) => agents.reduce((total, a) => total + pick(a), 0);
    return {
      generatedAt: now.toISOString(),
      agents,
      totals: {
        tasks: sum((a) => a.counts.received + a.counts.rejected),
        inFlight: sum((a) => a.inFlight.filter((t) => t.phase === 'queued' || t.phase === 'running').length),
        queued: sum((a) => a.queued),
        completed: sum((a) => a.counts.completed),
        failed: sum((a) => a.counts.failed),
        rejected: sum((a) => a.counts.rejected),
        cancelled: sum((a) => a.counts.cancelled),
      },
    };
  }
}
