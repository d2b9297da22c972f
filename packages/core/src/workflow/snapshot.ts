import type { ScheduleState } from '../schedule/state.ts';
import type { CoordinatorState, StepRun, TaskRef, WorkflowRun } from './state.ts';

/** The shape of a coordinator snapshot's state; a change to CoordinatorState bumps it. */
export const COORDINATOR_STATE_VERSION = 2;
/** Version 1 had no schedules: it still decodes, with none. */
const VERSIONS_READ = [1, COORDINATOR_STATE_VERSION];

interface Encoded {
  readonly stateVersion: number;
  readonly seq: number;
  readonly workflows: (Omit<WorkflowRun, 'steps'> & { steps: StepRun[] })[];
  readonly tasks: [string, TaskRef][];
  readonly published: string[];
  readonly schedules?: ScheduleState[];
  readonly fires?: [string, string][];
  readonly scheduleControlSeq?: number;
}

/** The coordinator's state as JSON (its Maps as arrays), for a snapshot. */
export function coordinatorToSnapshot(state: CoordinatorState): Encoded {
  return {
    stateVersion: COORDINATOR_STATE_VERSION,
    seq: state.seq,
    workflows: [...state.workflows.values()].map((run) => ({ ...run, steps: [...run.steps.values()] })),
    tasks: [...state.tasks],
    published: [...state.published],
    schedules: [...state.schedules.values()],
    fires: [...state.fires],
    scheduleControlSeq: state.scheduleControlSeq,
  };
}

/** A snapshot's state, or why it cannot be used (another state version, not a coordinator snapshot). */
export function coordinatorFromSnapshot(
  data: unknown,
  name: string,
): { state: CoordinatorState } | { problem: string } {
  const encoded = data as Partial<Encoded> | null;
  const version = encoded?.stateVersion;
  if (!VERSIONS_READ.includes(version as number))
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
      schedules: new Map((encoded.schedules ?? []).map((schedule) => [schedule.name, schedule])),
      fires: new Map(encoded.fires ?? []),
      scheduleControlSeq: encoded.scheduleControlSeq ?? 0,
    },
  };
}
