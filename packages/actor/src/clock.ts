/** Time is injected so tests never sleep for a fixed time and replay never reads the clock. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or rejects when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Calls `fn` every `ms` on the clock until `signal` aborts (keep-alive signals, watchers). */
export function every(clock: Clock, ms: number, signal: AbortSignal, fn: () => void): void {
  void (async () => {
    while (!signal.aborted) {
      try {
        await clock.sleep(ms, signal);
      } catch {
        return;
      }
      fn();
    }
  })();
}
