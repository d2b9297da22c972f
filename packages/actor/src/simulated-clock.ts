import type { Clock } from './clock.ts';

/**
 * A clock that moves only when told to (XState's SimulatedClock), for tests: `advance(ms)`
 * moves time on and wakes every sleep that has come due, in time order.
 */
export class SimulatedClock implements Clock {
  private time: number;
  private readonly sleepers = new Set<{ readonly at: number; readonly wake: () => void }>();

  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.time = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.time);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper = {
        at: this.time + Math.max(0, ms),
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers.delete(sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.add(sleeper);
    });
  }

  /** Sleeps pending (their count), for tests that wait until something is waiting. */
  get pending(): number {
    return this.sleepers.size;
  }

  /** Moves time on by `ms` and wakes the sleeps that are due, letting each one's continuation run. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.sleepers].filter((s) => s.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.time = Math.max(this.time, due.at);
      this.sleepers.delete(due);
      due.wake();
      // Let what the wake set off run (and perhaps sleep again) before the next one is due.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.time = until;
  }
}
