import type { CoordinatorState, StatusReport, WorkflowProgress, WorkflowRun } from '@spool/core/internal';

/** Finished workflows listed in a status report after the running ones. */
export const RECENT_WORKFLOWS = 5;
/** Most running workflows listed in one status report (the counts cover them all). */
export const RUNNING_WORKFLOWS_CAP = 50;

/**
 * The workflow part of a status report, from the coordinator actor's state (or the history a
 * standby watches): every running workflow with each step's progress, then the newest finished.
 */
export function workflowStatus(
  state: CoordinatorState,
  recent = RECENT_WORKFLOWS,
): Pick<StatusReport, 'workflows' | 'workflowCounts'> {
  const counts = { running: 0, completed: 0, failed: 0, cancelled: 0, rejected: 0 };
  const running: WorkflowRun[] = [];
  const finished: WorkflowRun[] = [];
  for (const run of state.workflows.values()) {
    counts[run.status] += 1;
    (run.status === 'running' ? running : finished).push(run);
  }
  const newestFirst = (a: WorkflowRun, b: WorkflowRun) => b.startedAt.localeCompare(a.startedAt);
  running.sort(newestFirst);
  finished.sort((a, b) => (b.finishedAt ?? b.startedAt).localeCompare(a.finishedAt ?? a.startedAt));
  return {
    workflows: [...running.slice(0, RUNNING_WORKFLOWS_CAP), ...finished.slice(0, recent)].map(progressOf),
    workflowCounts: counts,
  };
}

export function progressOf(run: WorkflowRun): WorkflowProgress {
  const steps = [...run.steps.values()].map((step) => {
    const spec = run.definition.steps[step.name];
    // A map step's total is known once its items are; until then (or for a plain step) its tasks.
    const total = step.items?.length ?? Math.max(step.tasks.length, spec?.map === undefined ? 1 : 0);
    const count = (status: string) => step.tasks.filter((t) => t?.status === status).length;
    return {
      name: step.name,
      agent: spec?.agent ?? '',
      status: step.status,
      ...(spec?.map === undefined ? {} : { map: spec.map }),
      tasks: {
        done: count('completed'),
        running: count('running'),
        failed: count('failed') + count('cancelled'),
        total,
      },
      attempts: step.tasks.reduce((most, t) => Math.max(most, t?.attempt ?? 0), 0),
    };
  });
  return {
    id: run.id,
    workflow: run.workflow,
    status: run.status,
    startedAt: run.startedAt,
    ...(run.finishedAt === undefined ? {} : { finishedAt: run.finishedAt }),
    ...(run.error === undefined ? {} : { error: { code: run.error.code, message: run.error.message } }),
    steps,
  };
}
