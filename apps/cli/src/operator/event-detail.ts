import type { AgentState, HistoryEvent } from '@spool/core/internal';

/** One line saying what an event of an agent's history did (`spool replay`, the console's task page). */
export function eventDetail(event: HistoryEvent, state: AgentState): string {
  let detail = '';
  switch (event.type) {
    case 'task.received':
      detail = clip(event.data.input);
      break;
    case 'task.started':
      detail = `attempt ${event.data.attempt}, spec ${event.data.specHash}, sees ${event.data.memoryUpTo} earlier exchange(s)`;
      break;
    case 'model.responded':
      detail = `step ${event.data.step}, ${event.data.stopReason}, ${event.data.usage.inputTokens} in / ${event.data.usage.outputTokens} out`;
      break;
    case 'task.completed':
      detail = clip(event.data.output);
      break;
    case 'task.failed':
    case 'task.rejected':
      detail = `${event.data.error.code}: ${clip(event.data.error.message)}`;
      break;
    case 'result.published':
      detail = 'result published';
      break;
    case 'task.cancelled':
      detail = clip(event.data.reason);
      break;
    case 'agent.paused':
      detail = event.data.reason === undefined ? 'paused' : `paused: ${clip(event.data.reason)}`;
      break;
    case 'agent.resumed':
      detail = 'resumed';
      break;
    case 'model.failed':
      detail = `step ${event.data.step}, call ${event.data.call}: ${event.data.error.code}: ${clip(event.data.error.message)}${event.data.retryAt ? `; next call at ${event.data.retryAt}` : ''}`;
      break;
    case 'model.refused':
      detail = `step ${event.data.step}: call not made: ${clip(event.data.message, 160)}`;
      break;
    case 'task.resumed':
      detail = `a new writer resumed it (interruption ${event.data.interruptions})`;
      break;
    case 'task.retried':
      detail = 'sent back to work from the dead-letter view';
      break;
    case 'task.dropped':
      detail = 'removed from the dead-letter view';
      break;
    case 'memory.compacted':
      detail = `exchanges below ${event.data.upTo} summarized (request was ${event.data.tokens} tokens): ${clip(event.data.summary, 60)}`;
      break;
    case 'approval.requested':
      detail = `step ${event.data.step}: ${event.data.name} waits: ${clip(event.data.reason, 80)}`;
      break;
    case 'approval.decided':
      detail = event.data.approved ? 'approved' : `denied: ${clip(event.data.reason ?? '', 80)}`;
      break;
    case 'tool.started':
      detail = `step ${event.data.step}: ${event.data.toolUseId} run ${event.data.run} (not idempotent)`;
      break;
    case 'agent.spec_changed':
      detail = `spec ${event.data.from} → ${event.data.to}`;
      break;
    case 'tool.requested':
      detail = `step ${event.data.step}: ${event.data.name}(${clip(JSON.stringify(event.data.input) ?? '', 60)}) key ${event.data.key}`;
      break;
    case 'tool.completed':
      detail = `step ${event.data.step}: ${event.data.isError ? 'error: ' : ''}${clip(event.data.content, 80)}`;
      break;
    case 'delegation.requested':
      detail = `step ${event.data.step}: delegates to ${event.data.agent} as task ${event.data.childTaskId}: ${clip(event.data.input, 80)}`;
      break;
    case 'delegation.sent': {
      const d = event.data;
      const call = state.active
        .get(d.taskId)
        ?.steps.find((s) => s.step === d.step)
        ?.tools.find((t) => t.toolUseId === d.toolUseId)?.delegation;
      const where = call === undefined ? "the child's inbox" : `${call.agent}'s inbox as ${call.childTaskId}`;
      detail = `step ${d.step}: sub-task on ${where} (seq ${d.inboxSeq}); waiting for its result`;
      break;
    }
  }
  return detail;
}

function clip(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
