import { ensureError, IO_RETRY_MS, isKnownTask, parseControlMessage } from '@spool/core/internal';
import type { InboxMessage } from '@spool/jetstream';
import type { AgentContext } from './context.ts';
import { commandFor, DONE, noEffectReason } from './control-commands.ts';
import { finishedLongAgo } from './finished-tasks.ts';

/**
 * Operator commands on `spool.control.<agent>` (pause, resume, cancel, retry, drop, approve,
 * deny): each is journaled before it is acknowledged; a bad one is refused in the log.
 */
export class ControlIntake {
  constructor(private readonly ctx: AgentContext) {}

  /**
   * Commands sent while the agent was down, before anything else: a pause or cancel must not
   * lose a race against the tasks that queued up behind it.
   */
  async obeyWaiting(): Promise<void> {
    const { control, term } = this.ctx;
    try {
      let { queued } = await control.pending();
      while (queued > 0 && !term.intake.aborted) {
        const messages = await control.fetch(Math.min(queued, 100), 1_000, term.stopping);
        if (messages.length === 0) break;
        for (const message of messages) await this.obey(message);
        queued -= messages.length;
      }
    } catch (err) {
      // The listener picks them up; only their order relative to tasks is no longer assured.
      term.logger.warn({ err: ensureError(err).message }, 'could not read waiting control messages first');
    }
  }

  /** Journals operator commands as they arrive, until the term takes no more input. */
  async listen(): Promise<void> {
    const { control, term } = this.ctx;
    while (!term.intake.aborted) {
      let messages: InboxMessage[];
      try {
        messages = await control.fetch(16, this.ctx.fetchExpiresMs, term.stopping);
      } catch (err) {
        if (term.intake.aborted) break;
        term.logger.warn({ err: ensureError(err).message }, 'control pull failed; retrying');
        await term.clock.sleep(IO_RETRY_MS, term.intake).catch(() => undefined);
        continue;
      }
      for (const message of messages) {
        if (term.failed) {
          message.nak();
          continue;
        }
        await this.obey(message).catch((err) => term.retryLater(`control:${message.seq}`, err));
      }
    }
  }

  private async obey(message: InboxMessage): Promise<void> {
    const { term } = this.ctx;
    const parsed = parseControlMessage(message.data);
    if (!parsed.ok) {
      term.logger.warn({ controlSeq: message.seq }, `control message refused: ${parsed.problem}`);
      await message.ack();
      return;
    }
    const order = parsed.message;
    // A cancel for a task id the state does not know is kept until the task arrives, unless
    // the task finished long ago (the state keeps only the newest done ids): its stored result
    // says so, and nothing is recorded. Asked after the state, as the intake does (finished-tasks.ts);
    // a failed look hands the message back and throws.
    if (order.type === 'cancel' && !isKnownTask(term.state, order.taskId)) {
      const finished = await finishedLongAgo(this.ctx, order.taskId).catch((err: unknown) => {
        message.nak(IO_RETRY_MS);
        throw err;
      });
      if (finished) {
        await message.ack();
        term.logger.info(
          { controlSeq: message.seq, taskId: order.taskId },
          'cancel: nothing to do (the task has already finished)',
        );
        return;
      }
    }
    const events = await term.commit(commandFor(order, message.seq, this.ctx.now()));
    if (order.type === 'cancel') this.ctx.abortTask(order.taskId, 'task cancelled');
    await message.ack();
    const log = term.logger.child({
      controlSeq: message.seq,
      ...('taskId' in order ? { taskId: order.taskId } : {}),
    });
    if (events.length === 0) log.info(`${order.type}: nothing to do (${noEffectReason(order, term.state)})`);
    else if (order.type === 'cancel' && !term.state.active.has(order.taskId))
      log.info('cancellation recorded; applies when the task arrives');
    else log.info(DONE[order.type]);
    term.reconcile();
  }
}
