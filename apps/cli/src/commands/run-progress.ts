import { COORDINATOR, type HistoryEvent } from '@spool/core';
import { followHistory, historyStore, type SpoolConnection } from '@spool/jetstream';

/**
 * `spool run --wait`'s progress: this run's events as the coordinator journals them on
 * `spool.history.coordinator`, read live from just after its last commit before the start
 * message is published (so nothing of the run is missed and nothing older is shown).
 */
export interface RunProgress {
  /** Prints what was held so far, then each event as it comes (until then lines are held). */
  show(): void;
  /** Stops following; with `drain`, first waits (at most `drain` ms) for the run's last event. */
  stop(drain?: number): Promise<void>;
}

export type ProgressMode = 'text' | 'json';

/** Starts following; call before publishing the start message. */
export async function followRun(
  connection: SpoolConnection,
  workflowId: string,
  mode: ProgressMode,
  startedAt: number,
): Promise<RunProgress> {
  const fromSeq = (await historyStore(connection).lastSeq(COORDINATOR)) + 1;
  const follow = await followHistory(connection, COORDINATOR, fromSeq);
  const describer = new ProgressDescriber();
  let markEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });
  // Held until show(): the command prints its own line first (and shows none for a duplicate).
  let held: (() => void)[] | undefined = [];
  const print = (write: () => void) => (held === undefined ? write() : held.push(write));
  const done = (async () => {
    for await (const commit of follow) {
      for (const event of commit.events) {
        if ((event.data as { workflowId?: unknown }).workflowId !== workflowId) continue;
        if (mode === 'json') {
          const line = JSON.stringify({ type: 'progress', event });
          print(() => console.log(line));
        } else {
          const line = describer.describe(event);
          const at = elapsed(Date.now() - startedAt);
          if (line !== undefined) print(() => console.error(`  ${at} ${line}`));
        }
        if (event.type === 'workflow.finished' || event.type === 'workflow.rejected') markEnded();
      }
    }
  })().catch(() => undefined);
  let stopped = false;
  return {
    show() {
      const writes = held ?? [];
      held = undefined;
      for (const write of writes) write();
    },
    async stop(drain = 0) {
      if (stopped) return;
      stopped = true;
      if (drain > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(resolve, drain)))]);
        clearTimeout(timer);
      }
      await follow.stop();
      await done;
    },
  };
}

/** `+1.2s`, `+59.9s`, `+1m05s`, `+1h02m03s`. */
export function elapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `+${s.toFixed(1)}s`;
  const total = Math.floor(s);
  const sec = String(total % 60).padStart(2, '0');
  const min = Math.floor(total / 60);
  if (min < 60) return `+${min}m${sec}s`;
  return `+${Math.floor(min / 60)}h${String(min % 60).padStart(2, '0')}m${sec}s`;
}

/**
 * One line per meaningful event of a run (the rest, bookkeeping such as task_sent, gives
 * undefined). Remembers each dispatched task's step and item to label its outcome.
 */
export class ProgressDescriber {
  private readonly tasks = new Map<string, string>();
  private readonly mapSteps = new Set<string>();

  describe(event: HistoryEvent): string | undefined {
    switch (event.type) {
      case 'workflow.started': {
        const steps = Object.keys(event.data.definition.steps);
        return `${event.data.workflow}: workflow started (${steps.length} step(s): ${steps.join(', ')})`;
      }
      case 'workflow.rejected':
        return `workflow rejected: ${event.data.error.code}: ${event.data.error.message}`;
      case 'workflow.step_started': {
        const items = event.data.items;
        if (items !== undefined) this.mapSteps.add(event.data.step);
        return `${event.data.step}: step started${items === undefined ? '' : `, ${items.length} item(s)`}`;
      }
      case 'workflow.task_dispatched': {
        const d = event.data;
        const label = this.mapSteps.has(d.step) ? `${d.step}[${d.index}]` : d.step;
        this.tasks.set(d.taskId, label);
        const what = d.attempt > 1 ? `retry (attempt ${d.attempt})` : 'started';
        return `${label}: ${what} → ${d.agent} (${d.taskId})`;
      }
      case 'workflow.task_finished': {
        const d = event.data;
        const label = this.tasks.get(d.taskId) ?? labelOf(d.workflowId, d.taskId);
        const why = d.timedOut === true ? ', timed out' : d.error === undefined ? '' : `: ${d.error.code}`;
        const rejected = d.rejected === true ? ', rejected by the agent (not retried)' : '';
        return `${label}: ${d.status}${why}${rejected} (${d.taskId})`;
      }
      case 'workflow.step_finished': {
        const d = event.data;
        return `${d.step}: step ${d.status}${d.error === undefined ? '' : `: ${d.error.code}`}`;
      }
      case 'workflow.finished': {
        const d = event.data;
        return `workflow ${d.status}${d.error === undefined ? '' : `: ${d.error.code}`}`;
      }
      default:
        return undefined;
    }
  }
}

/** `<workflowId>:<step>:<index>:<attempt>` → `<step>` (a task dispatched before the follow began). */
function labelOf(workflowId: string, taskId: string): string {
  const rest = taskId.startsWith(`${workflowId}:`) ? taskId.slice(workflowId.length + 1) : taskId;
  return rest.split(':')[0] ?? taskId;
}
