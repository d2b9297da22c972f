import {
  type AgentState,
  AGENT_NAME_PATTERN,
  COORDINATOR,
  evolve,
  type HistoryEvent,
  initialState,
  parseAgentCommit,
  parseCoordinatorCommit,
  taskIdOf,
} from '@spool/core/internal';
import { historyStore } from '@spool/jetstream';
import type { Logger } from 'pino';
import { parseCommand, positiveInt } from '../args.ts';
import { ensureNats } from '../embedded-nats.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { UsageError } from '../usage-error.ts';
import { replayCoordinator } from './replay-coordinator.ts';
import { agentFold, coordinatorFold, verifySnapshot } from './verify-snapshot.ts';

/** `spool replay <agent>`: each event and the state it led to, folded with core's evolve. */
export async function replayCommand(argv: string[], logger: Logger): Promise<number> {
  const { values, positionals } = parseCommand(
    'replay',
    argv,
    { until: { type: 'string' }, json: { type: 'boolean' }, verify: { type: 'boolean' } },
    { required: ['agent'] },
  );
  const agent = positionals[0] as string;
  if (!AGENT_NAME_PATTERN.test(agent) && agent !== COORDINATOR) {
    throw new UsageError(
      `spool replay: "${agent}" is not a valid agent name (lower-case letters, digits and dashes)`,
    );
  }
  const untilSeq = positiveInt('replay', 'until', values.until);
  if (values.verify && untilSeq !== undefined)
    throw new UsageError("spool replay: --verify compares at the snapshot's own sequence; drop --until");
  const nats = await ensureNats(natsTarget({ role: 'operator' }), logger);
  const connection = await openConnection(nats.target, 'spool-replay', logger);
  try {
    // The coordinator's history holds workflow events, folded with evolveCoordinator.
    if (agent === COORDINATOR)
      return values.verify
        ? await verifySnapshot(connection, COORDINATOR, values.json === true, coordinatorFold)
        : await replayCoordinator(
            historyStore(connection, parseCoordinatorCommit),
            untilSeq,
            values.json === true,
          );
    const store = historyStore(connection, parseAgentCommit);
    if (values.verify) return await verifySnapshot(connection, agent, values.json === true, agentFold(agent));
    const state = initialState(agent);
    let events = 0;
    for await (const commit of store.replay(agent, untilSeq === undefined ? {} : { untilSeq })) {
      for (const event of commit.events) {
        evolve(state, event);
        events += 1;
        if (values.json)
          console.log(JSON.stringify({ seq: commit.seq, time: commit.time, event, state: summarize(state) }));
        else console.log(describe(commit.seq, commit.time, event, state));
      }
      state.seq = commit.seq;
    }
    if (!values.json) {
      console.log(
        events === 0
          ? `no history for agent "${agent}"${untilSeq === undefined ? '' : ` up to sequence ${untilSeq}`}`
          : `— ${events} event(s); state at sequence ${state.seq}: ${oneLine(state)}`,
      );
    }
    return 0;
  } finally {
    await connection.close();
    await nats.stop();
  }
}

/** The state as JSON: active tasks in full, the rest as counts. */
function summarize(state: AgentState) {
  return {
    seq: state.seq,
    active: Object.fromEntries(
      [...state.active.values()].map((t) => [
        t.taskId,
        { phase: t.phase, attempt: t.attempt, steps: t.steps.length, specHash: t.specHash, usage: t.usage },
      ]),
    ),
    done: state.done.size,
    memory: state.memory.length,
    exchanges: state.exchanges,
    counts: state.counts,
    usage: state.usage,
    paused: state.paused,
  };
}

function oneLine(state: AgentState): string {
  const active = [...state.active.values()].map((t) => `${t.taskId}:${t.phase}`);
  const paused = state.paused ? 'PAUSED · ' : '';
  return `${paused}active [${active.join(', ')}] · done ${state.done.size} · memory ${state.memory.length} exchange(s) · ${state.usage.inputTokens} in / ${state.usage.outputTokens} out tokens`;
}

function describe(seq: number, time: string, event: HistoryEvent, state: AgentState): string {
  const head = `#${seq} ${time} ${event.type.padEnd(16)} ${taskIdOf(event) ?? '(agent)'}`;
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
  return `${head}  ${detail}\n    → ${oneLine(state)}`;
}

function clip(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
