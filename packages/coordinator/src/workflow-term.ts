import type { DecisionTooLargeError, Restored, Term, TermHandlers } from '@spool/actor';
import {
  type CoordinatorCommand,
  type CoordinatorEffect,
  type CoordinatorEvent,
  type CoordinatorState,
  ErrorCode,
  ensureError,
  type WorkflowRun,
} from '@spool/core/internal';
import { type ResultsWatch, watchResults } from '@spool/jetstream';
import type { WorkflowContext } from './context.ts';
import { catchUpResults, observeResults } from './result-intake.ts';
import { logScheduleEvents, runScheduleEffect } from './schedule-effects.ts';
import { runWorkflowEffect } from './workflow-effects.ts';
import { pumpWorkflowInput } from './workflow-intake.ts';
import { WorkflowSpans } from './workflow-spans.ts';

/** Advance decisions in a row after one command (each dispatch can make more steps ready). */
const MAX_ADVANCES = 50;

type Ports = Omit<WorkflowContext, 'term' | 'now' | 'spans'>;

/**
 * The workflow actor in one term, as the kernel's handlers: its inputs (starts, cancels, task
 * results), one handler for each effect of core's `nextCoordinator`, and after each journaled
 * input the workflows advance (core's `Advance`: whatever became ready is dispatched).
 */
export class WorkflowTerm
  implements TermHandlers<CoordinatorState, CoordinatorCommand, CoordinatorEvent, CoordinatorEffect>
{
  private readonly ctx: WorkflowContext;
  private watch: ResultsWatch | undefined;

  constructor(
    ports: Ports,
    private readonly term: Term<CoordinatorState, CoordinatorCommand, CoordinatorEvent>,
  ) {
    const spans = new WorkflowSpans(() => term.state);
    this.ctx = { ...ports, term, spans, now: () => term.clock.now().toISOString() };
  }

  replayed(restored: Restored<CoordinatorState>, ms: number): void {
    const { state, logger } = this.term;
    const open = [...state.workflows.values()].filter((run) => !isDone(run)).length;
    logger.info(
      {
        seq: state.seq,
        fromSnapshot: restored.fromSnapshot,
        replayedCommits: restored.replayed,
        ms,
        running: open,
      },
      open > 0
        ? `coordinator history replayed; resuming ${open} workflow(s)`
        : 'coordinator history replayed',
    );
  }

  async begin(): Promise<void> {
    const { term } = this;
    // Results from now on; those published while no coordinator watched are looked up by task
    // id below, so a term's start does not read the whole results stream (it only grows).
    const watch = await watchResults(this.ctx.connection, term.logger, { from: 'now' });
    this.watch = watch;
    if (term.intake.aborted) void watch.stop();
    else term.intake.addEventListener('abort', () => void watch.stop(), { once: true });
    // The config's schedules as the history knows them: a change applies from the next fire.
    const configured = await term.commit({
      type: 'ConfigureSchedules',
      schedules: this.ctx.schedules,
      at: this.ctx.now(),
    });
    logScheduleEvents(this.ctx, configured);
    await catchUpResults(this.ctx);
    // Journaled but unfinished effects (a send not marked sent, a result not published) resume first.
    await this.advance();
  }

  async intake(): Promise<void> {
    const watch = this.watch;
    await Promise.all([
      pumpWorkflowInput(this.ctx, 'inbox'),
      pumpWorkflowInput(this.ctx, 'control'),
      ...(watch === undefined ? [] : [observeResults(this.ctx, watch)]),
    ]);
  }

  async end(): Promise<void> {
    this.ctx.spans.interrupted();
    await this.watch?.stop();
  }

  key(effect: CoordinatorEffect): string {
    if (effect.type === 'fire-schedule') return `${effect.type}:${effect.schedule}`;
    if (effect.type === 'send-fire') return `${effect.type}:${effect.fireId}`;
    return `${effect.type}:${'taskId' in effect ? effect.taskId : effect.workflowId}`;
  }

  run(effect: CoordinatorEffect): Promise<void> {
    if (effect.type === 'fire-schedule' || effect.type === 'send-fire')
      return runScheduleEffect(this.ctx, effect);
    return runWorkflowEffect(this.ctx, effect);
  }

  effectFailed(key: string, err: unknown): void {
    this.term.logger.warn(
      { effect: key, err: ensureError(err).message },
      'workflow effect failed; it will be retried',
    );
  }

  /** Every journaled input may let the workflows move on: advance them. */
  async committed(command: CoordinatorCommand, events: readonly CoordinatorEvent[]): Promise<void> {
    this.ctx.spans.observe(events);
    if (command.type !== 'Advance') await this.advance();
  }

  /**
   * A decision too large to journal (its step outputs are too big to carry) fails the
   * workflow it is about, with what happened; the other workflows go on. An Advance about
   * several workflows is tried again for each alone, so only the one too large fails.
   */
  async tooLarge(
    command: CoordinatorCommand,
    err: DecisionTooLargeError<CoordinatorEvent>,
  ): Promise<CoordinatorEvent[]> {
    if (command.type === 'FailWorkflow' || command.type === 'RejectWorkflow') throw err;
    if (
      command.type === 'ConfigureSchedules' ||
      command.type === 'FireSchedule' ||
      command.type === 'MarkFireSent' ||
      command.type === 'ControlSchedule'
    ) {
      // A fire's input (its template with {{lastOutput}}) too large to journal: the schedule says so and waits.
      this.term.logger.error(
        { command: command.type, bytes: err.bytes },
        "a schedule decision is too large to journal (its rendered input is too big); shorten the schedule's input",
      );
      throw err;
    }
    const { term } = this;
    const workflowIds = [
      ...new Set(err.events.map((e) => String((e.data as { workflowId?: unknown }).workflowId))),
    ];
    if (command.type === 'Advance' && command.workflowId === undefined && workflowIds.length > 1) {
      const events: CoordinatorEvent[] = [];
      for (const workflowId of workflowIds)
        events.push(...(await term.commit({ type: 'Advance', workflowId, at: this.ctx.now() })));
      return events;
    }
    const message = `what the coordinator decided next (${command.type}) takes ${Math.round(err.bytes / 1024)} KiB, more than one NATS message holds (the server's max_payload): the inputs and outputs it carries are too large; make them smaller (fewer map items, shorter outputs) or raise max_payload`;
    const error = { code: ErrorCode.CommitTooLarge, message };
    for (const workflowId of workflowIds) {
      term.logger.error({ workflowId, bytes: err.bytes }, `workflow failed: ${message}`);
      // A start too large to journal is rejected (its sender gets a result); a running workflow fails.
      await term.commit(
        command.type === 'StartWorkflow'
          ? {
              type: 'RejectWorkflow',
              workflowId,
              workflow: command.workflow,
              error,
              inboxSeq: command.inboxSeq,
              at: this.ctx.now(),
            }
          : { type: 'FailWorkflow', workflowId, error, at: this.ctx.now() },
      );
    }
    return [];
  }

  /** Dispatches whatever became ready, until nothing more does. */
  private async advance(): Promise<void> {
    for (let i = 0; i < MAX_ADVANCES; i++) {
      const events = await this.term.commit({ type: 'Advance', at: this.ctx.now() });
      if (events.length === 0) return;
      logEvents(this.term.logger, events);
    }
  }
}

function logEvents(
  logger: Term<unknown, unknown, unknown>['logger'],
  events: readonly CoordinatorEvent[],
): void {
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

/** Finished and its result published: nothing left to do for it. */
function isDone(run: WorkflowRun): boolean {
  return run.status !== 'running' && run.published;
}
