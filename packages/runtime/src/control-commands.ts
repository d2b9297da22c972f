import type { AgentState, Command, ControlMessage } from '@spool/core/internal';

/** The journal command an operator's control message asks for. */
export function commandFor(order: ControlMessage, controlSeq: number, at: string): Command {
  switch (order.type) {
    case 'pause':
      return {
        type: 'Pause',
        controlSeq,
        ...(order.reason === undefined ? {} : { reason: order.reason }),
        at,
      };
    case 'resume':
      return { type: 'Resume', controlSeq, at };
    case 'cancel':
      return {
        type: 'Cancel',
        taskId: order.taskId,
        reason: order.reason ?? 'cancelled by an operator',
        controlSeq,
        at,
      };
    case 'retry':
      return { type: 'Retry', taskId: order.taskId, controlSeq, at };
    case 'drop':
      return { type: 'Drop', taskId: order.taskId, controlSeq, at };
    case 'approve':
      return { type: 'DecideApproval', taskId: order.taskId, approved: true, controlSeq, at };
    case 'deny':
      return {
        type: 'DecideApproval',
        taskId: order.taskId,
        approved: false,
        reason: order.reason,
        controlSeq,
        at,
      };
  }
}

/** What the log says a control message did. */
export const DONE: Record<ControlMessage['type'], string> = {
  pause: 'agent paused',
  resume: 'agent resumed',
  cancel: 'task cancelled',
  retry: 'failed task queued again (a new attempt)',
  drop: 'failed task dropped from the dead-letter view',
  approve: 'approved: the waiting tool calls run',
  deny: 'denied: the model is told the waiting tool calls failed',
};

/** Why a control message changed nothing, for the log. */
export function noEffectReason(order: ControlMessage, state: AgentState): string {
  if (order.type === 'pause') return 'already paused';
  if (order.type === 'resume') return 'not paused';
  if (order.type === 'retry' || order.type === 'drop') return 'the task is not in the dead-letter view';
  if (order.type === 'approve' || order.type === 'deny') return 'the task is not waiting for an approval';
  return state.cancelRequests.has(order.taskId)
    ? 'cancellation already recorded'
    : 'the task has already finished';
}
