/**
 * Attempts at journaling a task message, counted where they outlive the process (a keyed
 * instance's `try.<agent>.<key>.<task>` record in `spool_keyed`). A keyed agent's deliveries
 * are also spent where nothing was wrong with the message (held by a host that died, routed
 * while its key's ownership was in doubt), so its poison limit counts these instead: only
 * deliveries that reached the instance's journaling, or took its process down there, count.
 */
export interface TaskAttempts {
  /** Records one more attempt at journaling the task; resolves with the count, this one included. */
  begin(taskId: string): Promise<number>;
  /** The task is journaled, refused or known already: its count goes (best effort). */
  end(taskId: string): void;
}
