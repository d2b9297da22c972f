import type { Clock } from './clock.ts';

/**
 * An actor's alarms: the times at which it must look again although nothing arrived (a
 * backoff ends, a deadline passes, a failed effect may run again). One sleep on the clock,
 * for the earliest; when it comes, `wake` runs and the next one is armed. Setting a time
 * already set costs nothing, so the loop can set the earliest it knows of at every turn.
 */
export class Alarms {
  private readonly times = new Set<number>();
  private armed: { readonly at: number; readonly cancel: AbortController } | undefined;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly wake: () => void,
  ) {}

  /** Wakes the actor at `at` (epoch ms), or as soon after as the clock allows. */
  at(at: number): void {
    if (this.stopped || this.times.has(at)) return;
    this.times.add(at);
    if (this.armed === undefined || at < this.armed.at) this.arm();
  }

  /** Times set and not yet come (for tests). */
  get pending(): readonly number[] {
    return [...this.times].sort((a, b) => a - b);
  }

  /** No more wakes: the term is over. */
  stop(): void {
    this.stopped = true;
    this.times.clear();
    this.armed?.cancel.abort();
    this.armed = undefined;
  }

  private arm(): void {
    this.armed?.cancel.abort();
    this.armed = undefined;
    if (this.stopped || this.times.size === 0) return;
    const at = Math.min(...this.times);
    const cancel = new AbortController();
    this.armed = { at, cancel };
    const delay = Math.max(0, at - this.clock.now().getTime());
    this.clock.sleep(delay, cancel.signal).then(
      () => this.fire(cancel),
      () => undefined, // re-armed for an earlier time, or stopped
    );
  }

  private fire(cancel: AbortController): void {
    if (this.armed?.cancel !== cancel) return;
    this.armed = undefined;
    const now = this.clock.now().getTime();
    let due = false;
    for (const time of this.times)
      if (time <= now) {
        this.times.delete(time);
        due = true;
      }
    // A timer may fire a moment before the wall clock reaches its time: then it only re-arms.
    this.arm();
    if (due) this.wake();
  }
}
