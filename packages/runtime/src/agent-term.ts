import { type DecisionTooLargeError, every, type Restored, type Term, type TermHandlers } from '@spool/actor';
import {
  type AgentEvent,
  type AgentState,
  type Command,
  type Effect,
  ErrorCode,
  ensureError,
} from '@spool/core/internal';
import { type AgentContext, type AgentPorts, observedName } from './context.ts';
import { ControlIntake } from './control-intake.ts';
import { awaitDelegation, delegationContext, sendDelegation } from './delegation.ts';
import { HeldMessages } from './held-messages.ts';
import { modelStep } from './model-step.ts';
import { markInterrupted, recordSpec } from './recovery.ts';
import { TaskIntake } from './task-intake.ts';
import { TaskSpans } from './task-spans.ts';
import { failTask, publishResult, startTask } from './task-steps.ts';
import { fireTimer } from './timer-step.ts';
import { toolStep } from './tool-step.ts';

/**
 * The agent in one term, as the kernel's handlers: its inputs (inbox, subscriptions, control),
 * what it journals first after a takeover (recovery.ts), and one handler per effect of core's
 * `next` (start a task, call the model, run a tool, delegate, fail, publish).
 */
export class AgentTerm implements TermHandlers<AgentState, Command, AgentEvent, Effect> {
  private readonly ctx: AgentContext;
  private readonly tasks: TaskIntake;
  private readonly control: ControlIntake;
  /** Aborts what runs for a task (model call, tools) when it is cancelled; dropped once its result is out. */
  private readonly taskAborts = new Map<string, AbortController>();
  private readonly keepAlive = new AbortController();

  constructor(
    ports: AgentPorts,
    private readonly term: Term<AgentState, Command, AgentEvent>,
  ) {
    const work = term.work;
    this.ctx = {
      ...ports,
      term,
      held: new HeldMessages(),
      spans: new TaskSpans(observedName(ports), ports.spec.model, () => term.state, ports.keyed?.key),
      stopSignal: (taskId) => {
        let task = this.taskAborts.get(taskId);
        if (task === undefined) {
          task = new AbortController();
          this.taskAborts.set(taskId, task);
        }
        return AbortSignal.any([work, task.signal]);
      },
      abortTask: (taskId, reason) => this.taskAborts.get(taskId)?.abort(new Error(reason)),
      forgetTask: (taskId) => this.taskAborts.delete(taskId),
      now: () => term.clock.now().toISOString(),
    };
    this.tasks = new TaskIntake(this.ctx);
    this.control = new ControlIntake(this.ctx);
  }

  /** Whether this writer's history has the task or is about to (pool siblings ask); undefined once the term failed. */
  knows(taskId: string): boolean | undefined {
    return this.term.failed ? undefined : this.tasks.knows(taskId);
  }

  replayed(restored: Restored<AgentState>, ms: number): void {
    const { state, logger } = this.term;
    const unfinished = state.active.size;
    // A keyed agent's instance: one of thousands activated and passivated (its host sums them up).
    logger[this.ctx.keyed === undefined ? 'info' : 'debug'](
      {
        seq: state.seq,
        fromSnapshot: restored.fromSnapshot,
        replayedCommits: restored.replayed,
        unfinished,
        paused: state.paused,
        ms,
        specHash: this.ctx.specHash,
      },
      unfinished > 0 ? `history replayed; resuming ${unfinished} unfinished task(s)` : 'history replayed',
    );
    if (state.paused) logger.warn('agent is paused: it queues tasks and starts none until resumed');
  }

  async begin(): Promise<void> {
    every(this.term.clock, this.ctx.keepAliveMs, this.keepAlive.signal, () => this.ctx.held.keepAlive());
    // Commands sent while the agent was down go first: a pause or cancel must not lose a
    // race against the tasks that queued up behind it.
    await recordSpec(this.ctx);
    await this.control.obeyWaiting();
    await markInterrupted(this.ctx);
  }

  async intake(): Promise<void> {
    const { inbox, subscriptions, spec } = this.ctx;
    await Promise.all([
      this.tasks.pump(inbox, 'inbox'),
      ...subscriptions.map((source, i) =>
        this.tasks.pump(source, `subscription ${spec.subscriptions[i]?.name}`),
      ),
      this.control.listen(),
    ]);
  }

  end(): void {
    this.keepAlive.abort();
    this.ctx.spans.interrupted();
    this.ctx.held.handBack();
  }

  key(effect: Effect): string {
    if (effect.type === 'call-model') return `${effect.type}:${effect.taskId}:${effect.step}`;
    // One run (or one waiter) per tool call.
    if ('toolUseId' in effect) return `${effect.type}:${effect.taskId}:${effect.toolUseId}`;
    return `${effect.type}:${effect.taskId}`;
  }

  /** Stopping: what finished is still published (and its messages acked); nothing new starts. */
  runsWhileDraining(effect: Effect): boolean {
    return effect.type === 'publish-result';
  }

  async run(effect: Effect): Promise<void> {
    const ctx = this.ctx;
    const log = this.term.logger.child({ taskId: effect.taskId });
    switch (effect.type) {
      case 'start-task':
        return startTask(ctx, effect, log);
      case 'call-model':
        return modelStep(ctx, effect.taskId, effect.step, log);
      case 'run-tool':
        return toolStep(ctx, effect, log);
      case 'send-delegation':
        return sendDelegation(delegationContext(ctx, log), effect);
      case 'await-delegation': {
        // Not the grace period's signal: a wait on another agent must not hold up a stop.
        const signal = AbortSignal.any([this.term.stopping, ctx.stopSignal(effect.taskId)]);
        return awaitDelegation(delegationContext(ctx, log), effect, signal);
      }
      case 'fire-timer':
        return fireTimer(ctx, effect, log);
      case 'fail-task':
        return failTask(ctx, effect, log);
      case 'publish-result':
        return publishResult(ctx, effect, log);
      default: {
        const unknown: never = effect;
        throw new Error(`unknown effect ${JSON.stringify(unknown)}`);
      }
    }
  }

  effectFailed(key: string, err: unknown): void {
    this.term.logger.warn({ effect: key, err: ensureError(err).message }, 'step failed; it will be retried');
  }

  /**
   * What a task produced does not fit in one NATS message (a reply or tool result of hundreds
   * of KB, journaled with the output it makes): the task fails saying so, and the agent goes
   * on. A decision about no task that is too large ends the term (it replays).
   */
  async tooLarge(command: Command, err: DecisionTooLargeError<AgentEvent>): Promise<AgentEvent[]> {
    if (!('taskId' in command) || command.type === 'FailTask') {
      this.term.fail(err);
      throw err;
    }
    const { taskId } = command;
    const message = `${command.type} would journal ${Math.round(err.bytes / 1024)} KiB in one commit, more than one NATS message holds (the server's max_payload): lower maxTokens, ask for shorter output or make the tool return less, or raise max_payload`;
    this.term.logger.error({ taskId, bytes: err.bytes }, `task failed: ${message}`);
    await this.term.commit({
      type: 'FailTask',
      taskId,
      error: { code: ErrorCode.CommitTooLarge, message },
      at: this.ctx.now(),
    });
    throw err;
  }
}
