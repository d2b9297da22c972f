import type { AgentStatus, StatusReport, TaskResult } from '@spool/core';
import { poolReplicas, results, type SpoolConnection, taskOwner } from '@spool/jetstream';

/** Every actor of a status report: agents, and each pool's replicas (which hold a pool's tasks). */
export function actorsOf(report: StatusReport): AgentStatus[] {
  return [...report.agents, ...report.pools.flatMap((p) => p.replicas)];
}

/** The actor (agent or pool replica) that has `taskId` in flight, by the coordinator's report. */
export function actorRunning(report: StatusReport, taskId: string): string | undefined {
  return actorsOf(report).find((a) => a.inFlight.some((t) => t.taskId === taskId))?.name;
}

/** The actor whose task waits for an operator's approval, with what it waits for. */
export function approvalWaiting(
  report: StatusReport,
  taskId: string,
): { agent: string; approval: AgentStatus['approvals'][number] } | undefined {
  for (const actor of actorsOf(report)) {
    const approval = actor.approvals.find((w) => w.taskId === taskId);
    if (approval !== undefined) return { agent: actor.name, approval };
  }
  return undefined;
}

/**
 * Where a cancel of `taskId` on `agent` goes: nowhere when the task already has its result;
 * the replica holding it for a pool's claimed task; every replica of a pool when none has
 * claimed it yet (each records the request, the one it reaches cancels it); else the agent.
 */
export async function cancelTargets(
  connection: SpoolConnection,
  agent: string,
  taskId: string,
): Promise<{ finished: TaskResult } | { targets: string[]; unclaimedPoolTask: boolean }> {
  const finished = await results(connection).get(agent, taskId);
  if (finished !== undefined) return { finished };
  const owner = await taskOwner(connection, agent, taskId);
  if (owner === agent) {
    // Not claimed yet: nobody reads spool.control.<pool>, so every replica gets it.
    const replicas = await poolReplicas(connection, agent);
    if (replicas.length > 0) return { targets: replicas, unclaimedPoolTask: true };
  }
  return { targets: [owner], unclaimedPoolTask: false };
}

/**
 * The pool `actor` is a replica of (`crew` for `crew-2`, when the pool's replicas have run
 * here), or undefined for a plain agent. A pool's replicas publish their tasks' live text
 * and results under the pool's name.
 */
export async function poolOfReplica(connection: SpoolConnection, actor: string): Promise<string | undefined> {
  const pool = /^(.+)-[1-9][0-9]*$/.exec(actor)?.[1];
  if (pool === undefined) return undefined;
  return (await poolReplicas(connection, pool)).includes(actor) ? pool : undefined;
}
