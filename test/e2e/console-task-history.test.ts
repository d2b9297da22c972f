import { applyCommit, type Command, decide, parseAgentCommit } from '@spool/core/internal';
import { historyStore } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskHistories } from '../../apps/cli/src/console/task-history.ts';
import { taskIndex } from '../../apps/cli/src/console/task-index.ts';
import { type TaskView, taskViewOf } from '../../apps/cli/src/console/task-view.ts';
import { replayAgent } from '../../apps/cli/src/operator/agent-replay.ts';
import { writeHistory } from '../../bench/history.ts';
import { type Broker, startBroker } from '../support/world.ts';

const AGENT = 'folded';
const at = () => new Date().toISOString();

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => broker?.close());

/**
 * The task at each of `seqs` as `spool replay <agent> --until SEQ` folds it: the whole
 * history from the start, every event of every task, up to that sequence.
 */
async function replayedUntil(taskId: string, seqs: readonly number[]) {
  const out: { seq: number; task: TaskView | undefined; agentPaused: boolean }[] = [];
  let view: TaskView | undefined;
  for (const seq of seqs) {
    let paused = false;
    for await (const { state, lastOfCommit } of replayAgent(broker.connection, AGENT, { untilSeq: seq }))
      if (lastOfCommit) {
        view = taskViewOf(state, taskId, view);
        paused = state.paused;
      }
    out.push({ seq, task: view, agentPaused: paused });
  }
  return out;
}

/** The commits that hold an event of `taskId`, by a full replay. */
async function commitsOf(taskId: string): Promise<number[]> {
  const seqs: number[] = [];
  for await (const commit of historyStore(broker.connection, parseAgentCommit).replay(AGENT))
    if (commit.events.some((e) => (e.data as { taskId?: string }).taskId === taskId)) seqs.push(commit.seq);
  return seqs;
}

describe("the console's task histories (incremental) against spool replay --until", () => {
  it('gives each commit of a task the state a full replay gives, and reads only new commits on refresh', async () => {
    const store = historyStore(broker.connection, parseAgentCommit);
    // Two tasks per commit, as concurrent tasks share commits.
    const state = await writeHistory(store, AGENT, 40, { group: 2 });
    const append = async (...commands: Command[]) => {
      const events = commands.flatMap((c) => decide(state, c));
      const { seq } = await store.append(AGENT, events, state.seq);
      applyCommit(state, { seq, events });
      return seq;
    };
    // A task left running, and the agent paused meanwhile.
    await append({ type: 'ReceiveTask', task: { id: 'long', input: 'a long one' }, at: at() });
    await append({ type: 'StartTask', taskId: 'long', specHash: 'h', at: at() });
    const pausedSeq = await append({ type: 'Pause', controlSeq: 1, reason: 'maintenance', at: at() });

    const index = taskIndex(broker.connection);
    const histories = taskHistories(broker.connection, index);
    for (const taskId of ['task-0', 'task-5']) {
      const history = await histories.read(AGENT, taskId);
      const seqs = history?.commits.map((c) => c.seq) ?? [];
      expect(seqs).toEqual(await commitsOf(taskId));
      expect(history?.commits.map(({ seq, task, agentPaused }) => ({ seq, task, agentPaused }))).toEqual(
        await replayedUntil(taskId, seqs),
      );
      // The reply's commit holds task.completed too: the state after it is completed, not running.
      const replied = history?.commits.find((c) => c.events.some((e) => e.type === 'task.completed'));
      expect(replied?.events.map((e) => e.type)).toEqual(['model.responded', 'task.completed']);
      expect(replied?.task?.phase).toBe('completed');
      expect(history?.commits.at(-1)?.task?.phase).toBe('completed');
      expect(history?.commits.at(-3)?.task?.phase).toBe('running');
    }

    const running = await histories.read(AGENT, 'long');
    // The agent's pause is on the page of the task running meanwhile.
    expect(running?.commits.map((c) => c.seq).at(-1)).toBe(pausedSeq);
    expect(running?.commits.at(-1)?.events.map((e) => e.type)).toEqual(['agent.paused']);
    expect(running?.commits.at(-1)?.agentPaused).toBe(true);

    // New commits: a refresh folds them onto what it kept.
    await append({ type: 'Resume', controlSeq: 2, at: at() });
    await append({
      type: 'RecordReply',
      taskId: 'long',
      step: 0,
      reply: {
        model: 'claude-sonnet-4-6',
        content: [{ type: 'text', text: 'done' }],
        stopReason: 'end_turn',
        usage: { inputTokens: 1, outputTokens: 1, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
      },
      at: at(),
    });
    const last = await append({ type: 'MarkPublished', taskId: 'long', at: at() });
    const refreshed = await histories.read(AGENT, 'long');
    const seqs = refreshed?.commits.map((c) => c.seq) ?? [];
    expect(seqs.slice(0, running?.commits.length)).toEqual(running?.commits.map((c) => c.seq));
    expect(seqs.at(-1)).toBe(last);
    expect(refreshed?.historySeq).toBe(last);
    expect(refreshed?.commits.map(({ seq, task, agentPaused }) => ({ seq, task, agentPaused }))).toEqual(
      await replayedUntil('long', seqs),
    );
    expect(refreshed?.commits.at(-1)?.task?.phase).toBe('completed');
    expect(refreshed?.commits.at(-3)?.task?.phase).not.toBe('completed');

    expect(await histories.read(AGENT, 'no-such-task')).toBeUndefined();
  });
});
