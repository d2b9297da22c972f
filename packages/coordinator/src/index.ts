export type { CoordinatorHandle, CoordinatorOptions } from './coordinator.ts';
export { startCoordinator } from './coordinator.ts';
export type { AgentLiveness } from './registry.ts';
export { TaskRegistry } from './registry.ts';
export { parseWorkflowStart } from './start-message.ts';
export type { WorkflowActorHandle, WorkflowActorOptions } from './workflow-actor.ts';
export { startWorkflowActor } from './workflow-actor.ts';
export { answerWorkflows } from './workflows-api.ts';
export type { SpendConfig } from './spend-status.ts';
