import { type ActorHandle, type Clock, startActor, systemClock } from '@spool/actor';
import {
  type ActorPhase,
  COORDINATOR,
  type CoordinatorState,
  ensureError,
  noObserver,
  type Observer,
  parseCoordinatorCommit,
  type ScheduleSpec,
  type WorkflowDef,
} from '@spool/core/internal';
import {
  historyStore,
  leases,
  openControl,
  openInbox,
  reclaimUnacked,
  results,
  type SpoolConnection,
  snapshotStore,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { workflowLogic } from './workflow-logic.ts';
import { WorkflowTerm } from './workflow-term.ts';

export interface WorkflowActorOptions {
  readonly connection: SpoolConnection;
  /** The config's workflows: a start names one of them (a run keeps the definition it started with). */
  readonly workflows: Readonly<Record<string, WorkflowDef>>;
  /** The config's schedules: journaled when they change, fired on the actor's clock. */
  readonly schedules: Readonly<Record<string, ScheduleSpec>>;
  /** Identifies this process in the lease. */
  readonly holder: string;
  readonly logger: Logger;
  /** Lease ttl on the name `coordinator` (default 10 s): how long a standby waits after a crash. */
  readonly leaseTtlMs?: number;
  /** How long one inbox / control pull waits (default 2 s). */
  readonly fetchExpiresMs?: number;
  /** Time of decisions, timeouts and retries (default: the system clock). */
  readonly clock?: Clock;
  /** Events between snapshots of the workflow state (default 1000; 0: none). */
  readonly snapshotEvery?: number;
  /** Where commits, replays and finished runs are reported, for metrics (default: nowhere). */
  readonly observer?: Observer;
}

export interface WorkflowActorHandle {
  /** Resolves once this process holds the name and has replayed the history (never, for a standby). */
  readonly ready: Promise<void>;
  /** The replayed state while this process is the writer. */
  state(): CoordinatorState | undefined;
  /** Where it stands in its lease loop (`claiming` until it has started). */
  phase(): ActorPhase;
  stop(): Promise<void>;
}

/** Inbox and control consumers' ack wait. */
const ACK_WAIT_MS = 30_000;

/**
 * The coordinator as an event-sourced actor that runs workflows, on the same kernel as an
 * agent: one writer at a time holds the lease on `coordinator` (a standby waits), replays
 * `spool.history.coordinator`, then takes workflow starts from `spool.inbox.coordinator`,
 * cancels from `spool.control.coordinator` and task results from `spool.results.>`, and runs
 * what `nextCoordinator` asks for (workflow-term.ts). Every decision is journaled before its
 * effect; every effect's outcome is journaled before it is relied on.
 */
export function startWorkflowActor(options: WorkflowActorOptions): WorkflowActorHandle {
  const logger = options.logger.child({ agent: COORDINATOR });
  const stopping = new AbortController();
  let actor: ActorHandle<CoordinatorState, WorkflowTerm> | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  async function run(): Promise<void> {
    const { connection } = options;
    const table = await leases(connection);
    const store = historyStore(connection, parseCoordinatorCommit);
    const inbox = await openInbox(connection, COORDINATOR, { ackWaitMs: ACK_WAIT_MS });
    const control = await openControl(connection, COORDINATOR, { ackWaitMs: ACK_WAIT_MS });
    const ports = {
      connection,
      workflows: options.workflows,
      schedules: options.schedules,
      inbox,
      control,
      results: results(connection),
      fetchExpiresMs: options.fetchExpiresMs ?? 2_000,
      observer: options.observer ?? noObserver,
    };
    actor = startActor({
      name: COORDINATOR,
      holder: options.holder,
      role: 'coordinator',
      logic: workflowLogic,
      handlers: (term) => new WorkflowTerm(ports, term),
      store,
      snapshots: await snapshotStore(connection),
      snapshotEvery: options.snapshotEvery ?? 1000,
      leases: table,
      ttlMs: options.leaseTtlMs ?? 10_000,
      clock: options.clock ?? systemClock,
      logger,
      observer: ports.observer,
      // Nothing of a workflow is worth waiting for on stop: what was journaled resumes next term.
      graceMs: 0,
      signal: stopping.signal,
      onReady: markReady,
      afterTakeover: async () => {
        await reclaimUnacked(inbox, 'inbox', logger);
        await reclaimUnacked(control, 'control', logger);
      },
    });
    await actor.stopped;
  }

  const stopped = run()
    .catch((err) => logger.error({ err: ensureError(err).message }, 'workflow actor could not start'))
    .finally(() => logger.info('workflow actor stopped'));
  return {
    ready,
    state: () => actor?.state(),
    phase: () => actor?.phase() ?? 'claiming',
    stop: async () => {
      stopping.abort(new Error('coordinator stopping'));
      await stopped;
    },
  };
}
