import type { Command } from './commands.ts';
import { decide } from './decide.ts';
import { applyCommit } from './evolve.ts';
import { type AgentState, initialState } from './state.ts';

/**
 * Given these commands, each decided and applied in order as the runtime would (one commit
 * per command), the state they lead to. For given/when/then tests of the agent's logic.
 */
export function given(...commands: Command[]): AgentState {
  const state = initialState('analyst');
  let seq = 0;
  for (const command of commands) {
    const events = decide(state, command);
    if (events.length > 0) applyCommit(state, { seq: ++seq, events });
  }
  return state;
}
