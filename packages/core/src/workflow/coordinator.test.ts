import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../agent-events.ts';
import { parseConfig } from '../config.ts';
import { parseCoordinatorCommit } from '../history.ts';
import type { TaskResult } from '../result.ts';
import { zeroUsage } from '../usage.ts';
import { type CoordinatorCommand, decideCoordinator } from './decide.ts';
import type { WorkflowDef, WorkflowDefInput } from './definition.ts';
import type { CoordinatorEvent } from './events.ts';
import { nextCoordinator, workflowResult, workflowView } from './next.ts';
import {
  applyCoordinatorCommit,
  type CoordinatorState,
  cloneCoordinatorState,
  evolveCoordinator,
  initialCoordinatorState,
} from './state.ts';

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const at = (seconds = 0) => new Date(T0 + seconds * 1000).toISOString();
const agent = { instructions: 'You help.', model: 'claude-sonnet-4-6' };

function definition(def: WorkflowDefInput): WorkflowDef {
  const config = parseConfig({
    agents: { researcher: agent, writer: agent, reviewer: agent },
    workflows: { w: def },
  });
  return config.workflows.w as WorkflowDef;
}

const research = definition({
  steps: {
    plan: { agent: 'researcher', input: 'List subtopics of {{input}}' },
    dig: { agent: 'researcher', map: 'plan', input: 'Research {{item}} (part {{index}} of {{input}})' },
    draft: { agent: 'writer', input: 'Write from: {{steps.dig.output}}' },
  },
});

/**
 * The coordinator's logic as its process drives it: each command decided, its events
 * round-tripped through the history schema (as the journal stores them) and applied as one
 * commit. `log` keeps every commit so a test can replay the history from scratch.
 */
class Coordinator {
  readonly state: CoordinatorState = initialCoordinatorState();
  readonly log: { seq: number; events: CoordinatorEvent[] }[] = [];

  run(command: CoordinatorCommand): CoordinatorEvent[] {
    const events = decideCoordinator(this.state, command);
    if (events.length === 0) return events;
    const stored = parseCoordinatorCommit(JSON.parse(JSON.stringify({ v: 1, events })));
    const commit = { seq: this.log.length + 1, events: stored.events };
    this.log.push(commit);
    applyCoordinatorCommit(this.state, commit);
    return events;
  }

  /** Every task id dispatched and not yet sent gets sent (as the process does with send-task effects). */
  sendAll(seconds = 0): void {
    for (const effect of nextCoordinator(this.state, new Date(T0 + seconds * 1000)).effects)
      if (effect.type === 'send-task')
        this.run({ type: 'MarkSent', taskId: effect.taskId, inboxSeq: this.log.length, at: at(seconds) });
  }

  replayed(): CoordinatorState {
    const state = initialCoordinatorState();
    for (const commit of this.log) applyCoordinatorCommit(state, commit);
    return state;
  }

  get wf() {
    const run = this.state.workflows.get('wf-1');
    if (run === undefined) throw new Error('no workflow wf-1');
    return run;
  }
}

const start = (
  def: WorkflowDef = research,
  input = 'cats',
  workflowId = 'wf-1',
): Extract<CoordinatorCommand, { type: 'StartWorkflow' }> => ({
  type: 'StartWorkflow',
  workflowId,
  workflow: 'w',
  input,
  definition: def,
  inboxSeq: 7,
  at: at(),
});

function result(
  taskId: string,
  outcome: { output: string } | { error: string; status?: 'failed' | 'cancelled' | 'rejected' },
  agentName = taskId.includes(':draft:') ? 'writer' : 'researcher',
): TaskResult {
  return {
    taskId,
    agent: agentName,
    ...('output' in outcome
      ? { status: 'completed', output: outcome.output }
      : { status: outcome.status ?? 'failed', error: { code: 'model_refused', message: outcome.error } }),
    usage: zeroUsage(),
    steps: 1,
    attempts: 1,
    finishedAt: at(5),
  };
}
const observe = (r: TaskResult, seconds = 5): CoordinatorCommand => ({
  type: 'ObserveResult',
  result: r,
  at: at(seconds),
});
const types = (events: CoordinatorEvent[]) => events.map((e) => e.type);
const dispatchedIds = (events: CoordinatorEvent[]) =>
  events.flatMap((e) => (e.type === 'workflow.task_dispatched' ? [e.data.taskId] : []));

describe('coordinator - start', () => {
  it('journals the start and dispatches the first step in the same commit', () => {
    const c = new Coordinator();
    const events = c.run(start());
    expect(types(events)).toEqual(['workflow.started', 'workflow.step_started', 'workflow.task_dispatched']);
    expect(events.map((e) => e.id)).toEqual([
      'coordinator:wf-1:started',
      'coordinator:wf-1:step:plan:started',
      'coordinator:wf-1:plan:0:1:dispatched',
    ]);
    const dispatched = events[2];
    expect(dispatched?.type === 'workflow.task_dispatched' && dispatched.data).toMatchObject({
      taskId: 'wf-1:plan:0:1',
      agent: 'researcher',
      input: 'List subtopics of cats',
    });
  });

  it('fans out: every step without dependencies is dispatched at once', () => {
    const def = definition({
      steps: {
        a: { agent: 'researcher', input: 'A {{input}}' },
        b: { agent: 'writer', input: 'B {{input}}' },
        c: { agent: 'reviewer', input: '{{steps.a.output}} {{steps.b.output}}' },
      },
    });
    const c = new Coordinator();
    expect(dispatchedIds(c.run(start(def)))).toEqual(['wf-1:a:0:1', 'wf-1:b:0:1']);
  });

  it('is idempotent: the same start twice is one workflow', () => {
    const c = new Coordinator();
    c.run(start());
    expect(decideCoordinator(c.state, start())).toEqual([]);
    expect(decideCoordinator(c.state, { ...start(), input: 'dogs' })).toEqual([]);
  });

  it('rejects an unknown workflow with a result saying so', () => {
    const c = new Coordinator();
    const events = c.run({ ...start(), definition: undefined });
    expect(types(events)).toEqual(['workflow.rejected']);
    expect(c.wf.status).toBe('rejected');
    const { effects } = nextCoordinator(c.state, new Date(T0));
    expect(effects).toEqual([{ type: 'publish-result', workflowId: 'wf-1', result: workflowResult(c.wf) }]);
    expect(workflowResult(c.wf)).toMatchObject({
      status: 'rejected',
      error: {
        code: 'not_found',
        message: 'unknown workflow "w": define it under "workflows" in the config',
      },
    });
    expect(decideCoordinator(c.state, start())).toEqual([]);
  });
});

describe('coordinator - sending', () => {
  it('asks for each dispatched task to be sent, with the workflow in its meta, until it is marked sent', () => {
    const c = new Coordinator();
    c.run(start());
    expect(nextCoordinator(c.state, new Date(T0)).effects).toEqual([
      {
        type: 'send-task',
        workflowId: 'wf-1',
        taskId: 'wf-1:plan:0:1',
        agent: 'researcher',
        input: 'List subtopics of cats',
        meta: { workflow: { id: 'wf-1', name: 'w', step: 'plan', index: 0, attempt: 1 } },
      },
    ]);
    c.run({ type: 'MarkSent', taskId: 'wf-1:plan:0:1', inboxSeq: 12, at: at() });
    expect(nextCoordinator(c.state, new Date(T0)).effects).toEqual([]);
    expect(
      decideCoordinator(c.state, { type: 'MarkSent', taskId: 'wf-1:plan:0:1', inboxSeq: 12, at: at() }),
    ).toEqual([]);
  });
});

describe('coordinator - map and fan-in', () => {
  it('runs one task per item, waits for all, and keeps the item order whatever order results come in', () => {
    const c = new Coordinator();
    c.run(start());
    c.sendAll();
    const mapped = c.run(
      observe(result('wf-1:plan:0:1', { output: 'Here:\n```json\n["fur", {"k": 1}, "naps"]\n```' })),
    );
    expect(types(mapped)).toEqual([
      'workflow.task_finished',
      'workflow.step_finished',
      'workflow.step_started',
      'workflow.task_dispatched',
      'workflow.task_dispatched',
      'workflow.task_dispatched',
    ]);
    expect(mapped.flatMap((e) => (e.type === 'workflow.task_dispatched' ? [e.data.input] : []))).toEqual([
      'Research fur (part 0 of cats)',
      'Research {"k":1} (part 1 of cats)',
      'Research naps (part 2 of cats)',
    ]);
    expect(c.wf.steps.get('dig')?.items).toEqual(['fur', { k: 1 }, 'naps']);
    c.sendAll();
    expect(types(c.run(observe(result('wf-1:dig:2:1', { output: 'C' }))))).toEqual([
      'workflow.task_finished',
    ]);
    expect(types(c.run(observe(result('wf-1:dig:0:1', { output: 'A' }))))).toEqual([
      'workflow.task_finished',
    ]);
    const last = c.run(observe(result('wf-1:dig:1:1', { output: 'B' })));
    expect(types(last)).toEqual([
      'workflow.task_finished',
      'workflow.step_finished',
      'workflow.step_started',
      'workflow.task_dispatched',
    ]);
    expect(c.wf.steps.get('dig')?.output).toBe('["A","B","C"]');
    expect(last.at(-1)?.type === 'workflow.task_dispatched' && last.at(-1)?.data).toMatchObject({
      taskId: 'wf-1:draft:0:1',
      agent: 'writer',
      input: 'Write from: ["A","B","C"]',
    });
    c.sendAll();
    const done = c.run(observe(result('wf-1:draft:0:1', { output: 'The essay' })));
    expect(types(done)).toEqual(['workflow.task_finished', 'workflow.step_finished', 'workflow.finished']);
    expect(c.wf).toMatchObject({ status: 'completed', output: 'The essay', finishedAt: at(5) });
    expect(c.replayed()).toEqual(c.state);
  });

  it('fails the map step when the source output has no JSON array, naming both steps', () => {
    const c = new Coordinator();
    c.run(start());
    c.sendAll();
    const events = c.run(observe(result('wf-1:plan:0:1', { output: 'Sorry, no list today.' })));
    expect(types(events)).toEqual([
      'workflow.task_finished',
      'workflow.step_finished',
      'workflow.step_finished',
      'workflow.finished',
    ]);
    expect(c.wf.status).toBe('failed');
    expect(c.wf.error).toEqual({
      code: 'invalid_map_input',
      message:
        'step "dig" failed: cannot map over the output of step "plan": expected a JSON array such as ["a", "b"] in the output, got "Sorry, no list today."',
    });
  });

  it('fails the run when the map step that cannot start is the last step (it used to complete)', () => {
    const last = definition({
      steps: {
        plan: { agent: 'researcher', input: 'plan {{input}}' },
        dig: { agent: 'researcher', map: 'plan', input: 'dig {{item}}' },
      },
    });
    const c = new Coordinator();
    c.run(start(last));
    c.run(observe(result('wf-1:plan:0:1', { output: 'no list' })));
    expect(c.wf.status).toBe('failed');
    expect(c.wf.error?.code).toBe('invalid_map_input');
  });

  it('completes a map step over an empty array at once, with output "[]"', () => {
    const c = new Coordinator();
    c.run(start());
    c.sendAll();
    c.run(observe(result('wf-1:plan:0:1', { output: '[]' })));
    expect(c.wf.steps.get('dig')).toMatchObject({ status: 'completed', output: '[]', items: [] });
    expect(dispatchedIds(c.log.at(-1)?.events ?? [])).toEqual(['wf-1:draft:0:1']);
  });

  it('defaults the output to a JSON object when several steps end the workflow, and renders an output template', () => {
    const two = definition({
      steps: { a: { agent: 'researcher', input: 'a' }, b: { agent: 'writer', input: 'b' } },
    });
    const c = new Coordinator();
    c.run(start(two));
    c.run(observe(result('wf-1:a:0:1', { output: 'A' })));
    c.run(observe(result('wf-1:b:0:1', { output: 'B' }, 'writer')));
    expect(c.wf.output).toBe('{"a":"A","b":"B"}');

    const templated = new Coordinator();
    templated.run(start({ ...two, output: '{{input}}: {{steps.b.output}} then {{steps.a.output}}' }));
    templated.run(observe(result('wf-1:a:0:1', { output: 'A' })));
    templated.run(observe(result('wf-1:b:0:1', { output: 'B' }, 'writer')));
    expect(templated.wf.output).toBe('cats: B then A');
  });
});

describe('coordinator - failures', () => {
  const flaky = definition({
    steps: {
      plan: { agent: 'researcher', input: 'plan {{input}}', retries: 1, timeoutMs: 60_000 },
      draft: { agent: 'writer', input: 'draft {{steps.plan.output}}' },
    },
  });

  it('retries a failed task as a new attempt with a new id', () => {
    const c = new Coordinator();
    c.run(start(flaky));
    c.sendAll();
    const events = c.run(observe(result('wf-1:plan:0:1', { error: 'overloaded' }, 'researcher'), 10));
    expect(types(events)).toEqual(['workflow.task_finished', 'workflow.task_dispatched']);
    expect(dispatchedIds(events)).toEqual(['wf-1:plan:0:2']);
    expect(c.wf.steps.get('plan')?.tasks[0]).toMatchObject({
      attempt: 2,
      status: 'running',
      dispatchedAt: at(10),
    });
    // The same result again changes nothing.
    expect(decideCoordinator(c.state, observe(result('wf-1:plan:0:1', { error: 'overloaded' })))).toEqual([]);
    c.sendAll(10);
    c.run(observe(result('wf-1:plan:0:2', { output: 'ok' }), 20));
    expect(c.wf.steps.get('plan')).toMatchObject({ status: 'completed', output: 'ok' });
  });

  it('fails the workflow when a required step runs out of attempts, naming the step', () => {
    const c = new Coordinator();
    c.run(start(flaky));
    c.run(observe(result('wf-1:plan:0:1', { error: 'no' })));
    const events = c.run(observe(result('wf-1:plan:0:2', { error: 'refused again' })));
    expect(types(events)).toEqual(['workflow.task_finished', 'workflow.step_finished', 'workflow.finished']);
    expect(c.wf.error).toEqual({
      code: 'model_refused',
      message: 'step "plan" failed: refused again (after 2 attempts)',
    });
    expect(workflowResult(c.wf)).toEqual({
      taskId: 'wf-1',
      agent: 'coordinator',
      status: 'failed',
      error: c.wf.error,
      usage: zeroUsage(),
      steps: 2,
      attempts: 1,
      receivedAt: at(),
      finishedAt: at(5),
      meta: { workflow: 'w', steps: { plan: 'failed', draft: 'pending' } },
    });
  });

  it('does not retry a task the agent rejected: the step fails at once, whatever retries are left', () => {
    const c = new Coordinator();
    c.run(start(flaky));
    const events = c.run(observe(result('wf-1:plan:0:1', { error: 'input too large', status: 'rejected' })));
    expect(types(events)).toEqual(['workflow.task_finished', 'workflow.step_finished', 'workflow.finished']);
    expect(events[0]?.type === 'workflow.task_finished' && events[0].data).toMatchObject({
      status: 'failed',
      rejected: true,
    });
    expect(dispatchedIds(events)).toEqual([]);
    expect(c.wf.error?.message).toBe('step "plan" failed: input too large');
    expect(c.replayed()).toEqual(c.state);
  });

  it('fails a step whose rendered input is larger than an agent takes, naming its size, without sending it', () => {
    const doubled = definition({
      steps: {
        plan: { agent: 'researcher', input: 'plan {{input}}' },
        draft: { agent: 'writer', input: '{{steps.plan.output}}{{steps.plan.output}}', retries: 2 },
      },
    });
    const c = new Coordinator();
    c.run(start(doubled));
    const events = c.run(observe(result('wf-1:plan:0:1', { output: 'x'.repeat(150_000) })));
    // plan completes, draft fails without a task, the run fails.
    expect(types(events)).toEqual([
      'workflow.task_finished',
      'workflow.step_finished',
      'workflow.step_finished',
      'workflow.finished',
    ]);
    expect(dispatchedIds(events)).toEqual([]);
    expect(c.wf.error).toEqual({
      code: 'input_too_large',
      message:
        'step "draft" failed: its input is 300000 characters once rendered; an agent takes at most 200000 (pass less of the steps it names, or map over smaller parts)',
    });

    // In a map step, the item whose input is too large is named.
    const mapped = definition({
      steps: {
        plan: { agent: 'researcher', input: 'plan {{input}}' },
        dig: { agent: 'researcher', map: 'plan', input: 'dig {{item}}', optional: true },
      },
    });
    const m = new Coordinator();
    m.run(start(mapped));
    const items = JSON.stringify(['small', 'y'.repeat(200_000)]);
    const after = m.run(observe(result('wf-1:plan:0:1', { output: items })));
    expect(dispatchedIds(after)).toEqual([]);
    expect(m.wf.steps.get('dig')?.error?.message).toMatch(/^the input of item 1 is 200004 characters/);
    expect(m.wf.status).toBe('completed');
    expect(m.replayed()).toEqual(m.state);
  });

  it("sums every attempt's usage and cost into the run's result", () => {
    const c = new Coordinator();
    c.run(start(flaky));
    const spent = (r: TaskResult, inputTokens: number, costUsd?: number): TaskResult => ({
      ...r,
      usage: { ...zeroUsage(), inputTokens, outputTokens: inputTokens / 10 },
      ...(costUsd === undefined ? {} : { costUsd }),
    });
    c.run(observe(spent(result('wf-1:plan:0:1', { error: 'overloaded' }), 100, 0.001)));
    c.run(observe(spent(result('wf-1:plan:0:2', { output: 'ok' }), 200, 0.002)));
    c.run(observe(spent(result('wf-1:draft:0:1', { output: 'done' }, 'writer'), 300)));
    expect(c.wf.status).toBe('completed');
    expect(workflowResult(c.wf)).toMatchObject({
      usage: { inputTokens: 600, outputTokens: 60 },
      costUsd: 0.003,
    });
    expect(workflowView(c.wf).usage).toEqual(workflowResult(c.wf).usage);
    expect(c.replayed()).toEqual(c.state);
  });

  it('times a task out only after its timeout, then retries it and cancels the timed-out attempt', () => {
    const c = new Coordinator();
    c.run(start(flaky));
    c.sendAll();
    expect(nextCoordinator(c.state, new Date(T0 + 59_999))).toEqual({ effects: [], wakeAt: T0 + 60_000 });
    expect(decideCoordinator(c.state, { type: 'TimeOut', taskId: 'wf-1:plan:0:1', at: at(59) })).toEqual([]);
    expect(nextCoordinator(c.state, new Date(T0 + 60_000)).effects).toEqual([
      { type: 'time-out', workflowId: 'wf-1', taskId: 'wf-1:plan:0:1' },
    ]);
    const events = c.run({ type: 'TimeOut', taskId: 'wf-1:plan:0:1', at: at(60) });
    expect(types(events)).toEqual(['workflow.task_finished', 'workflow.task_dispatched']);
    expect(events[0]?.type === 'workflow.task_finished' && events[0].data).toMatchObject({
      status: 'failed',
      timedOut: true,
      error: { code: 'timeout' },
    });
    const { effects, wakeAt } = nextCoordinator(c.state, new Date(T0 + 60_000));
    expect(effects.map((e) => [e.type, 'taskId' in e ? e.taskId : ''])).toEqual([
      ['cancel-task', 'wf-1:plan:0:1'],
      ['send-task', 'wf-1:plan:0:2'],
    ]);
    expect(wakeAt).toBe(T0 + 120_000);
    c.run({ type: 'MarkCancelSent', taskId: 'wf-1:plan:0:1', at: at(60) });
    c.sendAll(60);
    expect(nextCoordinator(c.state, new Date(T0 + 60_000)).effects).toEqual([]);
    // The late result of the timed-out attempt changes nothing.
    expect(decideCoordinator(c.state, observe(result('wf-1:plan:0:1', { output: 'late' }), 61))).toEqual([]);
    // The second attempt times out too: no attempts left, the workflow fails on the timeout.
    c.run({ type: 'TimeOut', taskId: 'wf-1:plan:0:2', at: at(120) });
    expect(c.wf.status).toBe('failed');
    expect(c.wf.error?.code).toBe('timeout');
    expect(c.wf.error?.message).toMatch(
      /^step "plan" failed: no result from agent "researcher" within 60000 ms/,
    );
    expect(c.replayed()).toEqual(c.state);
  });

  it('continues past a failed optional step with "" as its output', () => {
    const def = definition({
      steps: {
        draft: { agent: 'writer', input: 'draft {{input}}' },
        review: { agent: 'reviewer', input: 'review {{steps.draft.output}}', optional: true },
        final: { agent: 'writer', input: 'final {{steps.draft.output}} [{{steps.review.output}}]' },
      },
    });
    const c = new Coordinator();
    c.run(start(def));
    c.run(observe(result('wf-1:draft:0:1', { output: 'D' }, 'writer')));
    const events = c.run(observe(result('wf-1:review:0:1', { error: 'nope' }, 'reviewer')));
    expect(types(events)).toEqual([
      'workflow.task_finished',
      'workflow.step_finished',
      'workflow.step_started',
      'workflow.task_dispatched',
    ]);
    expect(c.wf.steps.get('review')?.status).toBe('failed');
    expect(c.wf.steps.get('final')?.tasks[0]?.input).toBe('final D []');
  });

  it('cancels the running tasks of other steps when a required step fails', () => {
    const def = definition({
      steps: {
        a: { agent: 'researcher', input: 'a' },
        b: { agent: 'writer', input: 'b' },
        c: { agent: 'reviewer', input: 'c', after: ['a', 'b'] },
      },
    });
    const c = new Coordinator();
    c.run(start(def));
    c.sendAll();
    c.run(observe(result('wf-1:a:0:1', { error: 'broken' })));
    expect(c.wf.error?.message).toBe('step "a" failed: broken');
    const { effects } = nextCoordinator(c.state, new Date(T0));
    expect(effects).toEqual([
      {
        type: 'cancel-task',
        workflowId: 'wf-1',
        taskId: 'wf-1:b:0:1',
        agent: 'writer',
        reason: 'workflow wf-1 failed: step "a" failed: broken',
      },
      { type: 'publish-result', workflowId: 'wf-1', result: workflowResult(c.wf) },
    ]);
    // b's result still arrives: recorded, so the cancel is no longer asked for; nothing else moves.
    const late = c.run(observe(result('wf-1:b:0:1', { output: 'B' }, 'writer')));
    expect(types(late)).toEqual(['workflow.task_finished']);
    expect(c.wf.steps.get('b')?.status).toBe('running');
    expect(nextCoordinator(c.state, new Date(T0)).effects.map((e) => e.type)).toEqual(['publish-result']);
  });

  it('ignores results it did not ask for, or from another agent', () => {
    const c = new Coordinator();
    c.run(start());
    expect(decideCoordinator(c.state, observe(result('t-unrelated', { output: 'x' })))).toEqual([]);
    expect(decideCoordinator(c.state, observe(result('wf-1:plan:0:1', { output: 'x' }, 'writer')))).toEqual(
      [],
    );
  });
});

describe('coordinator - cancel and publish', () => {
  it('cancels a running workflow, cancels its sent tasks, and publishes a cancelled result once', () => {
    const c = new Coordinator();
    c.run(start());
    c.sendAll();
    const events = c.run({
      type: 'CancelWorkflow',
      workflowId: 'wf-1',
      reason: 'operator said stop',
      at: at(3),
    });
    expect(types(events)).toEqual(['workflow.finished']);
    expect(
      decideCoordinator(c.state, { type: 'CancelWorkflow', workflowId: 'wf-1', reason: 'again', at: at(4) }),
    ).toEqual([]);
    const { effects } = nextCoordinator(c.state, new Date(T0 + 3000));
    expect(effects.map((e) => e.type)).toEqual(['cancel-task', 'publish-result']);
    expect(effects[0]).toMatchObject({ reason: 'workflow wf-1 cancelled: operator said stop' });
    expect(effects[1]?.type === 'publish-result' && effects[1].result).toMatchObject({
      taskId: 'wf-1',
      agent: 'coordinator',
      status: 'cancelled',
      error: { code: 'cancelled', message: 'operator said stop' },
      meta: { workflow: 'w', steps: { plan: 'running', dig: 'pending', draft: 'pending' } },
    });
    c.run({ type: 'MarkCancelSent', taskId: 'wf-1:plan:0:1', at: at(3) });
    c.run({ type: 'MarkPublished', workflowId: 'wf-1', resultSeq: 40, at: at(3) });
    expect(nextCoordinator(c.state, new Date(T0 + 3000)).effects).toEqual([]);
    expect(c.wf).toMatchObject({ published: true, resultSeq: 40 });
    expect(
      decideCoordinator(c.state, { type: 'MarkPublished', workflowId: 'wf-1', resultSeq: 41, at: at(4) }),
    ).toEqual([]);
    expect(
      decideCoordinator(c.state, { type: 'CancelWorkflow', workflowId: 'nope', reason: 'x', at: at(4) }),
    ).toEqual([]);
  });

  it('publishes the completed result with the output and every step status', () => {
    const c = new Coordinator();
    c.run(start(definition({ steps: { only: { agent: 'writer', input: '{{input}}' } } })));
    c.run(observe(result('wf-1:only:0:1', { output: 'done' }, 'writer')));
    expect(workflowResult(c.wf)).toEqual({
      taskId: 'wf-1',
      agent: 'coordinator',
      status: 'completed',
      output: 'done',
      usage: zeroUsage(),
      steps: 1,
      attempts: 1,
      receivedAt: at(),
      finishedAt: at(5),
      meta: { workflow: 'w', steps: { only: 'completed' } },
    });
  });
});

describe('coordinator - failing a workflow from outside its steps', () => {
  it('FailWorkflow fails a running run with the error given, once; Advance can be asked for one run', () => {
    const c = new Coordinator();
    c.run(start());
    c.run(start(research, 'dogs', 'wf-2'));
    c.sendAll();
    const error = { code: 'commit_too_large', message: 'too big' };
    const events = c.run({ type: 'FailWorkflow', workflowId: 'wf-1', error, at: at(2) });
    expect(types(events)).toEqual(['workflow.finished']);
    expect(c.wf).toMatchObject({ status: 'failed', error });
    expect(c.run({ type: 'FailWorkflow', workflowId: 'wf-1', error, at: at(3) })).toEqual([]);
    expect(c.state.workflows.get('wf-2')?.status).toBe('running');
    // The running tasks of the failed run get cancelled; the other run's do not.
    const cancels = nextCoordinator(c.state, new Date(T0 + 4000)).effects.filter(
      (e) => e.type === 'cancel-task',
    );
    expect(cancels.map((e) => e.taskId)).toEqual(['wf-1:plan:0:1']);

    c.run(observe(result('wf-2:plan:0:1', { output: '["a"]' })));
    expect(decideCoordinator(c.state, { type: 'Advance', workflowId: 'wf-2', at: at(5) })).toEqual([]);
    expect(decideCoordinator(c.state, { type: 'Advance', workflowId: 'nope', at: at(5) })).toEqual([]);
    expect(c.replayed()).toEqual(c.state);
  });
});

describe('coordinator - determinism and replay', () => {
  it('gives the same events for the same command on the same state, and none once applied', () => {
    const c = new Coordinator();
    c.run(start());
    const before = cloneCoordinatorState(c.state);
    const command = observe(result('wf-1:plan:0:1', { output: '["x"]' }));
    const first = decideCoordinator(c.state, command);
    expect(decideCoordinator(c.state, command)).toEqual(first);
    expect(c.state).toEqual(before);
    c.run(command);
    expect(decideCoordinator(c.state, command)).toEqual([]);
    expect(decideCoordinator(c.state, { type: 'Advance', at: at(9) })).toEqual([]);
  });

  it('rebuilds the same state from the journal, and ignores agent events and events of unknown ids', () => {
    const c = new Coordinator();
    c.run(start());
    c.sendAll();
    c.run(observe(result('wf-1:plan:0:1', { output: '["x", "y"]' })));
    c.run(start(research, 'dogs', 'wf-2'));
    c.run({ type: 'CancelWorkflow', workflowId: 'wf-2', reason: 'r', at: at(6) });
    const state = c.replayed();
    expect(state).toEqual(c.state);
    const agentEvent: AgentEvent = {
      id: 'analyst:t-1:received',
      type: 'task.received',
      v: 1,
      data: { taskId: 't-1', input: 'x', at: at() },
    };
    const stray: CoordinatorEvent = {
      id: 'coordinator:nope:a:0:1:sent',
      type: 'workflow.task_sent',
      v: 1,
      data: { workflowId: 'nope', taskId: 'nope:a:0:1', inboxSeq: 1, at: at() },
    };
    // Never in the coordinator's history (the types say so); folded anyway, it changes nothing.
    evolveCoordinator(state, agentEvent as unknown as CoordinatorEvent);
    evolveCoordinator(state, stray);
    expect(state).toEqual(c.state);
  });

  it('summarizes a run as JSON for the CLI', () => {
    const c = new Coordinator();
    c.run(start());
    c.sendAll();
    c.run(observe(result('wf-1:plan:0:1', { output: '["x"]' })));
    const view = workflowView(c.wf);
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
    expect(view).toMatchObject({
      id: 'wf-1',
      workflow: 'w',
      status: 'running',
      input: 'cats',
      steps: [
        { name: 'plan', agent: 'researcher', status: 'completed', output: '["x"]', dependsOn: [] },
        { name: 'dig', status: 'running', map: 'plan', items: 1, dependsOn: ['plan'] },
        { name: 'draft', status: 'pending', dependsOn: ['dig'], tasks: [] },
      ],
    });
    expect(view.steps[1]?.tasks).toEqual([
      {
        taskId: 'wf-1:dig:0:1',
        index: 0,
        attempt: 1,
        agent: 'researcher',
        status: 'running',
        sent: false,
        dispatchedAt: at(5),
      },
    ]);
  });
});

describe('coordinator - random result orders', () => {
  // plan → a map over its items, with retries → an optional review of one item → a fan-in.
  const shape = (retries: number) =>
    definition({
      steps: {
        plan: { agent: 'researcher', input: 'plan {{input}}' },
        dig: { agent: 'researcher', map: 'plan', input: 'dig {{item}}', retries },
        check: { agent: 'reviewer', input: 'check {{steps.plan.output}}', optional: true },
        draft: { agent: 'writer', input: 'draft {{steps.dig.output}} {{steps.check.output}}' },
      },
    });

  /** Results recorded without being decided (no advance with them), as a crash-free but older writer could leave them. */
  const recordOnly = (c: Coordinator, outcomes: Record<string, { output: string } | { error: string }>) => {
    const events: CoordinatorEvent[] = Object.entries(outcomes).map(([taskId, outcome]) => ({
      id: `coordinator:${taskId}:finished`,
      type: 'workflow.task_finished',
      v: 1,
      data: {
        workflowId: 'wf-1',
        taskId,
        ...('output' in outcome
          ? { status: 'completed', output: outcome.output }
          : { status: 'failed', error: { code: 'model_refused', message: outcome.error } }),
        at: at(3),
      },
    }));
    const commit = { seq: c.log.length + 1, events };
    c.log.push(commit);
    applyCoordinatorCommit(c.state, commit);
  };
  const toTheMap = (retries: number) => {
    const c = new Coordinator();
    c.run(start(shape(retries)));
    c.run(observe(result('wf-1:plan:0:1', { output: '["a", "b"]' })));
    c.run(observe(result('wf-1:check:0:1', { output: 'fine' }, 'reviewer')));
    return c;
  };

  it('Advance ends a step whose tasks all finished, and starts what waited for it', () => {
    const c = toTheMap(0);
    recordOnly(c, { 'wf-1:dig:0:1': { output: 'A' }, 'wf-1:dig:1:1': { output: 'B' } });
    const events = c.run({ type: 'Advance', at: at(4) });
    expect(types(events)).toEqual([
      'workflow.step_finished',
      'workflow.step_started',
      'workflow.task_dispatched',
    ]);
    expect(c.wf.steps.get('dig')).toMatchObject({ status: 'completed', output: '["A","B"]' });
    expect(dispatchedIds(events)).toEqual(['wf-1:draft:0:1']);

    // A step recorded as finished without its dependents started: Advance starts them.
    const d = toTheMap(0);
    recordOnly(d, { 'wf-1:dig:0:1': { output: 'A' }, 'wf-1:dig:1:1': { output: 'B' } });
    const stepDone: CoordinatorEvent = {
      id: 'coordinator:wf-1:step:dig:finished',
      type: 'workflow.step_finished',
      v: 1,
      data: { workflowId: 'wf-1', step: 'dig', status: 'completed', output: '["A","B"]', at: at(3) },
    };
    d.log.push({ seq: d.log.length + 1, events: [stepDone] });
    evolveCoordinator(d.state, stepDone);
    expect(dispatchedIds(d.run({ type: 'Advance', at: at(4) }))).toEqual(['wf-1:draft:0:1']);
  });

  it('Advance retries a failed task with attempts left, and fails the run once none are left', () => {
    const c = toTheMap(1);
    recordOnly(c, { 'wf-1:dig:1:1': { error: 'no' } });
    expect(dispatchedIds(c.run({ type: 'Advance', at: at(4) }))).toEqual(['wf-1:dig:1:2']);
    recordOnly(c, { 'wf-1:dig:1:2': { error: 'no again' } });
    const events = c.run({ type: 'Advance', at: at(5) });
    expect(types(events)).toEqual(['workflow.step_finished', 'workflow.finished']);
    expect(c.wf.error?.message).toBe('step "dig" failed: item 1: no again (after 2 attempts)');
    expect(decideCoordinator(c.state, { type: 'Advance', at: at(6) })).toEqual([]);
  });

  it('ends every run, whatever order results come in and whichever fail, as the process drives it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 2 }),
        // For each result in turn: which running task answers (an index into them), and whether it fails.
        fc.array(fc.record({ pick: fc.nat(), fails: fc.boolean() }), { minLength: 1, maxLength: 80 }),
        (items, retries, answers) => {
          const c = new Coordinator();
          // As the process does: each command, then Advance until nothing more happens.
          const drive = (command: CoordinatorCommand) => {
            if (c.run(command).length === 0) return;
            while (c.run({ type: 'Advance', at: at(1) }).length > 0);
          };
          drive(start(shape(retries)));
          const list = JSON.stringify(Array.from({ length: items }, (_, i) => `i${i}`));
          let answered = 0;
          for (let turn = 0; c.wf.status === 'running'; turn += 1) {
            const running = [...c.wf.steps.values()].flatMap((step) =>
              step.tasks.filter((task) => task.status === 'running'),
            );
            // A running workflow with nothing running would wait forever: what this test is for.
            expect(running.length, `stalled: ${JSON.stringify(workflowView(c.wf).steps)}`).toBeGreaterThan(0);
            const answer = answers[turn % answers.length] ?? { pick: 0, fails: false };
            const task = running[answer.pick % running.length];
            if (task === undefined) break;
            const fails = answer.fails && turn < answers.length;
            const output = task.taskId.includes(':plan:') ? list : `out ${task.taskId}`;
            drive(observe(result(task.taskId, fails ? { error: 'no' } : { output }, task.agent)));
            answered += 1;
            expect(answered).toBeLessThan(1_000);
          }
          expect(['completed', 'failed']).toContain(c.wf.status);
          if (c.wf.status === 'completed') {
            const dig = c.wf.steps.get('dig');
            expect(JSON.parse(dig?.output ?? '[]')).toHaveLength(items);
            expect(dig?.tasks.map((task) => task.index)).toEqual([...Array(items).keys()]);
          }
          expect(c.replayed()).toEqual(c.state);
        },
      ),
      { numRuns: 300 },
    );
  });
});
