import type { TaskStatus } from './result.ts';
import type { Usage } from './usage.ts';

/**
 * What Spool's processes report as they work, for metrics. A port: the runtime, the
 * coordinator and the actor kernel call it, and the CLI plugs in the prom-client one
 * (`@spool/observability`) when a metrics port is set. Every label it is given is bounded
 * (agent, model, tool, workflow names, status and outcome codes), never a task id.
 */
export interface Observer {
  /** One commit appended to a history: how long the append took, and how many events it held. */
  journalCommitted(seconds: number, events: number): void;
  /** An actor replayed its history (from a snapshot or the start) in `seconds`. */
  replayed(seconds: number): void;
  /** A task's result was published (one per result message). */
  taskPublished(agent: string, status: TaskStatus): void;
  /** One model call ended: `outcome` is `ok` or the error's code. */
  modelCalled(call: ModelCallObservation): void;
  /** One tool call ended (a defineTool or MCP tool, or a delegation's result). */
  toolCalled(agent: string, tool: string, outcome: 'ok' | 'error'): void;
  /** A workflow run's result was published. */
  workflowFinished(workflow: string, status: string): void;
  /** An actor's live state, read at each scrape; returns the function that forgets it. */
  watch(probe: ActorProbe): () => void;
}

/** Why a model call was made: a task's step, or summarizing older memory (compaction). */
export type ModelOperation = 'task' | 'compaction';

export interface ModelCallObservation {
  readonly agent: string;
  readonly model: string;
  readonly operation: ModelOperation;
  /** `ok`, or the error's code (`rate_limited`, `timeout`, …). */
  readonly outcome: string;
  readonly seconds: number;
  /** The reply's usage (ok calls). */
  readonly usage?: Usage | undefined;
  /** What the reply cost at the agent's price (undefined: unknown model). */
  readonly costUsd?: number | undefined;
}

/**
 * Where an actor stands in its lease loop: claiming the name, standing by while another
 * process holds it, replaying its history while holding it, working, or stopped.
 */
export type ActorPhase = 'claiming' | 'standby' | 'replaying' | 'active' | 'stopped';

/** An actor as a scrape sees it. */
export interface ActorProbe {
  /** The agent (or pool replica) name, or `coordinator`. */
  readonly name: string;
  readonly role: 'agent' | 'coordinator';
  phase(): ActorPhase;
  /** Tasks received and not yet published (agents). */
  inFlight?(): number;
  /** The inbox it takes tasks from (a pool replica: the pool's, shared with its siblings). */
  readonly inbox?: {
    readonly name: string;
    /** Messages waiting in it, delivered or not. */
    pending(): Promise<number>;
  };
}

/** Reports nothing: what runs when no metrics port is set. */
export const noObserver: Observer = {
  journalCommitted: () => undefined,
  replayed: () => undefined,
  taskPublished: () => undefined,
  modelCalled: () => undefined,
  toolCalled: () => undefined,
  workflowFinished: () => undefined,
  watch: () => () => undefined,
};
