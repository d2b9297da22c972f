/**
 * A long agent history for the bench parts, written as an agent writes it: tasks' commands
 * decided on the folded state and appended with the expected sequence, `group` tasks per
 * commit (as concurrent tasks share commits), four commits per task.
 */
import { type AgentState, applyCommit, type Command, decide, initialState } from '@spool/core/internal';
import type { historyStore } from '@spool/jetstream';

type Store = ReturnType<typeof historyStore>;

const REPLY = {
  model: 'claude-sonnet-4-6',
  content: [
    {
      type: 'text' as const,
      text: 'The mean of the values is 3; the standard deviation is 1.414. '.repeat(3),
    },
  ],
  stopReason: 'end_turn',
  usage: { inputTokens: 120, outputTokens: 60, cacheCreationInputTokens: 0, cacheReadInputTokens: 100 },
};

/**
 * Appends about `events` events of tasks `task-0`, `task-1`… to `agent`'s history and returns
 * the folded state (the same object as `options.state`, when given); `afterCommit` sees the state and the events written after each commit.
 */
export async function writeHistory(
  store: Store,
  agent: string,
  events: number,
  options: {
    group?: number;
    afterCommit?: (state: AgentState, written: number) => void;
    /** Goes on from this state (the one returned before) instead of an empty history. */
    state?: AgentState;
  } = {},
): Promise<AgentState> {
  const group = options.group ?? 1;
  const state = options.state ?? initialState(agent);
  let written = 0;
  let task = state.counts.received;
  const at = new Date().toISOString();
  while (written < events) {
    const ids = Array.from({ length: group }, () => `task-${task++}`);
    const phases: ((id: string, n: number) => Command)[] = [
      (id, n) => ({
        type: 'ReceiveTask',
        task: { id, input: `Analyze dataset ${n}: [1,2,3,4,5]. Mean?` },
        at,
      }),
      (id) => ({ type: 'StartTask', taskId: id, specHash: 'bench', at }),
      (id) => ({ type: 'RecordReply', taskId: id, step: 0, reply: REPLY, at }),
      (id) => ({ type: 'MarkPublished', taskId: id, at }),
    ];
    for (const phase of phases) {
      const commit = ids.flatMap((id, i) => decide(state, phase(id, task - group + i)));
      const appended = await store.append(agent, commit, state.seq);
      applyCommit(state, { seq: appended.seq, events: commit });
      written += commit.length;
      options.afterCommit?.(state, written);
    }
  }
  return state;
}
