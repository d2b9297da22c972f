import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.ts';
import { zeroUsage } from '../usage.ts';
import { type CoordinatorCommand, decideCoordinator } from './decide.ts';
import { coordinatorFromSnapshot, coordinatorToSnapshot } from './snapshot.ts';
import { applyCoordinatorCommit, FINISHED_RUNS_KEPT, initialCoordinatorState } from './state.ts';

const at = '2026-11-29T04:00:00.000Z';
const config = parseConfig({
  agents: { echo: { instructions: 'Echo.', model: 'claude-sonnet-4-6' } },
  workflows: { one: { steps: { say: { agent: 'echo', input: '{{input}}' } } } },
});
const definition = config.workflows.one;

/** Runs `count` one-step workflows to the end (started, its task finished, its result published). */
function finishRuns(count: number, from = 0) {
  const state = initialCoordinatorState();
  let seq = 0;
  const run = (command: CoordinatorCommand) => {
    const events = decideCoordinator(state, command);
    if (events.length > 0) applyCoordinatorCommit(state, { seq: ++seq, events });
  };
  for (let i = from; i < from + count; i++) {
    const workflowId = `wf-${i}`;
    run({ type: 'StartWorkflow', workflowId, workflow: 'one', input: `hi ${i}`, definition, at });
    const taskId = [...state.tasks.keys()].find((id) => id.startsWith(`${workflowId}:`)) as string;
    run({
      type: 'ObserveResult',
      result: {
        taskId,
        agent: 'echo',
        status: 'completed',
        output: `hi ${i}`,
        usage: zeroUsage(),
        steps: 1,
        attempts: 1,
        finishedAt: at,
      },
      at,
    });
    run({ type: 'MarkPublished', workflowId, resultSeq: i + 1, at });
  }
  return state;
}

describe('coordinator snapshot - the state stays flat however many runs have finished', () => {
  it('keeps the runs in flight and the newest FINISHED_RUNS_KEPT published ones, with their task ids', () => {
    const state = finishRuns(FINISHED_RUNS_KEPT + 25);
    expect(state.workflows.size).toBe(FINISHED_RUNS_KEPT);
    expect(state.published).toHaveLength(FINISHED_RUNS_KEPT);
    expect(state.workflows.has('wf-0')).toBe(false);
    expect(state.workflows.has('wf-24')).toBe(false);
    expect(state.workflows.has('wf-25')).toBe(true);
    expect(state.tasks.size).toBe(FINISHED_RUNS_KEPT);
    expect([...state.tasks.values()].every((ref) => state.workflows.has(ref.workflowId))).toBe(true);
  });

  it('round-trips through JSON exactly, and refuses another state version', () => {
    const state = finishRuns(30);
    const running = decideCoordinator(state, {
      type: 'StartWorkflow',
      workflowId: 'wf-open',
      workflow: 'one',
      input: 'still running',
      definition,
      at,
    });
    applyCoordinatorCommit(state, { seq: state.seq + 1, events: running });
    const stored = JSON.parse(JSON.stringify(coordinatorToSnapshot(state)));
    const restored = coordinatorFromSnapshot(stored, 'coordinator');
    if (!('state' in restored)) throw new Error(restored.problem);
    expect(restored.state).toEqual(state);
    expect(coordinatorToSnapshot(restored.state)).toEqual(stored);
    expect(coordinatorFromSnapshot({ ...stored, stateVersion: 0 }, 'coordinator')).toMatchObject({
      problem: expect.stringContaining('state version 0'),
    });
  });
});
