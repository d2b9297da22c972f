import {
  type AgentState,
  COORDINATOR,
  finishedCount,
  type HistoryEvent,
  parseCoordinatorCommit,
  taskIdOf,
} from '@spool/core/internal';
import { historyStore } from '@spool/jetstream';
import type { Logger } from 'pino';
import { addressOf } from '../address.ts';
import { parseCommand, positiveInt } from '../args.ts';
import { ensureNats } from '../embedded-nats.ts';
import { natsTarget } from '../env.ts';
import { openConnection } from '../host.ts';
import { replayAgent, summarizeAgentState } from '../operator/agent-replay.ts';
import { eventDetail } from '../operator/event-detail.ts';
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
  // An agent, the coordinator, or one instance `<agent>/<key>` of a keyed agent (its history only).
  const address = positionals[0] === COORDINATOR ? undefined : addressOf('replay', positionals[0] as string);
  const agent = address?.wire ?? COORDINATOR;
  const keyed = address?.key !== undefined;
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
    // A keyed instance's state is named `<agent>.<key>`, as its host restores it.
    if (values.verify)
      return await verifySnapshot(
        connection,
        agent,
        values.json === true,
        agentFold(agent),
        address?.key === undefined ? undefined : { agent: address.agent, key: address.key },
      );
    let events = 0;
    let lastSeq = 0;
    let last: AgentState | undefined;
    for await (const { seq, time, event, state } of replayAgent(connection, agent, { untilSeq, keyed })) {
      events += 1;
      lastSeq = seq;
      last = state;
      if (values.json) console.log(JSON.stringify({ seq, time, event, state: summarizeAgentState(state) }));
      else console.log(describe(seq, time, event, state));
    }
    if (!values.json) {
      console.log(
        events === 0
          ? `no history for agent "${agent}"${untilSeq === undefined ? '' : ` up to sequence ${untilSeq}`}`
          : `— ${events} event(s); state at sequence ${lastSeq}: ${oneLine(last as AgentState)}`,
      );
    }
    return 0;
  } finally {
    await connection.close();
    await nats.stop();
  }
}

function oneLine(state: AgentState): string {
  const active = [...state.active.values()].map((t) => `${t.taskId}:${t.phase}`);
  const paused = state.paused ? 'PAUSED · ' : '';
  return `${paused}active [${active.join(', ')}] · finished ${finishedCount(state)} · memory ${state.memory.length} exchange(s) · ${state.usage.inputTokens} in / ${state.usage.outputTokens} out tokens`;
}

function describe(seq: number, time: string, event: HistoryEvent, state: AgentState): string {
  const head = `#${seq} ${time} ${event.type.padEnd(16)} ${taskIdOf(event) ?? '(agent)'}`;
  return `${head}  ${eventDetail(event, state)}\n    → ${oneLine(state)}`;
}
