import type { ActorProbe, ModelCallObservation, Observer, TaskStatus } from '@spool/core/internal';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Model calls take from under a second to minutes. */
const MODEL_CALL_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
/** A JetStream append is a network round-trip: sub-millisecond on loopback, tens of ms across a cluster. */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const EVENTS_PER_COMMIT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const REPLAY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Spool's metrics on a prom-client registry of their own: the Observer that the CLI plugs in. */
export interface SpoolMetrics extends Observer {
  readonly registry: Registry;
  /** The actors this process runs, as the probes they registered. */
  probes(): readonly ActorProbe[];
}

/**
 * Creates the metrics and the process's default ones (CPU, memory, event loop, GC). Gauges of
 * live state (tasks in flight, inbox backlog, lease held) are read from the actors' probes at
 * each scrape, so they are never stale and cost nothing between scrapes.
 */
export function spoolMetrics(): SpoolMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const probes = new Set<ActorProbe>();
  const registers = [registry];

  const tasks = new Counter({
    name: 'spool_tasks_total',
    help: 'Task results published, by agent and status (completed, failed, rejected, cancelled)',
    labelNames: ['agent', 'status'] as const,
    registers,
  });
  new Gauge({
    name: 'spool_tasks_in_flight',
    help: 'Tasks received and not yet published, by agent (or pool replica)',
    labelNames: ['agent'] as const,
    registers,
    collect() {
      this.reset();
      for (const probe of probes) if (probe.inFlight) this.set({ agent: probe.name }, probe.inFlight());
    },
  });
  new Gauge({
    name: 'spool_inbox_pending',
    help: "Messages waiting in an agent's (or pool's) inbox, delivered and not yet acknowledged included",
    labelNames: ['agent'] as const,
    registers,
    async collect() {
      this.reset();
      const inboxes = new Map<string, NonNullable<ActorProbe['inbox']>>();
      for (const probe of probes) if (probe.inbox) inboxes.set(probe.inbox.name, probe.inbox);
      await Promise.all(
        [...inboxes].map(async ([agent, inbox]) => {
          // NATS unreachable during a scrape: the series is left out (an absent series, not a made-up 0).
          const pending = await inbox.pending().catch(() => undefined);
          if (pending !== undefined) this.set({ agent }, pending);
        }),
      );
    },
  });
  const modelCalls = new Counter({
    name: 'spool_model_calls_total',
    help: 'Model calls, by agent, model, operation (task, compaction) and outcome (ok, or the error code)',
    labelNames: ['agent', 'model', 'operation', 'outcome'] as const,
    registers,
  });
  const modelDuration = new Histogram({
    name: 'spool_model_call_duration_seconds',
    help: 'Duration of model calls (answered or failed), by agent, model and operation (task, compaction)',
    labelNames: ['agent', 'model', 'operation'] as const,
    buckets: MODEL_CALL_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: 'spool_tokens_total',
    help: 'Tokens of model replies, by agent, model, operation (task, compaction) and kind (input, output, cache_read, cache_write)',
    labelNames: ['agent', 'model', 'operation', 'kind'] as const,
    registers,
  });
  const cost = new Counter({
    name: 'spool_cost_usd_total',
    help: "What model replies cost in USD at the agent's price, by agent, model and operation (task, compaction)",
    labelNames: ['agent', 'model', 'operation'] as const,
    registers,
  });
  const toolCalls = new Counter({
    name: 'spool_tool_calls_total',
    help: 'Tool calls whose result was journaled, by agent, tool and outcome (ok, error)',
    labelNames: ['agent', 'tool', 'outcome'] as const,
    registers,
  });
  const commitDuration = new Histogram({
    name: 'spool_journal_commit_duration_seconds',
    help: 'Duration of history appends (one commit each)',
    buckets: COMMIT_BUCKETS,
    registers,
  });
  const eventsPerCommit = new Histogram({
    name: 'spool_journal_events_per_commit',
    help: 'Events in each history commit (group commit puts several in one)',
    buckets: EVENTS_PER_COMMIT_BUCKETS,
    registers,
  });
  new Gauge({
    name: 'spool_lease_held',
    help: 'Whether this process holds the name of an agent, pool replica or the coordinator (1) or not (0)',
    labelNames: ['agent'] as const,
    registers,
    collect() {
      this.reset();
      for (const probe of probes) {
        const phase = probe.phase();
        if (phase !== 'stopped')
          this.set({ agent: probe.name }, phase === 'active' || phase === 'replaying' ? 1 : 0);
      }
    },
  });
  const replay = new Histogram({
    name: 'spool_replay_duration_seconds',
    help: 'How long an actor took to rebuild its state (snapshot and history) when it took its name',
    buckets: REPLAY_BUCKETS,
    registers,
  });
  const workflowRuns = new Counter({
    name: 'spool_workflow_runs_total',
    help: 'Workflow runs whose result was published, by workflow and status',
    labelNames: ['workflow', 'status'] as const,
    registers,
  });

  return {
    registry,
    probes: () => [...probes],
    journalCommitted(seconds: number, events: number) {
      commitDuration.observe(seconds);
      eventsPerCommit.observe(events);
    },
    replayed: (seconds: number) => replay.observe(seconds),
    taskPublished: (agent: string, status: TaskStatus) => tasks.inc({ agent, status }),
    modelCalled(call: ModelCallObservation) {
      const { agent, model, operation, usage } = call;
      modelCalls.inc({ agent, model, operation, outcome: call.outcome });
      modelDuration.observe({ agent, model, operation }, call.seconds);
      if (usage !== undefined) {
        tokens.inc({ agent, model, operation, kind: 'input' }, usage.inputTokens);
        tokens.inc({ agent, model, operation, kind: 'output' }, usage.outputTokens);
        tokens.inc({ agent, model, operation, kind: 'cache_read' }, usage.cacheReadInputTokens);
        tokens.inc({ agent, model, operation, kind: 'cache_write' }, usage.cacheCreationInputTokens);
      }
      if (call.costUsd !== undefined) cost.inc({ agent, model, operation }, call.costUsd);
    },
    toolCalled: (agent: string, tool: string, outcome: 'ok' | 'error') =>
      toolCalls.inc({ agent, tool, outcome }),
    workflowFinished: (workflow: string, status: string) => workflowRuns.inc({ workflow, status }),
    watch(probe: ActorProbe) {
      probes.add(probe);
      return () => {
        probes.delete(probe);
      };
    },
  };
}
