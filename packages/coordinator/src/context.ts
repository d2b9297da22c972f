import type { Term } from '@spool/actor';
import type {
  CoordinatorCommand,
  CoordinatorEvent,
  Observer,
  CoordinatorState,
  ScheduleSpec,
  WorkflowDef,
} from '@spool/core/internal';
import type { Inbox, Results, SpoolConnection } from '@spool/jetstream';
import type { WorkflowSpans } from './workflow-spans.ts';

/** What the workflow actor's handlers share within one term. */
export interface WorkflowContext {
  readonly term: Term<CoordinatorState, CoordinatorCommand, CoordinatorEvent>;
  readonly connection: SpoolConnection;
  /** The config's workflows: a start names one of them (a run keeps the definition it started with). */
  readonly workflows: Readonly<Record<string, WorkflowDef>>;
  /** The config's schedules (journaled as `schedule.changed` when they differ from the history's). */
  readonly schedules: Readonly<Record<string, ScheduleSpec>>;
  readonly inbox: Inbox;
  readonly control: Inbox;
  readonly results: Results;
  /** How long one inbox / control pull waits. */
  readonly fetchExpiresMs: number;
  /** Where finished runs are reported, for metrics. */
  readonly observer: Observer;
  /** Spans of the runs and steps (traces). */
  readonly spans: WorkflowSpans;
  /** The ISO time now, on the actor's clock. */
  now(): string;
}
