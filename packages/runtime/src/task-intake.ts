import { every } from '@spool/actor';
import {
  type Command,
  ErrorCode,
  ensureError,
  holdsSlot,
  IO_RETRY_MS,
  isDoneTask,
  isKnownTask,
  parseTaskMessage,
  startableNow,
} from '@spool/core/internal';
import type { Inbox, InboxMessage } from '@spool/jetstream';
import type { AgentContext } from './context.ts';
import { finishedLongAgo } from './finished-tasks.ts';
import { LATER_MS } from './pool-intake.ts';
import type { TaskAttempts } from './task-attempts.ts';

/** Longest excerpt of a refused message kept in the history. */
const EXCERPT_CHARS = 500;
/** Deliveries of an inbox message that never got journaled before it is refused as poison. */
const MAX_UNJOURNALED_DELIVERIES = 5;

/**
 * Where tasks come in: the inbox (or a pool's shared one) and the subscriptions. Each message
 * is validated and journaled as a task (`task.received`) or refused (`task.rejected`, with a
 * `rejected` result), and held until its result is out.
 */
export class TaskIntake {
  /** Task ids whose pool claim is being decided (pool siblings asking are told "known"). */
  private readonly admitting = new Set<string>();
  /** Slots given to tasks whose start is being journaled with their arrival (not in the state yet). */
  private startsPromised = 0;

  constructor(private readonly ctx: AgentContext) {}

  /** Pulls one source while there is room for more work, until the term takes no more input. */
  async pump(inbox: Inbox, what: string): Promise<void> {
    const { term, spec } = this.ctx;
    const signal = term.intake;
    while (!signal.aborted) {
      // A task parked on delegations holds no slot: its children (maybe this agent's) can run.
      const busy = [...term.state.active.values()].filter(holdsSlot).length;
      const room = spec.concurrency - busy;
      if (room <= 0) {
        await term.changed();
        continue;
      }
      let messages: InboxMessage[];
      try {
        messages = await inbox.fetch(room, this.ctx.fetchExpiresMs, term.stopping);
      } catch (err) {
        if (signal.aborted) break;
        term.logger.warn({ err: ensureError(err).message }, `${what} pull failed; retrying`);
        await term.clock.sleep(IO_RETRY_MS, signal).catch(() => undefined);
        continue;
      }
      if (term.failed) {
        // This term is over: hand them back at once rather than after the ack wait.
        for (const message of messages) message.nak();
        break;
      }
      // Accepted together: their commands queue in inbox order and share one group commit.
      await Promise.all(
        messages.map((message) => this.accept(message).catch((err) => term.retryLater('accept', err))),
      );
    }
  }

  /** Whether the history has the task or is about to (pool siblings ask). */
  knows(taskId: string): boolean {
    return (
      isKnownTask(this.ctx.term.state, taskId) || this.ctx.held.has(taskId) || this.admitting.has(taskId)
    );
  }

  /** Validates one inbox message and journals it as a task, or refuses it with a `rejected` result. */
  private async accept(message: InboxMessage): Promise<void> {
    const { term, held } = this.ctx;
    const { logger } = term;
    const at = this.ctx.now();
    const parsed = parseTaskMessage(message.data, message.seq);
    const taskId = parsed.ok ? parsed.task.id : parsed.taskId;
    // A redelivered copy may have been counted by an attempt that journaled it and then died.
    const counted = parsed.ok && message.deliveryCount > 1 ? this.ctx.attempts : undefined;
    const done = await this.doneAlready(taskId, message);
    if (done === undefined) return; // handed back
    if (done) {
      logger.info({ taskId, inboxSeq: message.seq }, 'task id already done; message dropped as a duplicate');
      counted?.end(taskId);
      await message.ack();
      return;
    }
    if (isKnownTask(term.state, taskId)) {
      if (!parsed.ok)
        logger.warn(
          { taskId, inboxSeq: message.seq },
          `refused message reuses a known task id: ${parsed.message}`,
        );
      if (this.ctx.keyed !== undefined) {
        counted?.end(taskId);
        await message.ack(); // journaled already
      } else held.hold(taskId, message);
      return;
    }
    const tries = (await this.admit(taskId, message)) ?? (await this.countAttempt(taskId, message, counted));
    if (tries === false) return;
    // Delivered this often without ever being journaled: something between fetch and journal
    // keeps failing on it (or taking the process down). Refuse it rather than loop forever.
    // In a pool, siblings hand messages back without failing: count the replicas' tries instead;
    // a keyed instance counts its own attempts (its deliveries are also spent on routing).
    const poisoned = (tries ?? message.deliveryCount) > MAX_UNJOURNALED_DELIVERIES;
    let command: Command;
    let startNow = false;
    if (parsed.ok && !poisoned) {
      startNow = this.takeSlot();
      command = {
        type: 'ReceiveTask',
        task: parsed.task,
        inboxSeq: message.seq,
        ...(message.trace === undefined ? {} : { trace: message.trace }),
        at,
        ...(startNow ? { startNow: { specHash: this.ctx.specHash } } : {}),
      };
    } else {
      const error = parsed.ok
        ? {
            code: ErrorCode.PoisonMessage,
            message: `delivered ${message.deliveryCount} times${tries === undefined ? '' : ` (${tries} attempts to journal it)`} without being accepted; refused so it cannot block the inbox (retry it with a new task id)`,
          }
        : { code: parsed.code, message: parsed.message };
      logger.warn(
        { taskId, inboxSeq: message.seq, code: error.code },
        `inbox message rejected: ${error.message}`,
      );
      const excerpt = message.data.slice(0, EXCERPT_CHARS);
      command = { type: 'RejectMessage', taskId, inboxSeq: message.seq, error, excerpt, at };
    }
    held.hold(taskId, message);
    let events: Awaited<ReturnType<typeof term.commit>>;
    try {
      events = await term.commit(command);
    } finally {
      if (startNow) this.startsPromised -= 1; // in the state now (or not journaled at all)
    }
    if (events.some((e) => e.type === 'task.received')) this.ctx.spans.received(taskId);
    counted?.end(taskId);
    // A keyed instance holds nothing past the journal: it may be passivated while its task waits.
    if (this.ctx.keyed !== undefined) await Promise.all(held.release(taskId).map((m) => m.ack()));
    if (parsed.ok) logger.info({ taskId, inboxSeq: message.seq }, 'task received');
    if (startNow && term.state.active.get(taskId)?.phase === 'running')
      logger.info({ taskId, attempt: 1 }, 'task started');
    term.reconcile();
  }

  /**
   * A task that would start at once has its start journaled with its arrival: one append less
   * on every task's path (an idle agent's latency is a chain of appends). Counted against the
   * live state and the starts already promised, since every source (the inbox, subscriptions)
   * accepts at the same time and concurrency must hold across them.
   */
  private takeSlot(): boolean {
    if (startableNow(this.ctx.term.state, this.ctx.spec) - this.startsPromised <= 0) return false;
    this.startsPromised += 1;
    return true;
  }

  /**
   * Whether the task id is done: known so to the state, or (not in the state at all) by its
   * stored result. Undefined when the results stream could not say: the message is handed
   * back to come again, never taken for new (that would run a finished task again).
   */
  private async doneAlready(taskId: string, message: InboxMessage): Promise<boolean | undefined> {
    const { term } = this.ctx;
    if (isKnownTask(term.state, taskId)) return isDoneTask(term.state, taskId);
    try {
      if (await finishedLongAgo(this.ctx, taskId)) return true;
    } catch (err) {
      term.logger.warn(
        { taskId, inboxSeq: message.seq, err: ensureError(err).message },
        'could not ask the results stream whether this task id is done; message handed back',
      );
      message.nak(IO_RETRY_MS);
      return undefined;
    }
    // A copy of the message accepted while we looked may have journaled it, even finished it.
    return isDoneTask(term.state, taskId);
  }

  /**
   * A keyed instance's attempt at journaling a redelivered task, counted before it is made (an
   * attempt that takes the process down counts too): the count, or false when it could not be
   * counted (the message is handed back for a moment). Undefined when not counted.
   */
  private async countAttempt(
    taskId: string,
    message: InboxMessage,
    attempts: TaskAttempts | undefined,
  ): Promise<number | false | undefined> {
    if (attempts === undefined) return undefined;
    try {
      return await attempts.begin(taskId);
    } catch (err) {
      this.ctx.term.logger.warn(
        { taskId, inboxSeq: message.seq, err: ensureError(err).message },
        'could not count an attempt at a redelivered task; handed back',
      );
      message.nak(LATER_MS);
      return false;
    }
  }

  /**
   * A pool replica journals a task only if it holds its claim: returns the claim's tries, or
   * false when the message was acked (a sibling has the task) or handed back for a moment.
   * Undefined outside a pool.
   */
  private async admit(taskId: string, message: InboxMessage): Promise<number | false | undefined> {
    const { pool, term } = this.ctx;
    if (pool === undefined) return undefined;
    this.admitting.add(taskId);
    // Asking a sibling (or adopting it) can take a while: keep the message ours meanwhile.
    const keep = new AbortController();
    every(term.clock, this.ctx.keepAliveMs, keep.signal, () => message.working());
    try {
      const admission = await pool.admit(taskId);
      if (admission.kind === 'run') return admission.tries;
      const log = { taskId, inboxSeq: message.seq, why: admission.why };
      if (admission.kind === 'ack') {
        term.logger.info(log, 'task belongs to another replica of the pool; message acked');
        await message.ack();
      } else {
        term.logger.info(log, 'task claimed by another replica that cannot answer yet; handed back');
        message.nak(LATER_MS);
      }
      return false;
    } finally {
      keep.abort();
      this.admitting.delete(taskId);
    }
  }
}
