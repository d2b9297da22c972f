import type { ModelClient } from '@spool/claude';
import {
  type AgentSpec,
  type AgentState,
  buildMessages,
  type Command,
  CommitTooLargeError,
  delegateTool,
  type Effect,
  ensureError,
  ErrorCode,
  type HistoryEvent,
  holdsSlot,
  initialState,
  isKnownTask,
  next,
  parseControlMessage,
  openToolCall,
  parseTaskMessage,
  type Price,
  priceFor,
  specHash,
  type TaskState,
  type ToolDefinition,
  toolDefinitions,
} from '@spool/core';
import type { HistoryStore, Inbox, InboxMessage, LiveText, Results } from '@spool/jetstream';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { Journal } from './journal.ts';
import { type CompactionOutcome, compactIfNeeded } from './compaction.ts';
import { callModelOnce, retryDelayMs } from './model-call.ts';
import { commandFor, DONE, noEffectReason } from './control-commands.ts';
import { restoreState, type SnapshotPort } from './restore.ts';
import { Snapshotter } from './snapshotter.ts';
import { runTool } from './tool-runner.ts';
import { LATER_MS, type PoolIntake } from './pool.ts';
import {
  awaitDelegation,
  cancelOpenDelegations,
  type DelegationContext,
  sendDelegation,
  type SubmitPort,
} from './delegation.ts';

export interface ActiveAgentDeps {
  readonly name: string;
  readonly spec: AgentSpec;
  readonly store: HistoryStore;
  readonly inbox: Inbox;
  /** Other agents' results that arrive as tasks (`spec.subscriptions`, in the same order). */
  readonly subscriptions?: readonly Inbox[] | undefined;
  /** Operator commands (pause, resume, cancel), journaled before they are acknowledged. */
  readonly control: Inbox;
  readonly results: Results;
  /** Where sub-tasks of `delegate` calls are sent (and cancelled); needed when the spec has `delegation`. */
  readonly submit?: SubmitPort | undefined;
  /** Where reply text goes as it streams (for `spool submit --follow`); none: not shown live. */
  readonly liveText?: Pick<LiveText, 'publish'> | undefined;
  /** Where the state is snapshotted every `spec.snapshotEvery` events; none: always full replay. */
  readonly snapshots?: SnapshotPort | undefined;
  readonly model: ModelClient;
  readonly logger: Logger;
  readonly clock: Clock;
  /** How long one inbox pull waits for messages. */
  readonly fetchExpiresMs: number;
  /** Interval of `working()` signals for held inbox messages (below the consumer's ack wait). */
  readonly keepAliveMs: number;
  /** Called once the history is replayed and the agent is taking work. */
  readonly onReady?: (state: AgentState) => void;
  /** A replica of an agent pool: the claims decide which replica journals a task (pool.ts). */
  readonly pool?: PoolIntake | undefined;
}

/** Longest excerpt of a refused message kept in the history. */
const EXCERPT_CHARS = 500;
/** Deliveries of an inbox message that never got journaled before it is refused as poison. */
const MAX_UNJOURNALED_DELIVERIES = 5;
/** Delay before an effect that failed (NATS down, say) is tried again. */
const EFFECT_RETRY_MS = 1_000;

/**
 * One term of an agent as the writer of its history, from replay until it stops, loses its
 * lease or loses an append race. The state lives only in the journal's fold of the history;
 * the loop asks `next(state)` what to do and runs each effect once at a time.
 */
export class ActiveAgent {
  private state: AgentState;
  private journal: Journal | undefined;
  private readonly hash: string;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly held = new Map<string, InboxMessage[]>();
  /** Task ids whose pool claim is being decided (pool siblings asking are told "known"). */
  private readonly admitting = new Set<string>();
  /** Intake loops waiting for room; `nudge` wakes them all. */
  private readonly waiting = new Set<() => void>();
  /** Effects that failed (NATS down, say) and when they may run again. */
  private readonly retryAt = new Map<string, number>();
  private draining = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Wakes the loop for the earliest backoff or deadline that `next` is waiting on. */
  private alarm: { at: number; timer: NodeJS.Timeout } | undefined;
  /** Aborted when work in flight must stop: stop past the grace period, or the journal failed. */
  private readonly work = new AbortController();
  /** Aborted when the agent is told to stop: waits on other agents end then, not after the grace. */
  private stopping: AbortSignal = new AbortController().signal;
  /** Why the term ended on its own: an append lost to another writer, or the store failing. */
  private journalError: unknown;
  /** Aborts what runs for a task (model call, tools) when it is cancelled; dropped once its result is out. */
  private readonly taskAborts = new Map<string, AbortController>();
  private readonly snapshotter: Snapshotter;
  /** The tools as the Messages API takes them, built once from the spec. */
  private readonly tools: ToolDefinition[];
  /** The model's price, for result costs and cost limits (undefined: unknown model). */
  private readonly price: Price | undefined;

  constructor(private readonly deps: ActiveAgentDeps) {
    this.state = initialState(deps.name);
    this.hash = specHash(deps.spec);
    this.tools = [
      ...toolDefinitions(deps.spec.tools),
      ...(deps.spec.delegation === undefined ? [] : [delegateTool(deps.spec.delegation)]),
    ];
    this.price = priceFor(deps.spec.model, deps.spec.prices);
    this.snapshotter = new Snapshotter(deps.snapshots, deps.spec.snapshotEvery, deps.logger);
  }

  /**
   * Runs until `signal` aborts (stop, lease lost) or the history rejects an append.
   * On stop, work in flight gets `graceMs` to finish; then it is abandoned (it resumes from
   * the journal next time).
   */
  async run(signal: AbortSignal, graceMs: number): Promise<void> {
    const { logger, store, name } = this.deps;
    const started = this.deps.clock.now().getTime();
    this.stopping = signal;
    const restored = await restoreState(name, store, this.deps.snapshots, logger);
    this.state = restored.state;
    this.snapshotter.restoredWith(restored.events);
    this.journal = new Journal(store, this.state);
    const unfinished = this.state.active.size;
    logger.info(
      {
        seq: this.state.seq,
        fromSnapshot: restored.fromSnapshot,
        replayedCommits: restored.replayed,
        unfinished,
        paused: this.state.paused,
        ms: this.deps.clock.now().getTime() - started,
        specHash: this.hash,
      },
      unfinished > 0 ? `history replayed; resuming ${unfinished} unfinished task(s)` : 'history replayed',
    );
    if (this.state.paused) logger.warn('agent is paused: it queues tasks and starts none until resumed');
    this.deps.onReady?.(this.state);

    const stopWork = () => this.work.abort(signal.reason);
    signal.addEventListener('abort', () => this.nudge(), { once: true });
    const keepAlive = setInterval(() => this.keepAlive(), this.deps.keepAliveMs);
    try {
      // Commands sent while the agent was down go first: a pause or cancel must not lose a
      // race against the tasks that queued up behind it.
      await this.recordSpec();
      await this.obeyWaiting(signal);
      await this.markInterrupted();
      this.reconcile();
      const sources = [
        this.pump(this.deps.inbox, 'inbox', signal),
        ...(this.deps.subscriptions ?? []).map((source, i) =>
          this.pump(source, `subscription ${this.deps.spec.subscriptions[i]?.name}`, signal),
        ),
      ];
      await Promise.all([...sources, this.listen(signal)]);
      // Stopping: take nothing new, let work in flight finish (or be abandoned after the grace).
      this.draining = true;
      const grace = setTimeout(stopWork, this.failed ? 0 : graceMs);
      await this.settle();
      clearTimeout(grace);
    } finally {
      stopWork();
      clearInterval(keepAlive);
      clearTimeout(this.retryTimer);
      clearTimeout(this.alarm?.timer);
      await this.settle();
      // Hand back what this term still holds: a task already journaled is recognised on redelivery.
      for (const list of this.held.values()) for (const message of list) message.nak();
      this.held.clear();
    }
  }

  /** Waits for every effect in flight, including those started while waiting. */
  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  /** The folded state (read-only use). */
  get current(): AgentState {
    return this.state;
  }

  /** Why the term ended on its own, if it did. */
  get failure(): unknown {
    return this.journalError;
  }

  private get failed(): boolean {
    return this.journalError !== undefined;
  }

  /** Pulls inbox messages while there is room for more work. */
  private async pump(inbox: Inbox, what: string, signal: AbortSignal): Promise<void> {
    const { logger, spec } = this.deps;
    while (!signal.aborted && !this.failed) {
      // A task parked on delegations holds no slot: its children (maybe this agent's) can run.
      const busy = [...this.state.active.values()].filter(holdsSlot).length;
      const room = spec.concurrency - busy;
      if (room <= 0) {
        await new Promise<void>((resolve) => {
          this.waiting.add(resolve);
        });
        continue;
      }
      let messages: InboxMessage[];
      try {
        messages = await inbox.fetch(room, this.deps.fetchExpiresMs, signal);
      } catch (err) {
        if (signal.aborted) break;
        logger.warn({ err: ensureError(err).message }, `${what} pull failed; retrying`);
        await this.deps.clock.sleep(EFFECT_RETRY_MS, signal).catch(() => undefined);
        continue;
      }
      if (this.failed) {
        // This term is over: hand them back at once rather than after the ack wait.
        for (const message of messages) message.nak();
        break;
      }
      // Accepted together: their commands queue in inbox order and share one group commit.
      await Promise.all(
        messages.map((message) => this.accept(message).catch((err) => this.effectFailed('accept', err))),
      );
    }
  }

  /** Validates one inbox message and journals it as a task, or refuses it with a `rejected` result. */
  private async accept(message: InboxMessage): Promise<void> {
    const { logger, clock } = this.deps;
    const at = clock.now().toISOString();
    const parsed = parseTaskMessage(message.data, message.seq);
    const taskId = parsed.ok ? parsed.task.id : parsed.taskId;
    if (this.state.done.has(taskId)) {
      logger.info({ taskId, inboxSeq: message.seq }, 'task id already done; message dropped as a duplicate');
      await message.ack();
      return;
    }
    if (isKnownTask(this.state, taskId)) {
      if (!parsed.ok)
        logger.warn(
          { taskId, inboxSeq: message.seq },
          `refused message reuses a known task id: ${parsed.message}`,
        );
      this.hold(taskId, message);
      return;
    }
    const tries = await this.admit(taskId, message);
    if (tries === false) return;
    // Delivered this often without ever being journaled: something between fetch and journal
    // keeps failing on it (or taking the process down). Refuse it rather than loop forever.
    // In a pool, siblings hand messages back without failing: count the replicas' tries instead.
    const poisoned = (tries ?? message.deliveryCount) > MAX_UNJOURNALED_DELIVERIES;
    let command: Command;
    if (parsed.ok && !poisoned) {
      command = { type: 'ReceiveTask', task: parsed.task, inboxSeq: message.seq, at };
    } else {
      const error = parsed.ok
        ? {
            code: ErrorCode.PoisonMessage,
            message: `delivered ${message.deliveryCount} times without being accepted; refused so it cannot block the inbox (retry it with a new task id)`,
          }
        : { code: parsed.code, message: parsed.message };
      logger.warn(
        { taskId, inboxSeq: message.seq, code: error.code },
        `inbox message rejected: ${error.message}`,
      );
      const excerpt = message.data.slice(0, EXCERPT_CHARS);
      command = { type: 'RejectMessage', taskId, inboxSeq: message.seq, error, excerpt, at };
    }
    this.hold(taskId, message);
    await this.commit(command);
    if (parsed.ok) logger.info({ taskId, inboxSeq: message.seq }, 'task received');
    this.reconcile();
  }

  /**
   * A pool replica journals a task only if it holds its claim: returns the claim's tries, or
   * false when the message was acked (a sibling has the task) or handed back for a moment.
   * Undefined outside a pool.
   */
  private async admit(taskId: string, message: InboxMessage): Promise<number | false | undefined> {
    const pool = this.deps.pool;
    if (pool === undefined) return undefined;
    this.admitting.add(taskId);
    // Asking a sibling (or adopting it) can take a while: keep the message ours meanwhile.
    const keep = setInterval(() => message.working(), this.deps.keepAliveMs);
    try {
      const admission = await pool.admit(taskId);
      if (admission.kind === 'run') return admission.tries;
      const log = { taskId, inboxSeq: message.seq, why: admission.why };
      if (admission.kind === 'ack') {
        this.deps.logger.info(log, 'task belongs to another replica of the pool; message acked');
        await message.ack();
      } else {
        this.deps.logger.info(log, 'task claimed by another replica that cannot answer yet; handed back');
        message.nak(LATER_MS);
      }
      return false;
    } finally {
      clearInterval(keep);
      this.admitting.delete(taskId);
    }
  }

  /** Whether this writer's history has the task or is about to (pool siblings ask); undefined before replay. */
  knows(taskId: string): boolean | undefined {
    if (this.journal === undefined || this.failed) return undefined;
    return isKnownTask(this.state, taskId) || this.held.has(taskId) || this.admitting.has(taskId);
  }

  /** Journals operator commands as they arrive; a bad one is refused in the log and dropped. */
  private async listen(signal: AbortSignal): Promise<void> {
    const { control, logger } = this.deps;
    while (!signal.aborted && !this.failed) {
      let messages: InboxMessage[];
      try {
        messages = await control.fetch(16, this.deps.fetchExpiresMs, signal);
      } catch (err) {
        if (signal.aborted) break;
        logger.warn({ err: ensureError(err).message }, 'control pull failed; retrying');
        await this.deps.clock.sleep(EFFECT_RETRY_MS, signal).catch(() => undefined);
        continue;
      }
      for (const message of messages) {
        if (this.failed) {
          message.nak();
          continue;
        }
        await this.obey(message).catch((err) => this.effectFailed(`control:${message.seq}`, err));
      }
    }
  }

  private async obeyWaiting(signal: AbortSignal): Promise<void> {
    const { control, logger } = this.deps;
    try {
      let { queued } = await control.pending();
      while (queued > 0 && !signal.aborted && !this.failed) {
        const messages = await control.fetch(Math.min(queued, 100), 1_000, signal);
        if (messages.length === 0) break;
        for (const message of messages) await this.obey(message);
        queued -= messages.length;
      }
    } catch (err) {
      // The listener picks them up; only their order relative to tasks is no longer assured.
      logger.warn({ err: ensureError(err).message }, 'could not read waiting control messages first');
    }
  }

  private async obey(message: InboxMessage): Promise<void> {
    const { logger, clock } = this.deps;
    const parsed = parseControlMessage(message.data);
    if (!parsed.ok) {
      logger.warn({ controlSeq: message.seq }, `control message refused: ${parsed.problem}`);
      await message.ack();
      return;
    }
    const order = parsed.message;
    const events = await this.commit(commandFor(order, message.seq, clock.now().toISOString()));
    if (order.type === 'cancel') this.taskAborts.get(order.taskId)?.abort(new Error('task cancelled'));
    await message.ack();
    const log = logger.child({
      controlSeq: message.seq,
      ...('taskId' in order ? { taskId: order.taskId } : {}),
    });
    if (events.length === 0) log.info(`${order.type}: nothing to do (${noEffectReason(order, this.state)})`);
    else if (order.type === 'cancel' && !this.state.active.has(order.taskId))
      log.info('cancellation recorded; applies when the task arrives');
    else log.info(DONE[order.type]);
    this.reconcile();
    this.nudge();
  }

  private hold(taskId: string, message: InboxMessage): void {
    const list = this.held.get(taskId);
    if (list === undefined) this.held.set(taskId, [message]);
    else list.push(message);
  }

  private keepAlive(): void {
    for (const list of this.held.values()) for (const message of list) message.working();
  }

  private nudge(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const wake of waiting) wake();
  }

  /** Journals a change of spec since the agent last worked (no drift goes unrecorded). */
  private async recordSpec(): Promise<void> {
    const previous = this.state.specHash;
    const events = await this.commit({
      type: 'RecordSpec',
      specHash: this.hash,
      at: this.deps.clock.now().toISOString(),
    });
    if (events.length > 0)
      this.deps.logger.warn(
        { from: previous, to: this.hash },
        'agent spec changed since its last task; recorded in the history',
      );
  }

  /**
   * Tasks still running when this writer took over were interrupted (their writer crashed,
   * was killed, or stopped before they finished): journal it, so a task that keeps taking
   * its writer down ends as a crash loop instead of being resumed forever.
   */
  private async markInterrupted(): Promise<void> {
    const { clock, spec, logger } = this.deps;
    for (const task of [...this.state.active.values()]) {
      // A task parked on delegations was only waiting: it cannot have taken its writer down.
      if (task.phase !== 'running' || !holdsSlot(task)) continue;
      const at = clock.now().toISOString();
      const events = await this.commit({
        type: 'ResumeTask',
        taskId: task.taskId,
        maxInterruptions: spec.maxInterruptions,
        at,
      });
      if (events.some((e) => e.type === 'task.failed')) {
        logger.error(
          { taskId: task.taskId, interruptions: task.interruptions },
          'task failed as a crash loop',
        );
        continue;
      }
      // A non-idempotent tool that was running may or may not have taken effect: ask, do not guess.
      for (const call of task.steps.at(-1)?.tools ?? []) {
        if (call.result !== undefined || (call.starts ?? 0) === 0 || call.approval?.state === 'approved')
          continue;
        await this.commit({
          type: 'RequestApproval',
          taskId: task.taskId,
          step: task.steps.length - 1,
          toolUseId: call.toolUseId,
          reason: `the agent stopped while ${call.name} (not idempotent) was running, so it may have taken effect; approve to run it again, deny to tell the model it failed`,
          at,
        });
        logger.warn(
          { taskId: task.taskId, tool: call.name, key: call.key },
          'interrupted non-idempotent tool call waits for an operator',
        );
      }
    }
  }

  /** Starts every effect `next(state)` asks for that is not already running. */
  private reconcile(): void {
    if (this.failed || this.work.signal.aborted) return;
    const { clock, spec } = this.deps;
    const now = clock.now();
    const effects = next(this.state, {
      concurrency: spec.concurrency,
      taskDeadlineMs: spec.taskDeadlineMs,
      now,
      budget: spec.budget,
      price: this.price,
    });
    this.setAlarm(now.getTime());
    for (const effect of effects) {
      if (this.draining && effect.type !== 'publish-result') continue;
      const key =
        effect.type === 'call-model'
          ? `${effect.type}:${effect.taskId}:${effect.step}`
          : 'toolUseId' in effect // one run (or one waiter) per tool call
            ? `${effect.type}:${effect.taskId}:${effect.toolUseId}`
            : `${effect.type}:${effect.taskId}`;
      if (this.inFlight.has(key) || (this.retryAt.get(key) ?? 0) > now.getTime()) continue;
      if (
        effect.type === 'call-model' &&
        effect.notBefore !== undefined &&
        Date.parse(effect.notBefore) > now.getTime()
      )
        continue; // backing off; the alarm wakes the loop then
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
          this.nudge();
        });
      this.inFlight.set(key, run);
    }
  }
  /** Arms one timer for the earliest time `next` will answer differently: a backoff's end or a deadline. */
  private setAlarm(now: number): void {
    let earliest = Number.POSITIVE_INFINITY;
    const deadline = this.deps.spec.taskDeadlineMs;
    for (const task of this.state.active.values()) {
      if (task.phase !== 'running') continue;
      if (task.retryAt !== undefined) earliest = Math.min(earliest, Date.parse(task.retryAt));
      if (deadline !== undefined && task.startedAt !== undefined)
        earliest = Math.min(earliest, Date.parse(task.startedAt) + deadline + 1);
    }
    if (!Number.isFinite(earliest) || this.alarm?.at === earliest) return;
    clearTimeout(this.alarm?.timer);
    const timer = setTimeout(
      () => {
        this.alarm = undefined;
        this.reconcile();
      },
      Math.max(0, earliest - now),
    );
    this.alarm = { at: earliest, timer };
  }

  private async execute(effect: Effect): Promise<void> {
    const { clock, logger } = this.deps;
    const log = logger.child({ taskId: effect.taskId });
    switch (effect.type) {
      case 'start-task': {
        await this.commit({
          type: 'StartTask',
          taskId: effect.taskId,
          specHash: this.hash,
          at: clock.now().toISOString(),
        });
        log.info({ attempt: this.state.active.get(effect.taskId)?.attempt }, 'task started');
        return;
      }
      case 'call-model':
        return this.callModel(effect.taskId, effect.step, log);
      case 'run-tool':
        return this.runTool(effect, log);
      case 'send-delegation':
        return sendDelegation(this.delegationContext(log), effect);
      case 'await-delegation': {
        // Not the grace period's signal: a wait on another agent must not hold up a stop.
        const signal = AbortSignal.any([this.stopping, this.stopSignal(effect.taskId)]);
        return awaitDelegation(this.delegationContext(log), effect, signal);
      }
      case 'fail-task': {
        this.taskAborts.get(effect.taskId)?.abort(new Error(effect.error.message));
        await this.commit({
          type: 'FailTask',
          taskId: effect.taskId,
          error: effect.error,
          at: clock.now().toISOString(),
        });
        log.warn({ code: effect.error.code }, effect.error.message);
        return;
      }
      case 'publish-result': {
        const ended = this.state.active.get(effect.taskId);
        if (ended !== undefined) await cancelOpenDelegations(this.delegationContext(log), ended);
        const pool = this.deps.pool;
        // A pool's results are the pool's (`spool.results.<pool>.<taskId>`), naming the replica.
        const result = pool ? { ...effect.result, agent: pool.name, replica: this.deps.name } : effect.result;
        const outcome = await this.deps.results.publish(result, effect.previousResultSeq);
        await this.commit({
          type: 'MarkPublished',
          taskId: effect.taskId,
          resultSeq: outcome.seq,
          at: clock.now().toISOString(),
        });
        this.taskAborts.delete(effect.taskId);
        const messages = this.held.get(effect.taskId) ?? [];
        this.held.delete(effect.taskId);
        await Promise.all(messages.map((m) => m.ack()));
        pool?.finished(effect.taskId);
        const { status, usage, error } = effect.result;
        const summary = { status, usage, ...(error ? { code: error.code } : {}), resultSeq: outcome.seq };
        if (status === 'completed') log.info(summary, 'task completed; result published');
        else log.warn(summary, `task ${status}; result published`);
        return;
      }
      default: {
        const unknown: never = effect;
        throw new Error(`unknown effect ${JSON.stringify(unknown)}`);
      }
    }
  }

  private async callModel(taskId: string, step: number, log: Logger): Promise<void> {
    const { spec, clock } = this.deps;
    const task = this.state.active.get(taskId);
    if (task === undefined) return;
    const requestFor = (current: TaskState) => ({
      model: spec.model,
      system: spec.instructions,
      messages: buildMessages(this.state, current, spec.memory),
      maxTokens: spec.maxTokens,
      tools: this.tools,
    });
    const stop = this.stopSignal(taskId);
    let request = requestFor(task);
    const compaction = await compactIfNeeded(this.deps.model, spec, this.state, task, request, stop).catch(
      (err): CompactionOutcome => ({ kind: 'failed', tokens: 0, reason: ensureError(err).message }),
    );
    if (stop.aborted) return;
    if (compaction.kind === 'summarized') {
      // Journaled before it is used: a replay rebuilds the same memory without calling the model.
      const { summary, upTo, tokens, reply } = compaction;
      await this.commit({
        type: 'RecordCompaction',
        summary,
        upTo,
        tokens,
        reply,
        at: clock.now().toISOString(),
      });
      log.info(
        { upTo, tokens, window: spec.memory.contextWindow },
        'memory compacted: older exchanges summarized',
      );
      request = requestFor(this.state.active.get(taskId) ?? task);
    } else if (compaction.kind === 'failed' || compaction.kind === 'nothing-to-compact') {
      const why = compaction.kind === 'failed' ? compaction.reason : 'no older memory left to summarize';
      log.warn(
        { tokens: compaction.tokens, window: spec.memory.contextWindow },
        `memory not compacted: ${why}`,
      );
    }
    log.info({ step, messages: request.messages.length }, 'calling the model');
    const live = this.deps.liveText;
    const shownAs = this.deps.pool?.name ?? this.deps.name; // a pool's live text is the pool's
    const onText = live && ((text: string) => live.publish(shownAs, taskId, { step, text }));
    const outcome = await callModelOnce(this.deps.model, request, spec.modelTimeoutMs, stop, onText);
    if (outcome.ok) {
      // Journaled before anything uses it: after a crash this reply is read back, never requested again.
      const { reply } = outcome;
      await this.commit({
        type: 'RecordReply',
        taskId,
        step,
        reply,
        toolsEnabled: spec.tools.length > 0 || spec.delegation !== undefined,
        maxTurns: spec.maxTurns,
        ...(spec.delegation === undefined
          ? {}
          : {
              delegation: {
                agents: spec.delegation.agents,
                maxDepth: spec.delegation.maxDepth,
                // Results (and so the chain) are the pool's, whichever replica runs the task.
                self: this.deps.pool?.name ?? this.deps.name,
              },
            }),
        ...(spec.budget.maxToolCalls === undefined ? {} : { maxToolCalls: spec.budget.maxToolCalls }),
        at: clock.now().toISOString(),
      });
      log.info({ step, stopReason: reply.stopReason, usage: reply.usage }, 'model reply journaled');
      return;
    }
    if ('abandoned' in outcome) return;
    // The failure is journaled before the wait, so the backoff and the attempt count survive a restart.
    const { error } = outcome;
    const call = task.failedCalls + 1;
    const delayMs = retryDelayMs(spec.retry, call, error.retryAfterMs);
    const at = clock.now();
    const events = await this.commit({
      type: 'RecordModelFailure',
      taskId,
      step,
      error: { code: error.code, message: error.message },
      retryable: error.retryable,
      retryAt: new Date(at.getTime() + delayMs).toISOString(),
      maxCalls: spec.retry.maxAttempts,
      at: at.toISOString(),
    });
    const fields = { step, call, maxAttempts: spec.retry.maxAttempts, code: error.code, err: error.message };
    if (events.some((e) => e.type === 'task.failed')) log.warn(fields, 'model call failed; failing the task');
    else log.warn({ ...fields, delayMs }, 'model call failed; retrying after the backoff');
  }

  /** Aborted when the task is cancelled or fails (deadline), or when this term's work must stop. */
  private stopSignal(taskId: string): AbortSignal {
    let task = this.taskAborts.get(taskId);
    if (task === undefined) {
      task = new AbortController();
      this.taskAborts.set(taskId, task);
    }
    return AbortSignal.any([this.work.signal, task.signal]);
  }

  /** Runs a journaled tool call (again, after a crash: same key) and journals its outcome. */
  private async runTool(effect: Extract<Effect, { type: 'run-tool' }>, log: Logger): Promise<void> {
    const { clock, spec, name } = this.deps;
    const started = Date.now();
    const tool = spec.tools.find((t) => t.name === effect.name);
    const call = openToolCall(this.state, effect.taskId, effect.step, effect.toolUseId);
    const at = clock.now().toISOString();
    const where = { taskId: effect.taskId, step: effect.step, toolUseId: effect.toolUseId };
    if (tool?.requiresApproval === true && call?.approval?.state !== 'approved') {
      const reason = `${tool.name} requires an operator's approval: spool approve ${effect.taskId}, or spool deny ${effect.taskId} --reason "…"`;
      await this.commit({ type: 'RequestApproval', ...where, reason, at });
      log.warn({ tool: tool.name, input: effect.input }, 'tool call waits for approval');
      return;
    }
    // Journaled before it runs, so a crash in the middle is known and never re-run blindly.
    if (tool?.idempotent === false) await this.commit({ type: 'StartTool', ...where, at });
    const signal = this.stopSignal(effect.taskId);
    const outcome = await runTool(spec.tools, effect, { agent: name, taskId: effect.taskId, signal });
    if (signal.aborted) return; // cancelled or stopping: it runs again (same key) if the task goes on
    await this.commit({
      type: 'RecordToolResult',
      taskId: effect.taskId,
      step: effect.step,
      toolUseId: effect.toolUseId,
      content: outcome.content,
      isError: outcome.isError,
      at: clock.now().toISOString(),
    });
    const fields = { tool: effect.name, step: effect.step, key: effect.key, ms: Date.now() - started };
    if (outcome.isError)
      log.warn({ ...fields, err: outcome.content.slice(0, 300) }, 'tool call failed; the model is told');
    else log.info(fields, 'tool result journaled');
  }

  private delegationContext(log: Logger): DelegationContext {
    return {
      submit: this.deps.submit,
      results: this.deps.results,
      commit: (command) => this.commit(command),
      now: () => this.deps.clock.now().toISOString(),
      log,
    };
  }

  private async commit(command: Command): Promise<HistoryEvent[]> {
    if (this.journal === undefined) throw new Error('journal not open');
    try {
      const events = await this.journal.commit(command);
      this.snapshotter.journaled(events.length, this.state);
      return events;
    } catch (err) {
      if (err instanceof CommitTooLargeError && 'taskId' in command && command.type !== 'FailTask') {
        await this.failTooLarge(command.type, command.taskId, err);
        throw err;
      }
      this.journalError ??= err;
      // Another writer owns the history now (or the store failed): nothing more may be written on this view.
      this.work.abort(err);
      this.nudge();
      throw err;
    }
  }

  /**
   * What a task produced does not fit in one NATS message (a reply or tool result of hundreds
   * of KB, journaled with the output it makes): the task fails saying so, and the agent goes on.
   */
  private async failTooLarge(what: string, taskId: string, err: CommitTooLargeError): Promise<void> {
    const message = `${what} would journal ${Math.round(err.bytes / 1024)} KiB in one commit, more than one NATS message holds (the server's max_payload): lower maxTokens, ask for shorter output or make the tool return less, or raise max_payload`;
    this.deps.logger.error({ taskId, bytes: err.bytes }, `task failed: ${message}`);
    await this.commit({
      type: 'FailTask',
      taskId,
      error: { code: ErrorCode.CommitTooLarge, message },
      at: this.deps.clock.now().toISOString(),
    });
  }

  private effectFailed(key: string, err: unknown): void {
    // A commit too large has failed its task already (failTooLarge): nothing to retry.
    if (err instanceof CommitTooLargeError) return;
    if (this.failed || this.work.signal.aborted) return;
    this.deps.logger.warn({ effect: key, err: ensureError(err).message }, 'step failed; it will be retried');
    this.retryAt.set(key, this.deps.clock.now().getTime() + EFFECT_RETRY_MS);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.reconcile(), EFFECT_RETRY_MS);
  }
}
