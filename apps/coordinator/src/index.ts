export type { CoordinatorHandle, CoordinatorOptions } from './coordinator.ts';
export { startCoordinator } from './coordinator.ts';
export type { AgentLiveness } from './registry.ts';
export { TaskRegistry } from './registry.ts';
