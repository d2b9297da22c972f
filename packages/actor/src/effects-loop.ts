import { IO_RETRY_MS } from '@spool/core/internal';
import type { Alarms } from './alarms.ts';
import type { Clock } from './clock.ts';
import type { Next } from './decider.ts';
import { DecisionTooLargeError } from './journal.ts';

/** Delay before an effect that failed (NATS down, say) is tried again: core's retry policy. */
export const EFFECT_RETRY_MS = IO_RETRY_MS;

/** How the loop runs an actor's effects (its term handlers). */
export interface EffectRunner<Effect> {
  /** Names an effect: one run per key at a time, and a failure holds back that key only. */
  key(effect: Effect): string;
  /** Runs one effect; its outcome goes back through the term's `commit`. */
  run(effect: Effect): Promise<void>;
  /** Whether the effect may start while the term drains (stopping, within the grace period). */
  runsWhileDraining?(effect: Effect): boolean;
  /** Reports an effect that failed; it runs again after EFFECT_RETRY_MS. */
  failed(key: string, err: unknown): void;
}

/**
 * Asks `next` what to do and starts every effect not already running. It runs again whenever
 * an effect ends, an input is journaled (the term calls it), or an alarm comes: `next` is pure,
 * so asking again is always safe, and the state alone says what is left.
 */
export class EffectsLoop<Effect> {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Effects that failed, and when they may run again. */
  private readonly retryAt = new Map<string, number>();
  private draining = false;

  constructor(
    private readonly next: (now: Date) => Next<Effect>,
    private readonly runner: EffectRunner<Effect>,
    private readonly clock: Clock,
    private readonly alarms: Alarms,
    /** True once nothing new may start: work stopped, or the term failed. */
    private readonly halted: () => boolean,
    /** Called after each effect ends (a slot may be free). */
    private readonly settled: () => void,
  ) {}

  /** Effects running now. */
  get running(): number {
    return this.inFlight.size;
  }

  reconcile(): void {
    if (this.halted()) return;
    const now = this.clock.now();
    const nowMs = now.getTime();
    const { effects, wakeAt } = this.next(now);
    if (wakeAt !== undefined) this.alarms.at(wakeAt);
    for (const effect of effects) {
      if (this.draining && this.runner.runsWhileDraining?.(effect) !== true) continue;
      const key = this.runner.key(effect);
      if (this.inFlight.has(key) || (this.retryAt.get(key) ?? 0) > nowMs) continue;
      const run = this.runner
        .run(effect)
        .then(
          () => {
            this.retryAt.delete(key);
          },
          (err) => this.failed(key, err),
        )
        .finally(() => {
          this.inFlight.delete(key);
          this.reconcile();
          this.settled();
        });
      this.inFlight.set(key, run);
    }
  }

  /**
   * Something the actor does failed (an effect, an input it could not journal): it may run
   * again after EFFECT_RETRY_MS. A decision too large to journal is not retried: the same
   * decision would be too large again (the actor's `tooLarge` handler has dealt with it).
   */
  failed(key: string, err: unknown): void {
    if (err instanceof DecisionTooLargeError || this.halted()) return;
    this.runner.failed(key, err);
    const at = this.clock.now().getTime() + EFFECT_RETRY_MS;
    this.retryAt.set(key, at);
    this.alarms.at(at);
  }

  /** From now on only effects that may run while draining start. */
  drain(): void {
    this.draining = true;
  }

  /** Waits for every effect in flight, including those started while waiting. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }
}
