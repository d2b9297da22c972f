import type { CoordinatorState, StepRun, TaskRef, WorkflowRun } from './state.ts';

/** The shape of a coordinator snapshot's state; a change to CoordinatorState bumps it. */
export const COORDINATOR_STATE_VERSION = 1;

interface Encoded {
  readonly stateVersion: number;
  readonly seq: number;
  readonly workflows: (Omit<WorkflowRun, 'steps'> & { steps: StepRun[] })[];
  readonly tasks: [string, TaskRef][];
  readonly published: string[];
}

/** The coordinator's state as JSON (its Maps as arrays), for a snapshot. */
export function coordinatorToSnapshot(state: CoordinatorState): Encoded {
  return {
    stateVersion: COORDINATOR_STATE_VERSION,
    seq: state.seq,
    workflows: [...state.workflows.values()].map((run) => ({ ...run, steps: [...run.steps.values()] })),
    tasks: [...state.tasks],
    published: [...state.published],
  };
}

/** A snapshot's state, or why it cannot be used (another state version, not a coordinator snapshot). */
export function coordinatorFromSnapshot(
  data: unknown,
  name: string,
): { state: CoordinatorState } | { problem: string } {
  const encoded = data as Partial<Encoded> | null;
  const version = encoded?.stateVersion;
  if (version !== COORDINATOR_STATE_VERSION)
    return {
      problem: `it was written by coordinator state version ${String(version)}, this code folds version ${COORDINATOR_STATE_VERSION}`,
    };
  if (
    typeof encoded?.seq !== 'number' ||
    !Array.isArray(encoded.workflows) ||
    !Array.isArray(encoded.tasks) ||
    !Array.isArray(encoded.published)
  )
    return { problem: `it is not a snapshot of ${name}'s workflows` };
  return {
    state: {
      seq: encoded.seq,
      workflows: new Map(
        encoded.workflows.map((run) => [
          run.id,
          { ...run, steps: new Map(run.steps.map((s) => [s.name, s])) },
        ]),
      ),
      tasks: new Map(encoded.tasks),
      published: [...encoded.published],
    },
  };
}
