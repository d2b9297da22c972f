import { COORDINATOR, ensureError, IO_RETRY_MS, type TaskResult } from '@spool/core/internal';
import type { ResultsWatch } from '@spool/jetstream';
import type { WorkflowContext } from './context.ts';

/** Stored results looked up in parallel when a term starts (one per task still running). */
const LOOKUPS_AT_ONCE = 32;

/**
 * The stored results of tasks still running in the replayed state: published while no
 * coordinator watched (or before this term's watch began). Seen twice is harmless: decide
 * ignores a result already journaled.
 */
export async function catchUpResults(ctx: WorkflowContext): Promise<void> {
  const { term } = ctx;
  const running = [
    ...[...term.state.workflows.values()].flatMap((run) =>
      [...run.steps.values()].flatMap((step) => step.tasks.filter((task) => task.status === 'running')),
    ),
    // Open fires of schedules that start agent tasks (a workflow run's end is the coordinator's own).
    ...[...term.state.schedules.values()].flatMap((schedule) =>
      schedule.fires.flatMap((fire) =>
        fire.status === 'running' && fire.agent !== undefined
          ? [{ agent: fire.agent, taskId: fire.fireId }]
          : [],
      ),
    ),
  ];
  let found = 0;
  for (let i = 0; i < running.length && !term.intake.aborted; i += LOOKUPS_AT_ONCE) {
    const stored = await Promise.all(
      running.slice(i, i + LOOKUPS_AT_ONCE).map((task) => ctx.results.get(task.agent, task.taskId)),
    );
    for (const result of stored) if (result !== undefined && (await record(ctx, result))) found += 1;
  }
  if (found > 0)
    term.logger.info({ results: found }, 'results published while no coordinator watched journaled');
}

/**
 * Task results of the workflows' tasks, journaled as they are seen (replayed ones are ignored
 * by decide). A watch that ends on an error ends the term: the next one replays and watches again.
 */
export async function observeResults(ctx: WorkflowContext, watch: ResultsWatch): Promise<void> {
  const { term } = ctx;
  try {
    for await (const { result } of watch) {
      if (term.intake.aborted) break;
      if (result.agent === COORDINATOR) continue;
      if (!term.state.tasks.has(result.taskId) && !term.state.fires.has(result.taskId)) continue;
      await record(ctx, result);
      term.reconcile();
    }
  } catch (err) {
    if (!term.intake.aborted)
      term.logger.error({ err: ensureError(err).message }, 'results watch ended; the term stops and replays');
    term.end(err);
  }
}

/** Journals one step task's result, retrying a failed append; true when it was new. */
async function record(ctx: WorkflowContext, result: TaskResult): Promise<boolean> {
  const { term } = ctx;
  for (;;) {
    try {
      const events = await term.commit({ type: 'ObserveResult', result, at: ctx.now() });
      if (events.length > 0)
        term.logger.info(
          { taskId: result.taskId, agent: result.agent, status: result.status },
          events[0]?.type === 'schedule.fire_finished'
            ? 'scheduled task result journaled'
            : 'step task result journaled',
        );
      return events.length > 0;
    } catch (err) {
      if (term.intake.aborted) return false;
      term.logger.warn(
        { taskId: result.taskId, err: ensureError(err).message },
        'task result not journaled; retrying',
      );
      await term.clock.sleep(IO_RETRY_MS, term.intake).catch(() => undefined);
    }
  }
}
