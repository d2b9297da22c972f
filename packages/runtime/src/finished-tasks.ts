import { finishedCount, instanceName, RECENTLY_DONE_KEEP } from '@spool/core/internal';
import { type AgentContext, publicName } from './context.ts';

/**
 * Whether a task id finished long ago: not in the state (which keeps only the newest done ids,
 * RECENTLY_DONE_KEEP) but with a result on SPOOL_RESULTS, which holds one subject per task id
 * for ever. That stream is the record behind "same id, one task": the state stays flat however
 * many tasks the agent has run.
 *
 * Ask it only after the state said "unknown", never before: a task leaves the state (its
 * `result.published` is journaled) only once its result is stored, so a task that finishes
 * while we look is seen by one or the other. Asked the other way round, a task could finish
 * after a "no result" and be gone from the state when we look there: taken for new, it would
 * run again. Throws when the stream cannot answer: the caller hands the message back rather
 * than guess.
 */
export async function finishedLongAgo(ctx: AgentContext, taskId: string): Promise<boolean> {
  // A key's first activation: what its state does not know, the key never finished (one round
  // trip less on every new key's task).
  if (ctx.keyed?.firstActivation === true && finishedCount(ctx.term.state) < RECENTLY_DONE_KEEP) return false;
  return ctx.results.published(resultsWhere(ctx), taskId);
}

/** Where the agent's results go: its own name, its pool's, or a keyed instance's `<agent>.<key>`. */
export function resultsWhere(ctx: Pick<AgentContext, 'name' | 'pool' | 'keyed'>): string {
  return ctx.keyed === undefined ? publicName(ctx) : instanceName(ctx.keyed.agent, ctx.keyed.key);
}
