import {
  type CoordinatorEvent,
  type CoordinatorState,
  evolveCoordinator,
  findTask,
  type HistoryEvent,
  initialCoordinatorState,
} from '@spool/core/internal';
import type { HistoryStore } from '@spool/jetstream';

/**
 * `spool replay coordinator`: the coordinator's history (workflow decisions and their outcomes),
 * each event with what it decided and the coordinator's state after it, folded with core's
 * `evolveCoordinator` exactly as the coordinator folds it.
 */
export async function replayCoordinator(
  store: HistoryStore<CoordinatorEvent>,
  untilSeq: number | undefined,
  json: boolean,
): Promise<number> {
  const state = initialCoordinatorState();
  let events = 0;
  for await (const commit of store.replay('coordinator', untilSeq === undefined ? {} : { untilSeq })) {
    for (const event of commit.events) {
      evolveCoordinator(state, event);
      events += 1;
      if (json)
        console.log(
          JSON.stringify({ seq: commit.seq, time: commit.time, event, state: summarizeCoordinator(state) }),
        );
      else console.log(describeCoordinatorEvent(commit.seq, commit.time, event, state));
    }
    state.seq = commit.seq;
  }
  if (!json)
    console.log(
      events === 0
        ? `no history for the coordinator${untilSeq === undefined ? '' : ` up to sequence ${untilSeq}`} (no workflow was started)`
        : `— ${events} event(s); coordinator at sequence ${state.seq}: ${coordinatorLine(state)}`,
    );
  return 0;
}

/** The coordinator's state as JSON: counts, and each unfinished workflow with its open tasks. */
export function summarizeCoordinator(state: CoordinatorState) {
  const workflows = { running: 0, completed: 0, failed: 0, cancelled: 0, rejected: 0 };
  const running: Record<string, { workflow: string; steps: Record<string, string>; openTasks: string[] }> =
    {};
  for (const run of state.workflows.values()) {
    workflows[run.status] += 1;
    if (run.status !== 'running') continue;
    running[run.id] = {
      workflow: run.workflow,
      steps: Object.fromEntries([...run.steps.values()].map((s) => [s.name, s.status])),
      openTasks: [...run.steps.values()].flatMap((s) =>
        s.tasks.filter((t) => t?.status === 'running').map((t) => t.taskId),
      ),
    };
  }
  return {
    seq: state.seq,
    workflows,
    openTasks: openTasks(state),
    unpublished: [...state.workflows.values()].filter((r) => r.status !== 'running' && !r.published).length,
    running,
  };
}

function openTasks(state: CoordinatorState): number {
  let open = 0;
  for (const run of state.workflows.values())
    for (const step of run.steps.values()) open += step.tasks.filter((t) => t?.status === 'running').length;
  return open;
}

function coordinatorLine(state: CoordinatorState): string {
  const s = summarizeCoordinator(state);
  const w = s.workflows;
  const rejected = w.rejected > 0 ? ` · ${w.rejected} rejected` : '';
  return `workflows ${w.running} running · ${w.completed} completed · ${w.failed} failed · ${w.cancelled} cancelled${rejected} · ${s.openTasks} task(s) open`;
}

/** One event as a line of what the coordinator decided or learnt, then its state after it. */
export function describeCoordinatorEvent(
  seq: number,
  time: string,
  event: HistoryEvent,
  state: CoordinatorState,
): string {
  const workflowId = (event.data as { workflowId?: unknown }).workflowId;
  const head = `#${seq} ${time} ${event.type.padEnd(24)} ${typeof workflowId === 'string' ? workflowId : '(coordinator)'}`;
  let detail = '';
  switch (event.type) {
    case 'workflow.started':
      detail = `${event.data.workflow} (${Object.keys(event.data.definition.steps).join(', ')}), input: ${clip(event.data.input, 80)}`;
      break;
    case 'workflow.rejected':
      detail = `${event.data.workflow === undefined ? '' : `${event.data.workflow}: `}${event.data.error.code}: ${clip(event.data.error.message)}`;
      break;
    case 'workflow.step_started':
      detail = `step ${event.data.step}${event.data.items === undefined ? '' : `, ${event.data.items.length} item(s): ${clip(JSON.stringify(event.data.items), 80)}`}`;
      break;
    case 'workflow.task_dispatched':
      detail = `step ${event.data.step}${event.data.index > 0 || isMap(state, event.data.workflowId, event.data.step) ? ` item ${event.data.index}` : ''} → ${event.data.agent} task ${event.data.taskId} (attempt ${event.data.attempt}): ${clip(event.data.input, 80)}`;
      break;
    case 'workflow.task_sent':
      detail = `task ${event.data.taskId} on ${agentOf(state, event.data.taskId)}'s inbox (seq ${event.data.inboxSeq})`;
      break;
    case 'workflow.task_finished': {
      const d = event.data;
      const what =
        d.error === undefined ? clip(d.output ?? '', 80) : `${d.error.code}: ${clip(d.error.message, 80)}`;
      const how =
        d.timedOut === true
          ? ' (timed out)'
          : d.rejected === true
            ? ' (rejected by the agent; not retried)'
            : '';
      detail = `task ${d.taskId} ${d.status}${how}: ${what}`;
      break;
    }
    case 'workflow.cancel_sent':
      detail = `cancel sent to ${agentOf(state, event.data.taskId)} for task ${event.data.taskId}`;
      break;
    case 'workflow.step_finished': {
      const d = event.data;
      const what =
        d.error === undefined ? clip(d.output ?? '', 80) : `${d.error.code}: ${clip(d.error.message, 80)}`;
      detail = `step ${d.step} ${d.status}: ${what}`;
      break;
    }
    case 'workflow.finished': {
      const d = event.data;
      const what =
        d.error === undefined ? clip(d.output ?? '', 80) : `${d.error.code}: ${clip(d.error.message, 80)}`;
      detail = `${d.status}: ${what}`;
      break;
    }
    case 'workflow.published':
      detail = `result published${event.data.resultSeq === undefined ? '' : ` (results seq ${event.data.resultSeq})`}`;
      break;
    default:
      // An agent's event in the coordinator's history means nothing here (evolveCoordinator ignores it).
      detail = 'not a workflow event; ignored';
  }
  return `${head}  ${detail}\n    → ${coordinatorLine(state)}`;
}

function isMap(state: CoordinatorState, workflowId: string, step: string): boolean {
  return state.workflows.get(workflowId)?.definition.steps[step]?.map !== undefined;
}

function agentOf(state: CoordinatorState, taskId: string): string {
  return findTask(state, taskId)?.task.agent ?? 'the agent';
}

function clip(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
