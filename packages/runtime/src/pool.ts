import { type Clock, systemClock } from '@spool/actor';
import { type AgentSpec, ensureError, replicaNames } from '@spool/core/internal';
import type { Claims, Inbox, Results } from '@spool/jetstream';
import type { Logger } from 'pino';
import type { AgentHandle } from './agent.ts';
import type { Admission, PoolIntake } from './pool-intake.ts';

export interface PoolOptions {
  readonly pool: string;
  readonly spec: AgentSpec;
  /** The replicas this process runs, by name (`<pool>-<k>`). */
  readonly local: readonly string[];
  readonly claims: Claims;
  readonly results: Pick<Results, 'get'>;
  readonly logger: Logger;
  /**
   * Starts a replica's actor in this process. `adopted`: a dead sibling's, taken over to finish
   * what its history holds; it takes no new work and gives up at once if the name is held.
   */
  start(replica: string, intake: PoolIntake, adopted: boolean): Promise<AgentHandle>;
}

/**
 * Runs some replicas of an agent pool in this process, and watches the others: a sibling that
 * died (its lease exists and expired; a clean stop releases it) is adopted here, its history
 * replayed and its tasks finished, then released once idle so that it can come back.
 * The returned handle stands for the whole pool in this process.
 */
export function startPool(options: PoolOptions): AgentHandle {
  const { pool, spec, claims, results } = options;
  const logger = options.logger.child({ pool });
  const local = new Set(options.local);
  const siblings = replicaNames(pool, spec.replicas).filter((r) => !local.has(r));
  /** Actors run here (own replicas and adopted ones), with what stops answering for them. */
  const actors = new Map<string, { handle: AgentHandle; adopted: boolean; unanswer: () => void }>();
  const adopting = new Map<string, Promise<AgentHandle | undefined>>();
  let stopping = false;

  const track = (replica: string, handle: AgentHandle, adopted: boolean) => {
    const unanswer = claims.answer(replica, (taskId) => handle.knows(taskId));
    actors.set(replica, { handle, adopted, unanswer });
    void handle.stopped.then(() => {
      unanswer();
      if (actors.get(replica)?.handle === handle) actors.delete(replica);
    });
  };

  /** Runs a dead sibling here; resolves with its actor once replayed, or undefined if another process has it. */
  const adopt = (replica: string): Promise<AgentHandle | undefined> => {
    const running = actors.get(replica);
    if (running !== undefined) return running.handle.ready.then(() => running.handle);
    if (stopping || local.has(replica)) return Promise.resolve(undefined);
    let pending = adopting.get(replica);
    if (pending === undefined) {
      pending = (async () => {
        const handle = await options.start(replica, intakeFor(replica), true);
        const ok = await Promise.race([handle.ready.then(() => true), handle.stopped.then(() => false)]);
        if (!ok) return undefined;
        track(replica, handle, true);
        logger.warn(
          { replica, unfinished: handle.state()?.active.size ?? 0 },
          'adopted a replica whose process is gone: finishing the tasks in its history here',
        );
        return handle;
      })()
        .catch((err) => {
          logger.warn({ replica, err: ensureError(err).message }, 'could not adopt replica');
          return undefined;
        })
        .finally(() => adopting.delete(replica));
      adopting.set(replica, pending);
    }
    return pending;
  };

  function intakeFor(replica: string): PoolIntake {
    return {
      name: pool,
      admit: (taskId) => admit(replica, taskId),
      finished: release,
    };
  }

  /** Best effort: a claim left behind only takes room (and is released when a copy comes back). */
  function release(taskId: string): void {
    claims.release(pool, taskId).catch((err) => {
      logger.debug({ taskId, err: ensureError(err).message }, 'claim not released');
    });
  }

  async function admit(replica: string, taskId: string): Promise<Admission> {
    const claim = await claims.claim(pool, taskId, replica);
    if (claim.created) {
      // No claim: never claimed, or released once its result was published. The result tells.
      if (!(await claims.published(pool, taskId))) return { kind: 'run', tries: claim.tries };
      release(taskId);
      return { kind: 'ack', why: 'its result is published' };
    }
    if (claim.owner === replica) {
      // Claimed by this replica before (it crashed or stopped before journaling it): another try.
      const mine = await claims.takeOver(pool, taskId, replica, claim);
      return mine === undefined
        ? { kind: 'later', why: 'the claim changed while taking it' }
        : { kind: 'run', tries: mine.tries };
    }
    const owner = claim.owner;
    if ((await results.get(pool, taskId)) !== undefined) {
      release(taskId); // left behind by a replica that died before releasing it
      return { kind: 'ack', why: `${owner} finished it` };
    }
    let known = await claims.ask(owner, taskId);
    if (known === undefined) {
      // Nobody answers for the owner: alive but still replaying, or gone.
      const lease = await claims.lease(owner);
      if (lease === 'live') return { kind: 'later', why: `${owner} is starting` };
      const adopted = await adopt(owner);
      if (adopted === undefined) return { kind: 'later', why: `${owner} is being taken over elsewhere` };
      known = adopted.knows(taskId);
      if (known === undefined) return { kind: 'later', why: `${owner} is not ready` };
    }
    if (known) return { kind: 'ack', why: `${owner} has it in its history` };
    // Its state keeps only the newest done ids: a task it finished long ago is known by its
    // result (looked for above on any replica of the stream; now on its leader, to be sure).
    if (await claims.published(pool, taskId)) {
      release(taskId);
      return { kind: 'ack', why: `${owner} finished it` };
    }
    // Claimed by a replica whose writer does not have it: it never got journaled. Take it.
    const taken = await claims.takeOver(pool, taskId, replica, claim);
    if (taken === undefined) return { kind: 'later', why: 'another replica took the claim first' };
    logger.info({ replica, taskId, from: owner }, 'took over a task its claimant never journaled');
    return { kind: 'run', tries: taken.tries };
  }

  const watch = async () => {
    for (const sibling of siblings) {
      if (stopping) return;
      const running = actors.get(sibling);
      if (running?.adopted) {
        // Adopted only to finish its tasks: give the name back once there is nothing left.
        if (running.handle.state()?.active.size === 0) {
          logger.info({ replica: sibling }, 'adopted replica has no unfinished task left; releasing it');
          await running.handle.stop();
        }
        continue;
      }
      if (running !== undefined || adopting.has(sibling)) continue;
      if ((await claims.lease(sibling)) !== 'expired') continue;
      // A lease also looks expired right after a NATS outage longer than its ttl, before its live
      // holder renews: a replica that still answers its siblings is alive, not adopted.
      if ((await claims.ask(sibling, '')) !== undefined) continue;
      await adopt(sibling);
    }
  };
  let watching = Promise.resolve();
  const timer = setInterval(() => {
    watching = watching
      .then(watch)
      .catch((err) => logger.warn({ err: ensureError(err).message }, 'pool watch failed; trying again'));
  }, spec.leaseTtlMs);

  const started = Promise.all(
    options.local.map(async (replica) =>
      track(replica, await options.start(replica, intakeFor(replica), false), false),
    ),
  );
  const ready = started
    .then(() => Promise.all([...actors.values()].map((a) => a.handle.ready)))
    .then(() => {
      logger.info({ replicas: options.local, of: spec.replicas }, 'pool replicas running');
    });
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const stop = async () => {
    stopping = true;
    clearInterval(timer);
    await started.catch(() => undefined);
    await watching;
    await Promise.allSettled([...adopting.values()]);
    await Promise.all([...actors.values()].map((a) => a.handle.stop()));
    resolveStopped();
  };
  return {
    name: pool,
    ready,
    state: () => undefined,
    knows: () => undefined,
    // Each replica has its own MCP servers (its own stdio children).
    mcpServers: () => [...actors.values()].flatMap((a) => a.handle.mcpServers()),
    stop,
    stopped,
  };
}

/** The inbox of an adopted replica: it takes no new work, it only finishes its history's tasks. */
export function noIntake(clock: Clock = systemClock): Inbox {
  return {
    fetch: async (_max, expiresMs, signal) => {
      await clock.sleep(expiresMs, signal).catch(() => undefined);
      return [];
    },
    pending: async () => ({ queued: 0, unacked: 0 }),
    reclaim: async () => 0,
  };
}
