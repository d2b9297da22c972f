/** What a replica does with a task message of the pool's shared inbox, before journaling it. */
export type Admission =
  /** Journal it here; `tries` counts the replicas' attempts at it (poison detection). */
  | { readonly kind: 'run'; readonly tries: number }
  /** Another replica's history has it (or it is done): the message is only a late copy. */
  | { readonly kind: 'ack'; readonly why: string }
  /** Its owner cannot be asked yet (starting up): hand it back for a moment. */
  | { readonly kind: 'later'; readonly why: string };

/** A replica's view of its pool, used by the agent's intake (pool.ts decides). */
export interface PoolIntake {
  /** The pool's name: its inbox, its results subject and the `agent` of its results. */
  readonly name: string;
  /** Decides, through the claims, whether this replica journals the task. */
  admit(taskId: string): Promise<Admission>;
  /** The task's result is published: its claim is released (the result names the replica now). */
  finished(taskId: string): void;
}

/** How long a message whose owner could not be asked waits before it is delivered again. */
export const LATER_MS = 1_000;
