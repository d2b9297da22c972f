import type { ActorLogic, ReplayLogic } from '@spool/actor';
import {
  type AgentEvent,
  type AgentSpec,
  type AgentState,
  type Command,
  decide,
  type Effect,
  evolve,
  fromSnapshot,
  initialState,
  nextAt,
  type Price,
  taskIdOf,
  toSnapshot,
} from '@spool/core/internal';

/**
 * The agent as the kernel runs it: core's pure `decide` / `evolve` / `next` with the spec's
 * limits, group commit across tasks (two decisions about one task never share a commit), and
 * snapshots of the folded state.
 */
export function agentLogic(
  spec: AgentSpec,
  price: Price | undefined,
): ActorLogic<AgentState, Command, AgentEvent, Effect> {
  return {
    decider: {
      initialState,
      decide,
      evolve,
      next: (state, now) =>
        nextAt(state, {
          concurrency: spec.concurrency,
          taskDeadlineMs: spec.taskDeadlineMs,
          now,
          budget: spec.budget,
          price,
        }),
    },
    commits: { group: true, scopeOf: taskIdOf },
    snapshots: { encode: toSnapshot, decode: fromSnapshot },
  };
}

/** What replaying an agent's history needs: its fold and its snapshots (the spec plays no part). */
export const agentReplay: ReplayLogic<AgentState, AgentEvent> = {
  decider: { initialState, evolve },
  snapshots: { encode: toSnapshot, decode: fromSnapshot },
};
