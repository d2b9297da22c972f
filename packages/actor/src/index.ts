// The actor kernel: what every event-sourced actor of Spool does, parameterised by a decider.
export type { ActorHandle, ActorOptions } from './actor.ts';
export { startActor } from './actor.ts';
export type { Clock } from './clock.ts';
export { every, systemClock } from './clock.ts';
export type { ActorLogic, CommitPolicy, Decider, Next, SnapshotCodec } from './decider.ts';
export { applyCommit } from './decider.ts';
export { EFFECT_RETRY_MS } from './effects-loop.ts';
export type { HistoryPort } from './journal.ts';
export { DecisionTooLargeError, Journal } from './journal.ts';
export type { MemoryHistory, MemoryHistoryOptions } from './memory-history.ts';
export { memoryHistory } from './memory-history.ts';
export type { ReplayLogic, Restored, SnapshotPort } from './restore.ts';
export { restore } from './restore.ts';
export { SimulatedClock } from './simulated-clock.ts';
export { Snapshotter } from './snapshotter.ts';
export type { Term, TermHandlers } from './term.ts';
