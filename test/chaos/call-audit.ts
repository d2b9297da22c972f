import { lastUserText, type RecordedRequest } from '@spool/testkit';

/** A fault as a window in time, charged with the repeated model calls it explains. */
export interface FaultWindow {
  readonly from: number;
  readonly to: number;
  repeats: number;
}

export interface CallAudit {
  /** Each task's model calls (their times), found by the request's task input. */
  readonly callsOf: Map<string, number[]>;
  /** Requests that are no task's. */
  readonly unmapped: string[];
  /** Requests made after the task's reply was journaled: a journaled reply is never asked again. */
  readonly afterJournal: string[];
  /** Repeats no fault explains. */
  readonly unexplained: string[];
  readonly repeatedCalls: number;
  readonly tasksRepeated: number;
}

/**
 * The model-call checks of a chaos run: each request mapped to its task by its last user
 * message, then every repeat charged to the latest fault between the task's previous call and
 * the repeat (that `explains` admits for the task). Faults' `repeats` are counted up.
 */
export function auditCalls<F extends FaultWindow>(options: {
  readonly requests: readonly RecordedRequest[];
  readonly taskOfInput: ReadonlyMap<string, string>;
  readonly journaledAt: ReadonlyMap<string, number>;
  readonly faults: readonly F[];
  readonly rel: (at: number) => string;
  readonly explains?: (fault: F, taskId: string) => boolean;
  /** How a task is named in `unexplained`. */
  readonly label?: (taskId: string) => string;
}): CallAudit {
  const { rel, explains = () => true, label = (taskId) => taskId } = options;
  const callsOf = new Map<string, number[]>();
  const unmapped: string[] = [];
  for (const request of options.requests) {
    const text = lastUserText(request.body);
    const taskId = options.taskOfInput.get(text);
    if (taskId === undefined) unmapped.push(`${rel(request.at)} ${text}`);
    else callsOf.set(taskId, [...(callsOf.get(taskId) ?? []), request.at]);
  }
  const afterJournal = [...callsOf].flatMap(([taskId, times]) => {
    const at = options.journaledAt.get(taskId);
    return times.filter((t) => at === undefined || t > at).map((t) => `${taskId} asked ${rel(t)}`);
  });
  const unexplained: string[] = [];
  let repeatedCalls = 0;
  for (const [taskId, times] of callsOf) {
    times.sort((a, b) => a - b);
    for (let k = 1; k < times.length; k++) {
      const previous = times[k - 1] as number;
      const repeat = times[k] as number;
      repeatedCalls += 1;
      const cause = options.faults
        .filter((x) => x.from <= repeat && x.to >= previous && explains(x, taskId))
        .at(-1);
      if (cause === undefined) unexplained.push(`${label(taskId)}: ${rel(previous)} then ${rel(repeat)}`);
      else cause.repeats += 1;
    }
  }
  const tasksRepeated = [...callsOf.values()].filter((t) => t.length > 1).length;
  return { callsOf, unmapped, afterJournal, unexplained, repeatedCalls, tasksRepeated };
}
