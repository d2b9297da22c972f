/**
 * The `spool` process answers SIGINT and SIGTERM itself (a supervisor sends SIGTERM to the PID
 * it started, and there is no wrapper in between). A command that runs until stopped waits with
 * `untilSignal()` and stops gracefully; anywhere else a signal ends the process at once with
 * 128 + its number, which runs the 'exit' handlers (an embedded nats-server is stopped), so no
 * child is left behind. A second signal during a graceful stop ends it at once too.
 */
const waiting = new Set<(signal: NodeJS.Signals) => void>();

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

export function handleSignals(): void {
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, (signal: NodeJS.Signals) => {
      if (waiting.size === 0) process.exit(EXIT_CODES[signal] ?? 1);
      const listeners = [...waiting];
      waiting.clear();
      for (const listener of listeners) listener(signal);
    });
  }
}

/** Resolves on the next SIGINT or SIGTERM (which then no longer ends the process at once). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => waiting.add(resolve));
}
