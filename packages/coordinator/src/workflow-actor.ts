import {
  applyCoordinatorCommit,
  COORDINATOR,
  type CoordinatorCommand,
  type CoordinatorEffect,
  type CoordinatorState,
  ensureError,
  ErrorCode,
  type HistoryEvent,
  initialCoordinatorState,
  nextCoordinator,
  parseControlMessage,
  type TaskResult,
  type WorkflowDef,
  type WorkflowRun,
} from '@spool/core';
import {
  historyStore,
  type Inbox,
  type InboxMessage,
  leases,
  openControl,
  openInbox,
  type ResultsWatch,
  reclaimUnacked,
  results,
  runLeaseTerms,
  type SpoolConnection,
  sendControl,
  submitTask,
  taskOwner,
  watchResults,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import { CoordinatorJournal, DecisionTooLargeError } from './coordinator-journal.ts';
import { parseWorkflowStart } from './start-message.ts';

export interface WorkflowActorOptions {
  readonly connection: SpoolConnection;
  /** The config's workflows: a start names one of them (a run keeps the definition it started with). */
  readonly workflows: Readonly<Record<string, WorkflowDef>>;
  /** Identifies this process in the lease. */
  readonly holder: string;
  readonly logger: Logger;
  /** Lease ttl on the name `coordinator` (default 10 s): how long a standby waits after a crash. */
  readonly leaseTtlMs?: number;
  /** How long one inbox / control pull waits (default 2 s). */
  readonly fetchExpiresMs?: number;
}

export interface WorkflowActorHandle {
  /** Resolves once this process holds the name and has replayed the history (never, for a standby). */
  readonly ready: Promise<void>;
  /** The replayed state while this process is the writer. */
  state(): CoordinatorState | undefined;
  stop(): Promise<void>;
}

/** Delay before an effect that failed (NATS down, say) is tried again. */
const EFFECT_RETRY_MS = 1_000;
/** Advance decisions in a row after one command (each dispatch can make more steps ready). */
const MAX_ADVANCES = 50;
/** Stored results looked up in parallel when a term starts (one per task still running). */
const LOOKUPS_AT_ONCE = 32;

/**
 * The coordinator as an event-sourced actor that runs workflows, exactly like an agent: one
 * writer at a time holds the lease on `coordinator` (a standby waits), replays
 * `spool.history.coordinator`, then takes workflow starts from `spool.inbox.coordinator`,
 * cancels from `spool.control.coordinator` and task results from `spool.results.>`, and runs
 * what `nextCoordinator` asks for. Every decision is journaled before its effect; every effect's
 * outcome is journaled before it is relied on. Losing the lease or an append race ends the term:
 * it steps back, waits for the lease, and replays.
 */
export function startWorkflowActor(options: WorkflowActorOptions): WorkflowActorHandle {
  const logger = options.logger.child({ agent: COORDINATOR });
  const stopping = new AbortController();
  let term: WorkflowTerm | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  async function loop(): Promise<void> {
    const table = await leases(options.connection);
    const store = historyStore(options.connection);
    const ackWaitMs = 30_000;
    const inbox = await openInbox(options.connection, COORDINATOR, { ackWaitMs });
    const control = await openControl(options.connection, COORDINATOR, { ackWaitMs });
    await runLeaseTerms({
      leases: table,
      name: COORDINATOR,
      holder: options.holder,
      ttlMs: options.leaseTtlMs ?? 10_000,
      signal: stopping.signal,
      logger,
      role: 'coordinator',
      sleep,
      afterTakeover: async () => {
        await reclaimUnacked(inbox, 'inbox', logger);
        await reclaimUnacked(control, 'control', logger);
      },
      term: async (signal) => {
        const current = new WorkflowTerm({ ...options, logger, store, inbox, control }, () => markReady());
        term = current;
        try {
          await current.run(signal);
        } finally {
          term = undefined;
        }
        return { journalFailure: current.failure };
      },
    });
  }

  const stopped = loop()
    .catch((err) => logger.error({ err: ensureError(err).message }, 'workflow actor could not start'))
    .finally(() => logger.info('workflow actor stopped'));
  return {
    ready,
    state: () => term?.current,
    stop: async () => {
      stopping.abort(new Error('coordinator stopping'));
      await stopped;
    },
  };
}

interface TermDeps extends WorkflowActorOptions {
  readonly store: ReturnType<typeof historyStore>;
  readonly inbox: Inbox;
  readonly control: Inbox;
}

/** One term as the writer of the coordinator's history: replay, then work until the signal or a failed append. */
class WorkflowTerm {
  private state: CoordinatorState = initialCoordinatorState();
  private journal: CoordinatorJournal | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly retryAt = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | undefined;
  private alarm: { at: number; timer: NodeJS.Timeout } | undefined;
  /** Aborted when this term must stop working: the signal, or the journal failed. */
  private readonly work = new AbortController();
  private readonly publisher;

  constructor(
    private readonly deps: TermDeps,
    private readonly onReady: () => void,
  ) {
    this.publisher = results(deps.connection);
  }

  get current(): CoordinatorState {
    return this.state;
  }

  get failure(): unknown {
    return this.journal?.failure;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, store } = this.deps;
    const started = Date.now();
    let replayed = 0;
    for await (const commit of store.replay(COORDINATOR)) {
      applyCoordinatorCommit(this.state, commit);
      replayed += 1;
    }
    this.journal = new CoordinatorJournal(store, this.state);
    const open = [...this.state.workflows.values()].filter((run) => !isDone(run)).length;
    logger.info(
      { seq: this.state.seq, replayedCommits: replayed, ms: Date.now() - started, running: open },
      open > 0
        ? `coordinator history replayed; resuming ${open} workflow(s)`
        : 'coordinator history replayed',
    );
    this.onReady();

    const stopWork = () => this.work.abort(signal.reason);
    signal.addEventListener('abort', stopWork, { once: true });
    // Results from now on; those published while no coordinator watched are looked up by task
    // id below, so a term's start does not read the whole results stream (it only grows).
    const watch = await watchResults(this.deps.connection, logger, { from: 'now' });
    const stopWatch = () => void watch.stop();
    this.work.signal.addEventListener('abort', stopWatch, { once: true });
    try {
      await this.catchUpResults();
      // Journaled but unfinished effects (a send not marked sent, a result not published) resume first.
      await this.advance();
      this.reconcile();
      await Promise.all([
        this.pump(this.deps.inbox, 'inbox', (m) => this.accept(m), this.work.signal),
        this.pump(this.deps.control, 'control', (m) => this.obey(m), this.work.signal),
        this.observe(watch),
      ]);
    } finally {
      stopWork();
      stopWatch();
      signal.removeEventListener('abort', stopWork);
      clearTimeout(this.retryTimer);
      clearTimeout(this.alarm?.timer);
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
    }
  }

  /** Journals a command, then lets the workflows advance; a failed append ends the term. */
  private async commit(command: CoordinatorCommand): Promise<HistoryEvent[]> {
    if (this.journal === undefined) throw new Error('journal not open');
    try {
      const events = await this.journal.commit(command);
      if (events.length > 0 && command.type !== 'Advance') await this.advance();
      return events;
    } catch (err) {
      if (
        err instanceof DecisionTooLargeError &&
        command.type !== 'FailWorkflow' &&
        command.type !== 'RejectWorkflow'
      )
        return this.failTooLarge(command, err);
      if (this.journal.failure !== undefined) this.work.abort(err);
      throw err;
    }
  }

  /**
   * A decision too large to journal (its step outputs are too big to carry) fails the
   * workflow it is about, with what happened; the other workflows go on. An Advance about
   * several workflows is tried again for each alone, so only the one too large fails.
   */
  private async failTooLarge(
    command: CoordinatorCommand,
    err: DecisionTooLargeError,
  ): Promise<HistoryEvent[]> {
    if (command.type === 'Advance' && command.workflowId === undefined && err.workflowIds.length > 1) {
      const events: HistoryEvent[] = [];
      for (const workflowId of err.workflowIds)
        events.push(...(await this.commit({ type: 'Advance', workflowId, at: now() })));
      return events;
    }
    const message = `what the coordinator decided next (${command.type}) takes ${Math.round(err.bytes / 1024)} KiB, more than one NATS message holds (the server's max_payload): the inputs and outputs it carries are too large; make them smaller (fewer map items, shorter outputs) or raise max_payload`;
    const error = { code: ErrorCode.CommitTooLarge, message };
    for (const workflowId of err.workflowIds) {
      this.deps.logger.error({ workflowId, bytes: err.bytes }, `workflow failed: ${message}`);
      // A start too large to journal is rejected (its sender gets a result); a running workflow fails.
      await this.commit(
        command.type === 'StartWorkflow'
          ? {
              type: 'RejectWorkflow',
              workflowId,
              workflow: command.workflow,
              error,
              inboxSeq: command.inboxSeq,
              at: now(),
            }
          : { type: 'FailWorkflow', workflowId, error, at: now() },
      );
    }
    return [];
  }

  /** Dispatches whatever became ready, until nothing more does. */
  private async advance(): Promise<void> {
    if (this.journal === undefined) return;
    for (let i = 0; i < MAX_ADVANCES; i++) {
      const events = await this.commit({ type: 'Advance', at: now() });
      if (events.length === 0) return;
      this.logEvents(events);
    }
  }

  private logEvents(events: readonly HistoryEvent[]): void {
    const { logger } = this.deps;
    for (const event of events) {
      const data = event.data as Record<string, unknown>;
      const fields = {
        workflowId: data.workflowId,
        ...(data.step === undefined ? {} : { step: data.step }),
        ...(data.taskId === undefined ? {} : { taskId: data.taskId }),
      };
      switch (event.type) {
        case 'workflow.task_dispatched':
          logger.info(
            { ...fields, agent: data.agent, attempt: data.attempt, index: data.index },
            'step task dispatched',
          );
          break;
        case 'workflow.step_finished':
          logger.info({ ...fields, status: data.status }, `step ${String(data.status)}`);
          break;
        case 'workflow.finished':
          logger.info({ ...fields, status: data.status }, `workflow ${String(data.status)}`);
          break;
        default:
          break;
      }
    }
  }

  /**
   * Pulls one consumer and handles each message in order: workflow starts (journaled as started
   * or rejected before the ack) or cancels. A message not journaled is handed back for a retry.
   */
  private async pump(
    consumer: Inbox,
    what: 'inbox' | 'control',
    handle: (message: InboxMessage) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const { logger } = this.deps;
    while (!signal.aborted) {
      let messages: InboxMessage[];
      try {
        messages = await consumer.fetch(16, this.deps.fetchExpiresMs ?? 2_000, signal);
      } catch (err) {
        if (signal.aborted) break;
        logger.warn({ err: ensureError(err).message }, `coordinator ${what} pull failed; retrying`);
        await sleep(EFFECT_RETRY_MS, signal);
        continue;
      }
      for (const message of messages) {
        if (signal.aborted) {
          message.nak();
          continue;
        }
        await handle(message).catch((err) => {
          message.nak(EFFECT_RETRY_MS);
          if (!signal.aborted)
            logger.warn(
              { [what === 'inbox' ? 'inboxSeq' : 'controlSeq']: message.seq, err: ensureError(err).message },
              `${what === 'inbox' ? 'workflow start' : 'control message'} not journaled; retried`,
            );
        });
      }
    }
  }

  private async accept(message: InboxMessage): Promise<void> {
    const { logger, workflows } = this.deps;
    const parsed = parseWorkflowStart(message.data, message.seq);
    const at = now();
    if (parsed.ok) {
      const { id, workflow, input } = parsed.start;
      const definition = Object.hasOwn(workflows, workflow) ? workflows[workflow] : undefined;
      const events = await this.commit({
        type: 'StartWorkflow',
        workflowId: id,
        workflow,
        input,
        ...(definition === undefined ? {} : { definition }),
        inboxSeq: message.seq,
        at,
      });
      const log = logger.child({ workflowId: id, workflow, inboxSeq: message.seq });
      if (events.length === 0) log.info('workflow id already known; start message dropped as a duplicate');
      else if (definition === undefined)
        log.warn(
          `workflow start rejected: no workflow "${workflow}" in the config (${Object.keys(workflows).join(', ') || 'none defined'})`,
        );
      else log.info('workflow started');
    } else {
      const events = await this.commit({
        type: 'RejectWorkflow',
        workflowId: parsed.workflowId,
        ...(parsed.workflow === '' ? {} : { workflow: parsed.workflow }),
        error: parsed.error,
        inboxSeq: message.seq,
        at,
      });
      logger.warn(
        {
          workflowId: parsed.workflowId,
          inboxSeq: message.seq,
          code: parsed.error.code,
          journaled: events.length > 0,
        },
        `workflow start rejected: ${parsed.error.message}`,
      );
    }
    await message.ack();
    this.reconcile();
  }

  /** Cancels: `{type: "cancel", taskId: <workflowId>}`; anything else is refused in the log. */
  private async obey(message: InboxMessage): Promise<void> {
    const { logger } = this.deps;
    const parsed = parseControlMessage(message.data);
    if (!parsed.ok || parsed.message.type !== 'cancel') {
      const problem = parsed.ok
        ? `the coordinator only takes {"type": "cancel", "taskId": "<workflow id>"} (got "${parsed.message.type}")`
        : parsed.problem;
      logger.warn({ controlSeq: message.seq }, `control message refused: ${problem}`);
      await message.ack();
      return;
    }
    const { taskId: workflowId, reason } = parsed.message;
    const events = await this.commit({
      type: 'CancelWorkflow',
      workflowId,
      reason: reason ?? 'cancelled by an operator',
      at: now(),
    });
    await message.ack();
    const log = logger.child({ workflowId, controlSeq: message.seq });
    if (events.length === 0) log.info('cancel: nothing to do (no such workflow running)');
    else log.info('workflow cancelled; its running tasks are being cancelled');
    this.reconcile();
  }

  /**
   * The stored results of tasks still running in the replayed state: published while no
   * coordinator watched (or before this term's watch began). Seen twice is harmless: decide
   * ignores a result already journaled.
   */
  private async catchUpResults(): Promise<void> {
    const running = [...this.state.workflows.values()].flatMap((run) =>
      [...run.steps.values()].flatMap((step) => step.tasks.filter((task) => task.status === 'running')),
    );
    let found = 0;
    for (let i = 0; i < running.length && !this.work.signal.aborted; i += LOOKUPS_AT_ONCE) {
      const stored = await Promise.all(
        running.slice(i, i + LOOKUPS_AT_ONCE).map((task) => this.publisher.get(task.agent, task.taskId)),
      );
      for (const result of stored) if (result !== undefined && (await this.record(result))) found += 1;
    }
    if (found > 0)
      this.deps.logger.info({ results: found }, 'results published while no coordinator watched journaled');
  }

  /** Task results of the workflows' tasks, journaled as they are seen (replayed ones are ignored by decide). */
  private async observe(watch: ResultsWatch): Promise<void> {
    const { logger } = this.deps;
    try {
      for await (const { result } of watch) {
        if (this.work.signal.aborted) break;
        if (result.agent === COORDINATOR || !this.state.tasks.has(result.taskId)) continue;
        await this.record(result);
        this.reconcile();
      }
    } catch (err) {
      if (!this.work.signal.aborted)
        logger.error({ err: ensureError(err).message }, 'results watch ended; the term stops and replays');
      this.work.abort(err);
    }
  }

  /** Journals one step task's result, retrying a failed append; true when it was new. */
  private async record(result: TaskResult): Promise<boolean> {
    const { logger } = this.deps;
    for (;;) {
      try {
        const events = await this.commit({ type: 'ObserveResult', result, at: now() });
        if (events.length > 0)
          logger.info(
            { taskId: result.taskId, agent: result.agent, status: result.status },
            'step task result journaled',
          );
        return events.length > 0;
      } catch (err) {
        if (this.work.signal.aborted) return false;
        logger.warn(
          { taskId: result.taskId, err: ensureError(err).message },
          'task result not journaled; retrying',
        );
        await sleep(EFFECT_RETRY_MS, this.work.signal);
      }
    }
  }

  /** Starts every effect `nextCoordinator` asks for that is not already running. */
  private reconcile(): void {
    if (this.work.signal.aborted) return;
    const at = Date.now();
    const { effects, wakeAt } = nextCoordinator(this.state, new Date(at));
    this.setAlarm(wakeAt, at);
    for (const effect of effects) {
      const key = `${effect.type}:${'taskId' in effect ? effect.taskId : effect.workflowId}`;
      if (this.inFlight.has(key) || (this.retryAt.get(key) ?? 0) > at) continue;
      const run = this.execute(effect)
        .then(
          () => {
            this.retryAt.delete(key);
          },
          (err) => this.effectFailed(key, err),
        )
        .finally(() => {
          this.inFlight.delete(key);
          this.reconcile();
        });
      this.inFlight.set(key, run);
    }
  }

  /** One timer for the next step timeout. */
  private setAlarm(wakeAt: number | undefined, at: number): void {
    if (wakeAt === undefined || this.alarm?.at === wakeAt) return;
    clearTimeout(this.alarm?.timer);
    const timer = setTimeout(
      () => {
        this.alarm = undefined;
        this.reconcile();
      },
      Math.max(0, wakeAt - at + 1),
    );
    this.alarm = { at: wakeAt, timer };
  }

  private async execute(effect: CoordinatorEffect): Promise<void> {
    const { connection, logger } = this.deps;
    const log = logger.child({
      workflowId: effect.workflowId,
      ...('taskId' in effect ? { taskId: effect.taskId } : {}),
    });
    switch (effect.type) {
      case 'send-task': {
        // Journaled (dispatched) before this publish; a crash before MarkSent sends it again with
        // the same id, which the inbox's dedup window and the agent's task-id idempotency absorb.
        const sent = await submitTask(connection, effect.agent, {
          id: effect.taskId,
          input: effect.input,
          meta: effect.meta,
        });
        await this.commit({ type: 'MarkSent', taskId: effect.taskId, inboxSeq: sent.seq, at: now() });
        log.info({ agent: effect.agent, inboxSeq: sent.seq, duplicate: sent.duplicate }, 'step task sent');
        return;
      }
      case 'cancel-task': {
        // A pool's task is cancelled at the replica that claimed it (the pool name otherwise).
        const owner = await taskOwner(connection, effect.agent, effect.taskId);
        await sendControl(
          connection,
          owner,
          { type: 'cancel', taskId: effect.taskId, reason: effect.reason.slice(0, 1_000) },
          `cancel:${effect.taskId}`,
        );
        await this.commit({ type: 'MarkCancelSent', taskId: effect.taskId, at: now() });
        log.info({ agent: owner, reason: effect.reason }, 'step task cancel sent');
        return;
      }
      case 'time-out': {
        await this.commit({ type: 'TimeOut', taskId: effect.taskId, at: now() });
        log.warn('step task timed out; cancelling it');
        return;
      }
      case 'publish-result': {
        const outcome = await this.publisher.publish(effect.result);
        await this.commit({
          type: 'MarkPublished',
          workflowId: effect.workflowId,
          resultSeq: outcome.seq,
          at: now(),
        });
        const { status, error } = effect.result;
        const fields = { status, resultSeq: outcome.seq, ...(error ? { code: error.code } : {}) };
        if (status === 'completed') log.info(fields, 'workflow result published');
        else log.warn(fields, `workflow ${status}; result published${error ? `: ${error.message}` : ''}`);
        return;
      }
      default: {
        const unknown: never = effect;
        throw new Error(`unknown coordinator effect ${JSON.stringify(unknown)}`);
      }
    }
  }

  private effectFailed(key: string, err: unknown): void {
    if (this.work.signal.aborted) return;
    this.deps.logger.warn(
      { effect: key, err: ensureError(err).message },
      'workflow effect failed; it will be retried',
    );
    this.retryAt.set(key, Date.now() + EFFECT_RETRY_MS);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.reconcile(), EFFECT_RETRY_MS);
  }
}

/** Finished and its result published: nothing left to do for it. */
function isDone(run: WorkflowRun): boolean {
  return run.status !== 'running' && run.published;
}

function now(): string {
  return new Date().toISOString();
}

/** Waits `ms` or until `signal` aborts; never rejects. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
