import { type Clock, systemClock } from '@spool/actor';
import {
  type AgentSpec,
  type AgentState,
  awaitedResults,
  firstTimerDue,
  ensureError,
  isPassivatable,
  IO_RETRY_MS,
  type KeyedSettings,
  keyOfSubject,
  keyProblem,
  type Observer,
  pendingApprovals,
  subjects,
} from '@spool/core/internal';
import type {
  ForwardedMessage,
  ForwardOutcome,
  Inbox,
  InboxMessage,
  KeyedForwarding,
  KeyedOwnership,
  Lease,
  Leases,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import type { AgentHandle } from './agent.ts';
import { rejectBadKey } from './keyed-refusal.ts';
import { Mailbox } from './keyed-mailbox.ts';
import { RecencyList } from './recency-list.ts';
import type { Results } from '@spool/jetstream';
import { LATER_MS } from './pool-intake.ts';
import type { TaskAttempts } from './task-attempts.ts';

/** What an instance is started with: its mailboxes and the ownership it runs under. */
export interface InstancePorts {
  readonly inbox: Inbox;
  readonly control: Inbox;
  /** Hands the actor the ownership already claimed; its `lost` ends the instance. */
  readonly leases: Pick<Leases, 'acquire'>;
  /** Never activated anywhere before (a fresh ownership record): nothing to restore. */
  readonly fresh: boolean;
  /** Its attempts at journaling redelivered tasks, counted in `spool_keyed` (the poison limit). */
  readonly attempts: TaskAttempts;
}

export interface KeyedHostOptions {
  readonly agent: string;
  readonly spec: AgentSpec;
  readonly settings: KeyedSettings;
  /**
   * This process as a host of the agent (unique per process: a restart is a new host). A host
   * that loses its lease holds the next one under a new id (`<host>-2`, …): what it ran under
   * the old id is adopted like any dead host's, and no record of the old id is taken for its own.
   */
  readonly host: string;
  /** The agent's shared consumers: `spool.inbox.<agent>.*` and `spool.control.<agent>.*`. */
  readonly inbox: Inbox;
  readonly control: Inbox;
  readonly ownership: KeyedOwnership;
  readonly forwarding: KeyedForwarding;
  readonly results: Pick<Results, 'publish' | 'wait'>;
  /** Counts the results it publishes itself (a task for a bad key), under the agent's name. */
  readonly observer?: Observer;
  /** Starts the instance's actor (agent.ts with `keyed` set) on these ports. */
  startInstance(key: string, ports: InstancePorts): AgentHandle;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly fetchExpiresMs?: number;
  /** How often a message held while it is routed is kept from redelivery (a third of the ack wait). */
  readonly keepAliveMs?: number;
  /** How often the host logs what its instances did (activations, passivations, forwards) at info. */
  readonly summaryMs?: number;
}

/** A keyed agent's host in this process: its instances, for tests and status. */
export interface KeyedHostHandle extends AgentHandle {
  /** Keys of the instances active here. */
  activeKeys(): string[];
  /** The state of an instance active here. */
  instanceState(key: string): AgentState | undefined;
}

interface Instance {
  readonly key: string;
  readonly inbox: Mailbox;
  readonly control: Mailbox;
  readonly handle: AgentHandle;
  lastUsed: number;
  /**
   * Stopped with work unfinished (the host stops): its ownership record stays, so that another
   * host adopts it once this host's lease expires.
   */
  keepOwnership: boolean;
  /** Set once passivation began: the instance takes no more messages. */
  passivating?: Promise<void>;
  /** Counted in `passivatingCount` (from passivation's start until the instance has stopped). */
  countedPassivating?: boolean;
}

const HOST_STOPPING = 'host stopping';
/** How long a host waits for the owner of a key to take a forwarded message. */
const FORWARD_TIMEOUT_MS = 20_000;
/** Messages routed but not yet in a mailbox or forwarded, at most (per kind): the pull waits past it. */
const MAX_ROUTING = 512;
/** Between two tries of a message's routing (the owner handed it back, or no instance could be made room for). */
const ROUTE_RETRY_MS = { first: 25, max: 1_000 } as const;
const SUMMARY_MS = 60_000;

/**
 * Hosts the instances of a keyed agent in this process. One pull on the agent's shared
 * consumers feeds every key: each message goes to its instance's mailbox, the instance being
 * activated on its first message (its ownership claimed, snapshot plus tail replayed). A
 * message for a key another live host runs is forwarded to it. Instances are passivated after
 * `idleMs` without work, or least recently used first once `maxActive` are active; one whose
 * tasks only wait (a delegation, an approval) is passivated too, leaving a wake record that
 * activates it again when a result it waits for arrives (an approval arrives as a control
 * message, which activates it like any message). Instances of a host that died are adopted.
 */
export function startKeyedHost(options: KeyedHostOptions): KeyedHostHandle {
  const { agent, settings, ownership } = options;
  const clock = options.clock ?? systemClock;
  /** The id this host holds its current lease under (a new one after each loss). */
  let host = options.host;
  let generation = 1;
  let logger = options.logger.child({ agent, host });
  const fetchExpiresMs = options.fetchExpiresMs ?? 2_000;
  const keepAliveMs = options.keepAliveMs ?? 5_000;
  const stopping = new AbortController();
  const instances = new Map<string, Instance>();
  /**
   * The instances not passivating, least recently used first: LRU passivation and the idle
   * sweep look at the oldest only, not at every one of thousands per activation.
   */
  const recency = new RecencyList<Instance>();
  const touch = (instance: Instance) => {
    instance.lastUsed = clock.now().getTime();
    if (instance.passivating === undefined && recency.has(instance)) recency.touch(instance);
  };
  const activating = new Map<string, Promise<Instance | { owner: string } | undefined>>();
  /** Instances passivating (still in `instances`, no longer counted against maxActive). */
  let passivatingCount = 0;
  /** Activations past makeRoom, not yet in `instances`: counted against maxActive. */
  let starting = 0;
  /** makeRoom one at a time: waiters queue rather than each scanning every instance. */
  let roomTurn = Promise.resolve(true);
  /** Per key, the routing of its messages in arrival order. */
  const routes = new Map<string, Promise<void>>();
  const routing = { task: 0, control: 0 };
  /** Hosts whose instances this host adopted (reported once each). */
  const deadHostsSeen = new Set<string>();
  /** What the instances did since the last summary line (per-instance lines are at debug). */
  const tally = { activated: 0, adopted: 0, passivated: 0, idle: 0, lru: 0, woken: 0, forwarded: 0 };
  /** Keys with a wake record, and what waits for their results. */
  const wakers = new Map<string, AbortController>();
  let lease: Lease | undefined;
  let leaseReady: (lease: Lease) => void = () => undefined;
  let leaseWanted = new Promise<Lease>((resolve) => {
    leaseReady = resolve;
  });

  const holdLease = async () => {
    while (!stopping.signal.aborted) {
      try {
        const held = await ownership.hostLease(agent, host, options.spec.leaseTtlMs, stopping.signal);
        lease = held;
        leaseReady(held);
        logger.info({ maxActive: settings.maxActive, idleMs: settings.idleMs }, 'keyed agent host running');
        await new Promise<void>((resolve) => {
          if (held.lost.aborted) resolve();
          else held.lost.addEventListener('abort', () => resolve(), { once: true });
        });
        if (stopping.signal.aborted) return;
        // Every instance here runs under this lease: they all stop (their terms end on `lost`).
        // Others may already be adopting them: the next lease is a new host, which adopts
        // whatever of the old one's is left like any other host would.
        lease = undefined;
        leaseWanted = new Promise<Lease>((resolve) => {
          leaseReady = resolve;
        });
        retireAll();
        const lost = host;
        generation += 1;
        host = `${options.host}-${generation}`;
        logger.warn(
          { err: ensureError(held.lost.reason).message, next: host },
          'host lease lost: its instances stopped; holding a new lease as a new host',
        );
        logger = options.logger.child({ agent, host });
        unserve();
        unserve = options.forwarding.serve(agent, host, takeForwarded);
        deadHostsSeen.add(lost);
      } catch (err) {
        if (stopping.signal.aborted) return;
        logger.warn({ err: ensureError(err).message }, 'could not claim the host lease; retrying');
      }
      await clock.sleep(IO_RETRY_MS, stopping.signal).catch(() => undefined);
    }
  };

  /**
   * The host's lease is lost and every instance's term ends with it: none takes a message any
   * more (one for its key waits for it to stop, then activates it anew under the next lease).
   */
  const retire = (instance: Instance) => {
    if (instance.passivating !== undefined) return;
    instance.countedPassivating = true;
    passivatingCount += 1;
    recency.delete(instance);
    instance.passivating = instance.handle.stopped;
  };
  const retireAll = () => {
    for (const instance of instances.values()) retire(instance);
  };

  /**
   * Ends `ended` when the host's lease is lost, until the returned function is called. One
   * listener per lease for all its instances (not AbortSignal.any per instance: the lease's
   * signal outlives thousands of them, and would keep each one's dependent signal).
   */
  const leaseDependents = new WeakMap<Lease, Set<AbortController>>();
  const endsWithLease = (hostLease: Lease, ended: AbortController): (() => void) => {
    if (hostLease.lost.aborted) {
      ended.abort(hostLease.lost.reason);
      return () => undefined;
    }
    let dependents = leaseDependents.get(hostLease);
    if (dependents === undefined) {
      const set = new Set<AbortController>();
      leaseDependents.set(hostLease, set);
      hostLease.lost.addEventListener(
        'abort',
        () => {
          for (const dependent of set) dependent.abort(hostLease.lost.reason);
          set.clear();
        },
        { once: true },
      );
      dependents = set;
    }
    dependents.add(ended);
    const set = dependents;
    return () => set.delete(ended);
  };

  /** The ownership port handed to one instance's actor: the claim is made here, before it starts. */
  const ownershipLease = (
    key: string,
    revision: number,
    takeover: boolean,
    hostLease: Lease,
    keep: () => boolean,
  ) => {
    const ended = new AbortController();
    const unwatch = endsWithLease(hostLease, ended);
    return {
      acquire: async (name: string, holder: string): Promise<Lease> => ({
        agent: name,
        holder,
        lost: ended.signal,
        takeover,
        release: async () => {
          unwatch();
          if (!ended.signal.aborted) ended.abort(new Error('passivated'));
          if (!hostLease.lost.aborted && !keep()) await ownership.release(agent, key, revision);
        },
      }),
    };
  };

  /** The instance of `key` here, activated if needed; `{owner}` when another live host runs it. */
  const activate = (key: string): Promise<Instance | { owner: string } | undefined> => {
    const running = instances.get(key);
    if (running !== undefined && running.passivating === undefined) return Promise.resolve(running);
    let pending = activating.get(key);
    if (pending === undefined) {
      pending = (async () => {
        await running?.passivating;
        if (stopping.signal.aborted) return undefined;
        if (!(await makeRoom())) return undefined;
        try {
          return await start(key);
        } finally {
          starting -= 1;
        }
      })().finally(() => activating.delete(key));
      activating.set(key, pending);
    }
    return pending;
  };

  const attemptsOf = (key: string): TaskAttempts => ({
    begin: (taskId) => ownership.countAttempt(agent, key, taskId),
    end: (taskId) => {
      ownership.clearAttempts(agent, key, taskId).catch((err) => {
        logger.debug({ key, taskId, err: ensureError(err).message }, 'attempt count not cleared');
      });
    },
  });

  /** Claims `key` and starts its instance here; `{owner}` when another live host runs it. */
  const start = async (key: string): Promise<Instance | { owner: string }> => {
    const hostLease = lease ?? (await leaseWanted);
    // Claimed under the id this lease is held by (the host's id changes with a lost lease).
    const claim = await ownership.claim(agent, key, hostLease.holder);
    if (!claim.mine) return { owner: claim.host };
    if (wakers.has(key)) await ownership.removeWake(agent, key);
    const inbox = new Mailbox(keepAliveMs);
    const control = new Mailbox(keepAliveMs);
    let keep = false;
    const handle = options.startInstance(key, {
      inbox,
      control,
      leases: ownershipLease(key, claim.revision, claim.takeover, hostLease, () => keep),
      fresh: claim.fresh === true,
      attempts: attemptsOf(key),
    });
    const instance: Instance = {
      key,
      inbox,
      control,
      handle,
      lastUsed: clock.now().getTime(),
      get keepOwnership() {
        return keep;
      },
      set keepOwnership(value: boolean) {
        keep = value;
      },
    };
    instances.set(key, instance);
    recency.touch(instance);
    // Started under a lease lost meanwhile: its term ends at once, like the others'.
    if (hostLease.lost.aborted) retire(instance);
    tally.activated += 1;
    if (claim.takeover) {
      tally.adopted += 1;
      logger.debug({ key, from: claim.from }, 'adopted an instance whose host is gone');
      // Once per dead host (the adoption scan, or a message for one of its keys, finds it first).
      if (claim.from !== undefined && !deadHostsSeen.has(claim.from)) {
        deadHostsSeen.add(claim.from);
        logger.warn({ hosts: [claim.from] }, 'adopted the instances of hosts that died');
      }
    } else logger.debug({ key }, 'instance activated');
    void handle.stopped.then(() => {
      inbox.close();
      control.close();
      if (instance.countedPassivating === true) {
        instance.countedPassivating = false;
        passivatingCount -= 1;
      }
      if (instances.get(key) === instance) instances.delete(key);
      recency.delete(instance);
    });
    return instance;
  };

  /**
   * Makes room for one more instance (counted in `starting` once granted): below `maxActive`
   * at once, else by passivating the least recently used idle instance; while every instance
   * is busy it waits (the message stays held, its pull paused past MAX_ROUTING). False once
   * the host stops. One caller at a time: the others queue behind it instead of each scanning.
   */
  const makeRoom = (): Promise<boolean> => {
    const turn = roomTurn.then(async () => {
      for (let wait: number = ROUTE_RETRY_MS.first; ; wait = Math.min(wait * 2, ROUTE_RETRY_MS.max)) {
        if (stopping.signal.aborted) return false;
        if (instances.size - passivatingCount + starting < settings.maxActive) {
          starting += 1;
          return true;
        }
        const idle = leastRecentlyUsedIdle();
        if (idle !== undefined) void passivate(idle, 'maxActive reached (least recently used)');
        else await clock.sleep(wait, stopping.signal).catch(() => undefined);
      }
    });
    roomTurn = turn.catch(() => false);
    return turn;
  };

  const leastRecentlyUsedIdle = (): Instance | undefined => {
    for (let left = recency.size; left > 0; left -= 1) {
      const oldest = recency.first();
      if (oldest === undefined) return undefined;
      if (isIdleInstance(oldest)) return oldest;
      // Busy is in use: moved last, so the next search (one per activation at maxActive)
      // does not step over it again; with hundreds busy, those walks were a hot loop.
      touch(oldest);
    }
    return undefined;
  };

  const isIdleInstance = (instance: Instance) =>
    instance.inbox.outstanding === 0 &&
    instance.control.outstanding === 0 &&
    isPassivatable(instance.handle.state());

  const passivate = (instance: Instance, why: string): Promise<void> => {
    if (instance.passivating !== undefined) return instance.passivating;
    if (instances.get(instance.key) === instance) {
      instance.countedPassivating = true;
      passivatingCount += 1;
    }
    recency.delete(instance);
    tally.passivated += 1;
    if (why === 'idle') tally.idle += 1;
    else if (why.startsWith('maxActive')) tally.lru += 1;
    instance.passivating = (async () => {
      const state = instance.handle.state();
      // Stopped with work in progress by the host's stop: its record stays for another host to adopt it.
      if (why === HOST_STOPPING && !isPassivatable(state)) instance.keepOwnership = true;
      const awaited = state === undefined ? [] : awaitedResults(state);
      const at = state === undefined ? undefined : firstTimerDue(state);
      const approvals = state === undefined ? [] : pendingApprovals(state);
      const wake =
        awaited.length === 0 && at === undefined && approvals.length === 0
          ? undefined
          : {
              results: awaited,
              ...(at === undefined ? {} : { at }),
              ...(approvals.length === 0 ? {} : { approvals }),
            };
      // Written before the instance lets go of its key: a result that arrives meanwhile wakes it.
      if (wake !== undefined) await ownership.putWake(agent, instance.key, wake);
      await instance.handle.stop();
      logger.debug({ key: instance.key, why, waits: wake?.results.length ?? 0 }, 'instance passivated');
    })().catch((err) => {
      logger.warn({ key: instance.key, err: ensureError(err).message }, 'passivation failed');
    });
    return instance.passivating;
  };

  const route = async (message: InboxMessage, kind: 'task' | 'control'): Promise<void> => {
    const prefix = kind === 'task' ? subjects.inbox(agent) : subjects.control(agent);
    const key = keyOfSubject(message.subject, prefix) ?? '';
    const problem = keyProblem(key);
    if (problem !== undefined) {
      await rejectBadKey({ agent, key, problem, kind, message, results: options.results, logger });
      if (kind === 'task') options.observer?.taskPublished(agent, 'rejected');
      return;
    }
    // Held here until an instance has it: handing it back to the consumer would count a
    // delivery, and a task bounced often enough between hosts would be refused as poison.
    const keep = setInterval(() => message.working(), keepAliveMs);
    try {
      for (let wait: number = ROUTE_RETRY_MS.first; ; wait = Math.min(wait * 2, ROUTE_RETRY_MS.max)) {
        const target = await activate(key);
        if (target === undefined) {
          message.nak(); // the host stops: another host (or this one restarted) takes it
          return;
        }
        if (!('owner' in target)) {
          touch(target);
          (kind === 'task' ? target.inbox : target.control).push(message);
          return;
        }
        const outcome = await forward(target.owner, message);
        if (outcome === 'ack') {
          await message.ack();
          return;
        }
        // The owner is passivating it, or just died: claim it again after a moment.
        logger.debug(
          { key, owner: target.owner, outcome: outcome ?? 'no answer' },
          'forward not taken; routing again',
        );
        await clock.sleep(wait, stopping.signal).catch(() => undefined);
      }
    } finally {
      clearInterval(keep);
    }
  };

  const forward = async (owner: string, message: InboxMessage): Promise<ForwardOutcome> => {
    tally.forwarded += 1;
    return options.forwarding.forward(
      agent,
      owner,
      {
        subject: message.subject,
        data: message.data,
        seq: message.seq,
        deliveryCount: message.deliveryCount,
        ...(message.trace === undefined ? {} : { trace: message.trace }),
      },
      FORWARD_TIMEOUT_MS,
    );
  };

  /** A message another host forwarded: taken if the key is active here, journaled, then answered. */
  const takeForwarded = async (forwarded: ForwardedMessage): Promise<'ack' | 'nak'> => {
    if (forwarded.passivate !== undefined) {
      // Erasure fences the instance: stopped here whatever it was doing (its work resumes, if
      // any is left after the purge, on its next message).
      const instance = instances.get(forwarded.passivate);
      if (instance !== undefined) {
        instance.keepOwnership = false;
        await passivate(instance, 'erasure asked for it');
      }
      return 'ack';
    }
    const kind = forwarded.subject.startsWith(`${subjects.inbox(agent)}.`) ? 'task' : 'control';
    const key = keyOfSubject(
      forwarded.subject,
      kind === 'task' ? subjects.inbox(agent) : subjects.control(agent),
    );
    // Still being activated here (its record is written before its instance exists): wait for it.
    if (key !== undefined) await activating.get(key)?.catch(() => undefined);
    const instance = key === undefined ? undefined : instances.get(key);
    if (instance === undefined || instance.passivating !== undefined) return 'nak';
    touch(instance);
    return new Promise((resolve) => {
      (kind === 'task' ? instance.inbox : instance.control).push({
        ...forwarded,
        ack: async () => resolve('ack'),
        nak: () => resolve('nak'),
        working: () => undefined,
      });
    });
  };

  const enqueue = (message: InboxMessage, kind: 'task' | 'control') => {
    const key = `${kind}:${message.subject}`;
    routing[kind] += 1;
    const next = (routes.get(key) ?? Promise.resolve())
      .then(() => route(message, kind))
      .catch((err) => {
        logger.warn({ subject: message.subject, err: ensureError(err).message }, 'could not route a message');
        message.nak(LATER_MS);
      })
      .finally(() => {
        routing[kind] -= 1;
        if (routes.get(key) === next) routes.delete(key);
      });
    routes.set(key, next);
  };

  const pump = async (source: Inbox, kind: 'task' | 'control') => {
    await leaseWanted;
    while (!stopping.signal.aborted) {
      if (routing[kind] >= MAX_ROUTING) {
        await clock.sleep(20, stopping.signal).catch(() => undefined);
        continue;
      }
      let messages: InboxMessage[];
      try {
        messages = await source.fetch(64, fetchExpiresMs, stopping.signal);
      } catch (err) {
        if (stopping.signal.aborted) break;
        logger.warn({ err: ensureError(err).message }, `${kind} pull failed; retrying`);
        await clock.sleep(IO_RETRY_MS, stopping.signal).catch(() => undefined);
        continue;
      }
      for (const message of messages) {
        if (stopping.signal.aborted) message.nak();
        else enqueue(message, kind);
      }
    }
  };

  /** Passivates instances idle for `idleMs`. */
  const sweep = () => {
    const now = clock.now().getTime();
    // Oldest first: past the first one used within idleMs, every other one was too.
    for (const instance of recency) {
      if (now - instance.lastUsed < settings.idleMs) break;
      if (isIdleInstance(instance)) void passivate(instance, 'idle');
    }
  };
  const sweeper = setInterval(sweep, Math.max(50, Math.min(1_000, Math.floor(settings.idleMs / 4))));

  /** One line at info for what thousands of instances did (each one's lines are at debug). */
  const summarize = (final: boolean) => {
    const { activated, adopted, passivated, idle, lru, woken, forwarded } = tally;
    if (!final && activated + passivated + woken + forwarded === 0) return;
    logger.info(
      {
        active: instances.size - passivatingCount,
        activated,
        adopted,
        passivated,
        passivatedIdle: idle,
        passivatedLru: lru,
        woken,
        forwarded,
      },
      `keyed instances: ${activated} activated (${adopted} adopted), ${passivated} passivated, ${woken} woken, ${forwarded} message(s) forwarded ${final ? 'since the last summary' : `in the last ${Math.round((options.summaryMs ?? SUMMARY_MS) / 1000)} s`}; ${instances.size - passivatingCount} active`,
    );
    for (const name of Object.keys(tally) as (keyof typeof tally)[]) tally[name] = 0;
  };
  const summarizer = setInterval(() => summarize(false), options.summaryMs ?? SUMMARY_MS);

  /** Passivated instances that wait for results: activated when one of them is published. */
  const watchWakes = async () => {
    while (!stopping.signal.aborted) {
      try {
        for await (const change of ownership.watchWakes(agent, stopping.signal)) {
          wakers.get(change.key)?.abort();
          wakers.delete(change.key);
          if (change.wake === undefined) continue;
          const waiting = new AbortController();
          wakers.set(change.key, waiting);
          const signal = AbortSignal.any([waiting.signal, stopping.signal]);
          const key = change.key;
          const { at } = change.wake;
          const wakes: Promise<string>[] = change.wake.results.map((r) =>
            options.results.wait(r.agent, r.taskId, signal).then(() => 'a result it waits for arrived'),
          );
          if (at !== undefined) {
            const ms = Math.max(0, Date.parse(at) - clock.now().getTime());
            wakes.push(clock.sleep(ms, signal).then(() => 'its timer is due'));
          }
          Promise.any(wakes).then(
            async (why) => {
              if (signal.aborted) return;
              const target = await activate(key);
              if (target !== undefined && !('owner' in target)) {
                touch(target);
                tally.woken += 1;
                logger.debug({ key }, `instance woken: ${why}`);
              }
            },
            () => undefined,
          );
        }
      } catch (err) {
        if (stopping.signal.aborted) return;
        logger.warn({ err: ensureError(err).message }, 'wake watch failed; watching again');
      }
      await clock.sleep(IO_RETRY_MS, stopping.signal).catch(() => undefined);
    }
  };

  /** Instances of hosts whose lease expired are activated here (their tasks resume from the history). */
  const adoptOrphans = async () => {
    const dead = (await ownership.hosts(agent)).filter((h) => h.host !== host && h.state === 'expired');
    if (dead.length === 0) return;
    const gone = new Set(dead.map((h) => h.host));
    const orphans = (await ownership.owners(agent)).filter((o) => gone.has(o.host));
    await Promise.all(orphans.map((o) => activate(o.key).catch(() => undefined)));
    const left = (await ownership.owners(agent)).filter((o) => gone.has(o.host));
    if (left.length === 0) for (const h of dead) await ownership.forgetHost(agent, h.host, h.revision);
    // Each dead host was reported as its first instance was adopted; this says how many the scan took.
    if (orphans.length > 0)
      logger.info(
        { hosts: [...gone], instances: orphans.length },
        `adoption scan: ${orphans.length} instance(s) of hosts that died activated here`,
      );
  };
  let adopting = Promise.resolve();
  const adopter = setInterval(() => {
    adopting = adopting
      .then(adoptOrphans)
      .catch((err) => logger.warn({ err: ensureError(err).message }, 'adoption scan failed; trying again'));
  }, options.spec.leaseTtlMs);

  let unserve = options.forwarding.serve(agent, host, takeForwarded);
  const leaseLoop = holdLease();
  const work = Promise.all([pump(options.inbox, 'task'), pump(options.control, 'control'), watchWakes()]);
  // Adopt at once on start: a process restarted after a crash finds its predecessor's keys.
  void leaseWanted.then(() => {
    adopting = adopting.then(adoptOrphans).catch(() => undefined);
  });

  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const stop = async () => {
    if (stopping.signal.aborted) return stopped;
    stopping.abort(new Error('host stopping'));
    clearInterval(sweeper);
    clearInterval(adopter);
    clearInterval(summarizer);
    unserve();
    for (const waiter of wakers.values()) waiter.abort();
    await work;
    await Promise.allSettled([...routes.values()]);
    await adopting;
    await Promise.allSettled([...activating.values()]);
    const left = [...instances.values()];
    await Promise.all(left.map((i) => passivate(i, HOST_STOPPING)));
    // Instances stopped mid-task keep their records: the lease then expires rather than being
    // released, and another host adopts them (a restarted one does at once).
    const unfinished = left.filter((i) => i.keepOwnership).length;
    if (unfinished === 0) await lease?.release().catch(() => undefined);
    else {
      logger.warn(
        { unfinished },
        'instances stopped with unfinished tasks: another host adopts them when this lease expires',
      );
      lease?.abandon?.();
    }
    await leaseLoop;
    summarize(true);
    logger.info('keyed agent host stopped');
    resolveStopped();
  };

  return {
    name: agent,
    ready: leaseWanted.then(() => undefined),
    state: () => undefined,
    knows: () => undefined,
    mcpServers: () => [],
    stop,
    stopped,
    activeKeys: () => [...instances.values()].filter((i) => i.passivating === undefined).map((i) => i.key),
    instanceState: (key) => instances.get(key)?.handle.state(),
  };
}
