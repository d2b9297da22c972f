import type { AgentState } from './state.ts';

/** A tool call waiting for an operator's decision (`spool approve` / `spool deny`), as status shows it. */
export interface ApprovalWait {
  readonly taskId: string;
  readonly tool: string;
  /** The call's input as JSON, cut to 200 characters. */
  readonly input: string;
  readonly reason: string;
  readonly requestedAt: string;
}

/** The tool calls of the state's tasks that wait for an operator. */
export function pendingApprovals(state: AgentState): ApprovalWait[] {
  return [...state.active.values()].flatMap((task) =>
    (task.steps.at(-1)?.tools ?? []).flatMap((call) =>
      call.approval?.state === 'pending'
        ? [
            {
              taskId: task.taskId,
              tool: call.name,
              input: (JSON.stringify(call.input) ?? '').slice(0, 200),
              reason: call.approval.reason,
              requestedAt: call.approval.at,
            },
          ]
        : [],
    ),
  );
}
