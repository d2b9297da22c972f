import type { ActorLogic } from '@spool/actor';
import {
  type CoordinatorCommand,
  type CoordinatorEffect,
  type CoordinatorEvent,
  type CoordinatorState,
  coordinatorFromSnapshot,
  coordinatorToSnapshot,
  decideCoordinator,
  evolveCoordinator,
  initialCoordinatorState,
  nextCoordinator,
} from '@spool/core/internal';

/**
 * The workflow actor as the kernel runs it: core's pure coordinator decider, one command per
 * commit (workflows are few and slow next to their tasks, and each decision is made on the
 * state the one before led to), snapshots of its state (runs in flight and the newest
 * published ones: core's FINISHED_RUNS_KEPT), so its start-up is flat in its history.
 */
export const workflowLogic: ActorLogic<
  CoordinatorState,
  CoordinatorCommand,
  CoordinatorEvent,
  CoordinatorEffect
> = {
  decider: {
    initialState: () => initialCoordinatorState(),
    decide: decideCoordinator,
    evolve: evolveCoordinator,
    next: (state, now) => {
      const { effects, wakeAt } = nextCoordinator(state, now);
      // Just past the timeout: a task times out once the clock is strictly beyond it.
      return wakeAt === undefined ? { effects } : { effects, wakeAt: wakeAt + 1 };
    },
  },
  commits: { group: false },
  snapshots: { encode: coordinatorToSnapshot, decode: coordinatorFromSnapshot },
};
