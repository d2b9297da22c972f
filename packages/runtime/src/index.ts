export type { AgentHandle, AgentOptions } from './agent.ts';
export { startAgent } from './agent.ts';
export type { Clock } from './clock.ts';
export { systemClock } from './clock.ts';
export type { Restored, SnapshotPort } from './restore.ts';
export type { AgentOnNatsOptions } from './on-nats.ts';
export { startAgentOnNats } from './on-nats.ts';
export { restoreState } from './restore.ts';
export { subscriptionTasks } from './subscriptions.ts';
