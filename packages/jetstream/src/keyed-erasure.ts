import { randomBytes } from 'node:crypto';
import { eventIds, instanceName, keyProblem, Streams, subjects } from '@spool/core/internal';
import { retryUnknownOutcome } from './errors.ts';
import { keyedHistoryStore } from './history-store.ts';
import { keyedForwarding } from './keyed-forward.ts';
import { keyedOwnership } from './keyed-ownership.ts';
import { internals } from './internal.ts';
import { snapshotStore } from './snapshot-store.ts';
import type { SpoolConnection } from './types.ts';

export interface ForgetOutcome {
  /** Messages removed per store: history commits, results, queued tasks and commands, snapshot keys. */
  readonly purged: Record<string, number>;
  /** Sequence of the tombstone, the instance's new first event. */
  readonly tombstoneSeq: number;
}

/** How long `forgetInstance` waits for the host running the instance to let it go. */
const TAKE_TIMEOUT_MS = 30_000;

/**
 * Erases one instance of a keyed agent (an admin's action: it purges subjects): its history,
 * results, snapshot, ownership and wake records, and its queued tasks and commands, leaving the
 * other keys untouched. The instance is fenced first: this takes its ownership (as a host of its
 * own, asking a live host that runs it to passivate it), so no host activates it meanwhile.
 * Then a tombstone (`agent.forgotten`, no personal data) becomes its first event.
 */
export async function forgetInstance(
  connection: SpoolConnection,
  agent: string,
  key: string,
): Promise<ForgetOutcome> {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new Error(problem);
  const { jsm, ns } = internals(connection);
  const ownership = await keyedOwnership(connection);
  const forwarding = keyedForwarding(connection);
  const me = `forget-${randomBytes(4).toString('hex')}`;
  const lease = await ownership.hostLease(agent, me, 10_000);
  try {
    const deadline = Date.now() + TAKE_TIMEOUT_MS;
    let claim = await ownership.claim(agent, key, me);
    while (!claim.mine) {
      if (Date.now() > deadline)
        throw new Error(`${agent}/${key} is still running on host ${claim.host}; try again when it is idle`);
      await forwarding.passivate(agent, claim.host, key, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      claim = await ownership.claim(agent, key, me);
    }
    const purge = (stream: string, filter: string) =>
      retryUnknownOutcome(
        () => jsm.streams.purge(ns.stream(stream), { filter: ns.subject(filter) }),
        10_000,
      ).then((r) => r.purged);
    const name = instanceName(agent, key);
    const purged: Record<string, number> = {
      tasks: await purge(Streams.Inbox, subjects.keyedInbox(agent, key)),
      commands: await purge(Streams.Inbox, subjects.keyedControl(agent, key)),
      history: await purge(Streams.Keyed, subjects.keyedHistory(name)),
      results: await purge(Streams.Results, `spool.results.${name}.>`),
    };
    await (await snapshotStore(connection)).remove(name);
    await ownership.removeWake(agent, key);
    await ownership.clearAllAttempts(agent, key);
    const at = new Date().toISOString();
    const store = keyedHistoryStore(connection, (json) => json as { events: { id: string }[] });
    const tombstone = {
      id: eventIds.forgotten(name, at),
      type: 'agent.forgotten',
      v: 1,
      data: { at, purged },
    };
    const { seq } = await store.append(name, [tombstone], 0);
    await ownership.release(agent, key, claim.revision);
    return { purged, tombstoneSeq: seq };
  } finally {
    await lease.release().catch(() => undefined);
  }
}
