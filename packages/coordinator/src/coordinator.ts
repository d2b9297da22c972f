import { hostname } from 'node:os';
import { type Clock, systemClock } from '@spool/actor';
import {
  applyCoordinatorCommit,
  COORDINATOR,
  type CoordinatorState,
  coordinatorFromSnapshot,
  ensureError,
  initialCoordinatorState,
  isCoordinatorEvent,
  type McpServerStatus,
  McpServerStatusSchema,
  noObserver,
  type Observer,
  type Price,
  type ScheduleSpec,
  subjects,
  type WorkflowDef,
} from '@spool/core/internal';
import {
  followHistory,
  inboxPending,
  keyedCensus,
  leases,
  requests,
  type SnapshotStore,
  type SpoolConnection,
  snapshotStore,
  watchHistories,
  watchResults,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type AgentLiveness, type KeyedLiveness, TaskRegistry } from './registry.ts';
import { RegistrySnapshotter, restoreRegistry } from './registry-snapshots.ts';
import { answerSchedules, scheduleStatus } from './schedules-api.ts';
import { startWorkflowActor } from './workflow-actor.ts';
import { type SpendConfig, spendStatus } from './spend-status.ts';
import { workflowStatus } from './workflow-status.ts';
import { answerWorkflows } from './workflows-api.ts';

export interface CoordinatorOptions {
  readonly connection: SpoolConnection;
  /** Agents of the config: reported even before they have a history. */
  readonly agents: readonly string[];
  /** The config's agent pools (name → replicas, > 1): reported as pools with their replicas. */
  readonly pools?: Readonly<Record<string, number>>;
  /** The config's keyed agents: reported by their instances and hosts (`keyed` in the report). */
  readonly keyed?: readonly string[];
  /** Price overrides of each agent's config, for the costs in status reports. */
  readonly prices?: Readonly<Record<string, Readonly<Record<string, Price>>>>;
  readonly logger: Logger;
  /** The config's workflows, run on `spool.inbox.coordinator` (default: none; every start is rejected). */
  readonly workflows?: Readonly<Record<string, WorkflowDef>>;
  /** The config's schedules, fired by the workflow actor (default: none). */
  readonly schedules?: Readonly<Record<string, ScheduleSpec>>;
  /** Identifies this process in the `coordinator` lease (default `<hostname>:<pid>`). */
  readonly holder?: string;
  /** Lease ttl of the workflow actor (default 10 s). */
  readonly leaseTtlMs?: number;
  /** Events between snapshots of the workflow actor's state (default 1000; 0: none). */
  readonly snapshotEvery?: number;
  /** Time of reports and workflow decisions (default: the system clock). */
  readonly clock?: Clock;
  /** Where the workflow actor reports commits, replays and finished runs, and its lease (default: nowhere). */
  readonly observer?: Observer;
  /** Each agent's model and daily budget, and the shared rate limits: spend and limits in status reports. */
  readonly spending?: SpendConfig;
}

export interface CoordinatorHandle {
  /** Resolves once the registry has caught up with the histories that existed at start. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The coordinator: folds every agent's history and every published result into a task
 * registry, rebuilt from the streams on each start, and answers `spool.api.status`,
 * `spool.api.dlq` and `spool.api.workflows`; and runs workflows as an event-sourced actor of
 * its own (workflow-actor.ts) on `spool.history.coordinator`.
 */
export async function startCoordinator(options: CoordinatorOptions): Promise<CoordinatorHandle> {
  const { connection, logger } = options;
  const clock = options.clock ?? systemClock;
  const log = logger.child({ agent: COORDINATOR });
  const registry = new TaskRegistry(options.agents, options.prices, options.pools, options.keyed);
  const leaseTable = await leases(connection);
  const api = requests(connection);
  // The registry resumes from its snapshot: a start folds what was written since, not everything.
  const snapshots = await snapshotStore(connection);
  const positions = await restoreRegistry(snapshots, registry, log);
  const snapshotter = new RegistrySnapshotter(
    snapshots,
    registry,
    positions,
    options.snapshotEvery ?? 1000,
    log,
  );
  const histories = await watchHistories(connection, log, { after: positions.historySeq });
  const published = await watchResults(connection, log, { after: positions.resultsSeq });
  // The workflow actor: one writer of spool.history.coordinator at a time (a standby waits).
  const workflows = startWorkflowActor({
    connection,
    workflows: options.workflows ?? {},
    schedules: options.schedules ?? {},
    holder: options.holder ?? `${process.env.HOSTNAME ?? hostname()}:${process.pid}`,
    logger,
    clock,
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }),
    ...(options.observer === undefined ? {} : { observer: options.observer }),
  });
  // The coordinator history as a standby sees it, for the workflows API when this process is not the writer.
  const watched = await workflowSnapshot(snapshots);
  const coordinatorHistory = await followHistory(connection, COORDINATOR, watched.seq + 1, log);

  const ready = Promise.all([histories.caughtUp, published.caughtUp]).then(() => {
    log.info(
      {
        agents: registry.names().length,
        afterHistorySeq: positions.historySeq,
        afterResultsSeq: positions.resultsSeq,
      },
      'task registry rebuilt from histories and results',
    );
  });
  let caughtUp = false;
  void ready.then(() => {
    caughtUp = true;
  });
  // Ready once the registry has caught up and the workflow actor works (or stands by).
  const forget = (options.observer ?? noObserver).watch({
    name: COORDINATOR,
    role: 'coordinator',
    phase: () => (caughtUp ? workflows.phase() : 'replaying'),
  });
  const consume = <T>(watch: AsyncIterable<T>, apply: (item: T) => void, what: string) =>
    (async () => {
      for await (const item of watch) apply(item);
    })().catch((err) => log.error({ err: ensureError(err).message }, `${what} watch ended`));
  const consuming = [
    consume(
      histories,
      ({ agent, commit }) => {
        registry.apply(agent, commit);
        snapshotter.folded('historySeq', commit.seq, workflows.state() !== undefined);
      },
      'history',
    ),
    consume(
      coordinatorHistory,
      (commit) => {
        if (commit.seq > watched.seq)
          applyCoordinatorCommit(watched, {
            seq: commit.seq,
            events: commit.events.filter(isCoordinatorEvent),
          });
      },
      'coordinator history',
    ),
    consume(
      published,
      ({ seq, result }) => {
        registry.applyResult(result);
        snapshotter.folded('resultsSeq', seq, workflows.state() !== undefined);
      },
      'results',
    ),
  ];

  const stopServing = api.serve(subjects.status, async () => {
    await ready;
    const [agents, keyed] = await Promise.all([liveness(), keyedLiveness()]);
    const report = registry.report(agents, clock.now(), keyed);
    const spending =
      options.spending === undefined ? {} : await spendStatus(connection, report, options.spending);
    // Workflows from the writer's own state, or the history a standby watches (as spool.api.workflows).
    const state = workflows.state() ?? watched;
    return JSON.stringify({ ...report, ...spending, ...workflowStatus(state), ...scheduleStatus(state) });
  });
  const stopServingDlq = api.serve(subjects.deadLetters, async () => {
    await ready;
    return JSON.stringify(registry.deadLetters(clock.now()));
  });
  const stopServingWorkflows = api.serve(subjects.workflows, async (data) => {
    await ready;
    // The writer's own state is the freshest; a standby answers from the history it watches.
    return answerWorkflows(workflows.state() ?? watched, data);
  });
  const stopServingSchedules = api.serve(subjects.schedules, async () => {
    await ready;
    return answerSchedules(workflows.state() ?? watched);
  });
  log.info(
    { subjects: [subjects.status, subjects.deadLetters, subjects.workflows, subjects.schedules] },
    'coordinator answering status requests',
  );

  /** Lease holders of every actor (agents, replicas); inbox counts of every inbox (agents, pools). */
  async function liveness(): Promise<Map<string, AgentLiveness>> {
    const holders = new Map((await leaseTable.list()).map((l) => [l.agent, l]));
    const inboxes = new Set(registry.inboxNames());
    const names = [...new Set([...registry.names(), ...inboxes])];
    const entries = await Promise.all(
      names.map(async (name): Promise<[string, AgentLiveness]> => {
        const lease = holders.get(name);
        const pending = inboxes.has(name)
          ? await inboxPending(connection, name).catch(() => ({ queued: 0, unacked: 0 }))
          : { queued: 0, unacked: 0 };
        return [
          name,
          {
            ...(lease === undefined ? {} : { holder: lease.holder, holderAlive: !lease.expired }),
            ...mcpServersOf(lease?.about),
            queued: pending.queued,
            unacked: pending.unacked,
          },
        ];
      }),
    );
    return new Map(entries);
  }

  /** Each keyed agent's instances, hosts and shared inbox (a failed count reports nothing for it). */
  async function keyedLiveness(): Promise<Map<string, KeyedLiveness>> {
    const entries = await Promise.all(
      registry.keyedNames().map(async (name): Promise<[string, KeyedLiveness] | undefined> => {
        try {
          const [census, pending] = await Promise.all([
            keyedCensus(connection, name),
            inboxPending(connection, name, { keyed: true }).catch(() => ({ queued: 0, unacked: 0 })),
          ]);
          return [name, { ...census, ...pending }];
        } catch (err) {
          log.warn(
            { keyedAgent: name, err: ensureError(err).message },
            'could not count a keyed agent’s instances',
          );
          return undefined;
        }
      }),
    );
    return new Map(entries.filter((e) => e !== undefined));
  }

  return {
    ready,
    stop: async () => {
      stopServing();
      stopServingDlq();
      stopServingWorkflows();
      stopServingSchedules();
      await workflows.stop();
      forget();
      await Promise.all([histories.stop(), published.stop(), coordinatorHistory.stop()]);
      await Promise.all(consuming);
      log.info('coordinator stopped');
    },
  };
}

const HolderAboutSchema = z.object({ mcpServers: z.array(McpServerStatusSchema) });

/** The MCP servers a lease holder described (a holder of another version may say nothing, or something else). */
function mcpServersOf(about: unknown): { mcpServers?: McpServerStatus[] } {
  const parsed = HolderAboutSchema.safeParse(about);
  return parsed.success ? { mcpServers: parsed.data.mcpServers } : {};
}

/** The coordinator's history as its newest snapshot holds it (a standby answers workflow questions from it). */
async function workflowSnapshot(snapshots: SnapshotStore): Promise<CoordinatorState> {
  const stored = await snapshots.load(COORDINATOR).catch(() => undefined);
  const decoded = stored === undefined ? undefined : coordinatorFromSnapshot(stored.data, COORDINATOR);
  return decoded !== undefined && 'state' in decoded ? decoded.state : initialCoordinatorState();
}
