import { z } from 'zod';
import { eventV1, iso } from './event-schema.ts';

/**
 * Delegation's history events. Kept apart from `delegation.ts` so that `agent-events.ts` can
 * put them in the union without an import cycle.
 */

/** A `delegate` call the model made, accepted: the sub-task to send, journaled with the reply. */
export const DelegationRequestedV1 = eventV1(
  'delegation.requested',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    toolUseId: z.string(),
    /** The agent (pool) the sub-task goes to. */
    agent: z.string(),
    /** `dlg-<24 hex>`: the same on every run of this call, so a re-send is one task. */
    childTaskId: z.string(),
    input: z.string(),
    /** The agents the sub-task was delegated through, this one last. */
    chain: z.array(z.string()),
    at: iso,
  }),
);

/** The sub-task is on the child agent's inbox: from here on the call only waits for its result. */
export const DelegationSentV1 = eventV1(
  'delegation.sent',
  z.object({
    taskId: z.string(),
    step: z.number().int().nonnegative(),
    toolUseId: z.string(),
    /** Inbox stream sequence of the sub-task message. */
    inboxSeq: z.number().int().nonnegative(),
    at: iso,
  }),
);

export const delegationEventIds = {
  requested: (agent: string, taskId: string, attempt: number, step: number, toolUseId: string) =>
    `${agent}:${taskId}:${attempt}:step-${step}:${toolUseId}:delegated`,
  sent: (agent: string, taskId: string, attempt: number, step: number, toolUseId: string) =>
    `${agent}:${taskId}:${attempt}:step-${step}:${toolUseId}:delegation-sent`,
};
