import type { AgentEvent } from './agent-events.ts';
import {
  type AgentState,
  CANCEL_REQUESTS_KEEP,
  currentStep,
  HOUR_KEY_CHARS,
  isDoneTask,
  isFinished,
  isKnownTask,
  MEMORY_KEEP,
  openToolCall,
  rememberDone,
  rememberNewest,
} from './state.ts';
import { addUsage, type Usage, zeroUsage } from './usage.ts';

/**
 * Folds one event into the state. Deterministic and total: the same events give the same
 * state on every machine, and an event that does not apply (unknown task, repeated step) is
 * ignored rather than thrown, so an old history always replays.
 *
 * For replay speed over long histories, `evolve` updates `state` in place and returns it:
 * a caller that needs the state before the event keeps a copy (`cloneState`).
 */
export function evolve(state: AgentState, event: AgentEvent): AgentState {
  switch (event.type) {
    case 'task.received': {
      const { taskId } = event.data;
      if (isKnownTask(state, taskId)) return state;
      state.active.set(taskId, {
        taskId,
        input: event.data.input,
        meta: event.data.meta,
        inboxSeq: event.data.inboxSeq,
        ...(event.data.trace === undefined ? {} : { trace: event.data.trace }),
        receivedAt: event.data.at,
        phase: 'queued',
        attempt: 0,
        memoryUpTo: 0,
        steps: [],
        failedCalls: 0,
        interruptions: 0,
        usage: zeroUsage(),
      });
      state.counts.received += 1;
      return state;
    }
    case 'task.started': {
      const task = state.active.get(event.data.taskId);
      if (task === undefined || task.phase !== 'queued') return state;
      task.phase = 'running';
      task.attempt = event.data.attempt;
      task.specHash = event.data.specHash;
      task.memoryUpTo = event.data.memoryUpTo;
      task.startedAt = event.data.at;
      state.specHash = event.data.specHash;
      task.steps = [];
      task.failedCalls = 0;
      task.retryAt = undefined;
      task.interruptions = 0;
      return state;
    }
    case 'model.responded': {
      const task = state.active.get(event.data.taskId);
      if (task === undefined || task.phase !== 'running' || event.data.step !== task.steps.length)
        return state;
      const { taskId: _taskId, ...reply } = event.data;
      // The rest of the event is a fresh object already: it becomes the step, not copied again.
      task.steps.push(Object.assign(reply, { tools: [] }));
      task.failedCalls = 0;
      task.retryAt = undefined;
      task.usage = addUsage(task.usage, event.data.usage);
      state.usage = addUsage(state.usage, event.data.usage);
      state.model = event.data.model;
      recordHourly(state, event.data.at, event.data.usage);
      return state;
    }
    case 'task.completed': {
      const task = state.active.get(event.data.taskId);
      if (task === undefined || task.phase !== 'running') return state;
      task.phase = 'completed';
      task.output = event.data.output;
      task.finishedAt = event.data.at;
      state.counts.completed += 1;
      state.memory.push({
        n: state.exchanges,
        taskId: task.taskId,
        input: task.input,
        output: event.data.output,
      });
      state.exchanges += 1;
      if (state.memory.length > MEMORY_KEEP) state.memory.splice(0, state.memory.length - MEMORY_KEEP);
      return state;
    }
    case 'task.failed': {
      const task = state.active.get(event.data.taskId);
      if (task === undefined || isFinished(task.phase)) return state;
      task.phase = 'failed';
      task.error = event.data.error;
      task.finishedAt = event.data.at;
      state.counts.failed += 1;
      return state;
    }
    case 'task.rejected': {
      const { taskId } = event.data;
      if (isKnownTask(state, taskId)) return state;
      state.active.set(taskId, {
        taskId,
        input: event.data.excerpt,
        inboxSeq: event.data.inboxSeq,
        receivedAt: event.data.at,
        phase: 'rejected',
        attempt: 0,
        memoryUpTo: 0,
        steps: [],
        failedCalls: 0,
        interruptions: 0,
        usage: zeroUsage(),
        error: event.data.error,
        finishedAt: event.data.at,
      });
      state.counts.rejected += 1;
      return state;
    }
    case 'task.cancelled': {
      const { taskId, reason, at } = event.data;
      const task = state.active.get(taskId);
      if (task === undefined) {
        // A task finished long ago is not in the state: the runtime journals no cancel for it
        // (it asks the results first), so a request recorded here is for a task still to come.
        if (!isDoneTask(state, taskId))
          rememberNewest(state.cancelRequests, taskId, reason, CANCEL_REQUESTS_KEEP);
        return state;
      }
      if (isFinished(task.phase)) return state;
      task.phase = 'cancelled';
      task.error = { code: 'cancelled', message: reason };
      task.finishedAt = at;
      state.counts.cancelled += 1;
      state.cancelRequests.delete(taskId);
      return state;
    }
    case 'agent.paused':
      state.paused = true;
      return state;
    case 'agent.resumed':
      state.paused = false;
      return state;
    case 'result.published': {
      const task = state.active.get(event.data.taskId);
      if (task === undefined || !isFinished(task.phase)) return state;
      state.active.delete(event.data.taskId);
      rememberDone(state, task.taskId, task.phase);
      if (task.phase === 'failed') state.dead.set(task.taskId, { task, resultSeq: event.data.resultSeq });
      return state;
    }
    case 'model.failed': {
      const task = state.active.get(event.data.taskId);
      if (task === undefined || task.phase !== 'running' || event.data.step !== task.steps.length)
        return state;
      task.failedCalls = event.data.call;
      task.retryAt = event.data.retryAt;
      return state;
    }
    case 'model.refused':
      // The task.failed journaled with it ends the task; this event is the record of why.
      return state;
    case 'memory.compacted': {
      if (event.data.upTo <= (state.memorySummary?.upTo ?? 0)) return state;
      state.memorySummary = { text: event.data.summary, upTo: event.data.upTo };
      state.memory = state.memory.filter((exchange) => exchange.n >= event.data.upTo);
      state.usage = addUsage(state.usage, event.data.usage);
      recordHourly(state, event.data.at, event.data.usage);
      return state;
    }
    case 'agent.spec_changed':
      state.specHash = event.data.to;
      return state;
    // The instance's earlier history is purged: this is its first event, the state a fresh one.
    case 'agent.forgotten':
      return state;
    case 'tool.requested': {
      const step = currentStep(state, event.data.taskId, event.data.step);
      if (step === undefined || step.tools.some((t) => t.toolUseId === event.data.toolUseId)) return state;
      const { toolUseId, name, input, key } = event.data;
      step.tools.push({ toolUseId, name, input, key });
      return state;
    }
    case 'tool.completed': {
      const call = openToolCall(state, event.data.taskId, event.data.step, event.data.toolUseId);
      if (call === undefined) return state;
      call.result = {
        content: event.data.content,
        isError: event.data.isError,
        ...(event.data.images === undefined ? {} : { images: event.data.images }),
      };
      return state;
    }
    case 'tool.started': {
      const call = openToolCall(state, event.data.taskId, event.data.step, event.data.toolUseId);
      if (call === undefined) return state;
      call.starts = event.data.run;
      call.approval = undefined; // an approval covers one run
      return state;
    }
    case 'approval.requested': {
      const task = state.active.get(event.data.taskId);
      const call = openToolCall(state, event.data.taskId, event.data.step, event.data.toolUseId);
      if (task === undefined || call === undefined) return state;
      call.approvals = (call.approvals ?? 0) + 1;
      call.approval = { state: 'pending', reason: event.data.reason, at: event.data.at };
      task.phase = 'waiting';
      return state;
    }
    case 'approval.decided': {
      const task = state.active.get(event.data.taskId);
      if (task === undefined || task.phase !== 'waiting') return state;
      for (const call of task.steps.at(-1)?.tools ?? []) {
        if (call.approval?.state !== 'pending') continue;
        if (event.data.approved) call.approval = { ...call.approval, state: 'approved' };
        else {
          call.approval = undefined;
          call.result = {
            isError: true,
            content: `an operator denied this call${event.data.reason ? `: ${event.data.reason}` : ''}; do not call it again for this task`,
          };
        }
      }
      task.phase = 'running';
      return state;
    }
    case 'task.resumed': {
      const task = state.active.get(event.data.taskId);
      if (task === undefined || task.phase !== 'running') return state;
      task.interruptions = event.data.interruptions;
      return state;
    }
    case 'task.retried': {
      const letter = state.dead.get(event.data.taskId);
      if (letter === undefined) return state;
      state.dead.delete(event.data.taskId);
      state.recentlyDone.delete(event.data.taskId);
      const { output: _output, error: _error, finishedAt: _finishedAt, ...task } = letter.task;
      state.active.set(event.data.taskId, {
        ...task,
        phase: 'queued',
        steps: [],
        failedCalls: 0,
        retryAt: undefined,
        interruptions: 0,
        previousResultSeq: letter.resultSeq,
      });
      return state;
    }
    case 'task.dropped':
      state.dead.delete(event.data.taskId);
      return state;
    case 'delegation.requested': {
      const call = openToolCall(state, event.data.taskId, event.data.step, event.data.toolUseId);
      if (call === undefined || call.delegation !== undefined) return state;
      const { agent, childTaskId, input, chain } = event.data;
      call.delegation = { agent, childTaskId, input, chain, sent: false };
      return state;
    }
    case 'timer.set': {
      const call = openToolCall(state, event.data.taskId, event.data.step, event.data.toolUseId);
      if (call === undefined || call.timer !== undefined) return state;
      call.timer = { until: event.data.until, setAt: event.data.at, reason: event.data.reason };
      return state;
    }
    case 'delegation.sent': {
      const call = openToolCall(state, event.data.taskId, event.data.step, event.data.toolUseId);
      if (call?.delegation !== undefined) call.delegation.sent = true;
      return state;
    }
    default:
      return unknownEvent(state, event);
  }
}

const WINDOW_HOURS = 25;

/** Adds usage to its hour, and forgets hours older than the window (judged by the event's own time). */
function recordHourly(state: AgentState, at: string, usage: Usage): void {
  const hour = at.slice(0, HOUR_KEY_CHARS);
  const known = state.usageByHour.get(hour);
  state.usageByHour.set(hour, addUsage(known ?? zeroUsage(), usage));
  // The window's edge moves only with the hour: pruned when an hour first appears.
  if (known !== undefined) return;
  const oldest = new Date(Date.parse(at) - WINDOW_HOURS * 3_600_000).toISOString().slice(0, HOUR_KEY_CHARS);
  for (const key of state.usageByHour.keys()) if (key < oldest) state.usageByHour.delete(key);
}

/** Applies a stored commit: its events in order, then its position. */
export function applyCommit(
  state: AgentState,
  commit: { readonly seq: number; readonly events: readonly AgentEvent[] },
): AgentState {
  for (const event of commit.events) evolve(state, event);
  state.seq = commit.seq;
  return state;
}

/** A deep copy, for callers that must keep a state while evolving another. */
export function cloneState(state: AgentState): AgentState {
  return structuredClone(state);
}

/**
 * No agent event reaches here (a new one that `evolve` forgets is a compile error); anything
 * else in an agent's history changes nothing, so an odd history still replays.
 */
function unknownEvent(state: AgentState, _event: never): AgentState {
  return state;
}
