import type { TaskError } from '../result.ts';
import type { ScheduleSpec } from './definition.ts';
import type { FireKind, SkipReason } from './events.ts';

export type FireStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** One fire of a schedule: a task on an agent's inbox, or a workflow run, named `fireId`. */
export interface ScheduleFire {
  readonly fireId: string;
  readonly scheduledAt: string;
  readonly firedAt: string;
  readonly kind: FireKind;
  readonly agent?: string | undefined;
  readonly workflow?: string | undefined;
  readonly input: string;
  /** Published (journaled after the publish was acknowledged); a workflow run is "sent" when it starts. */
  sent: boolean;
  status: FireStatus;
  error?: TaskError | undefined;
  finishedAt?: string | undefined;
}

export interface ScheduleSkip {
  readonly from: string;
  readonly to: string;
  readonly count: number;
  readonly reason: SkipReason;
  readonly at: string;
}

export interface ScheduleState {
  readonly name: string;
  spec: ScheduleSpec;
  /** Epoch ms of the newest nominal time dealt with (fired, buffered or skipped), or of its start. */
  cursor: number;
  paused: boolean;
  pausedReason?: string | undefined;
  /** No longer in the config: fires no more. */
  removed: boolean;
  /** A time held back by `overlap: "buffer_one"` until the open fire ends. */
  buffered?: number | undefined;
  /** Open fires and the newest FIRES_KEPT finished ones, oldest first. */
  fires: ScheduleFire[];
  /** Output of the newest completed fire (`{{lastOutput}}`), cut to LAST_OUTPUT_CHARS. */
  lastOutput?: string | undefined;
  lastSkip?: ScheduleSkip | undefined;
  fired: number;
  skipped: number;
}

/** Finished fires a schedule keeps for `spool schedule list` (older ones: their results and the history). */
export const FIRES_KEPT = 10;
/** `{{lastOutput}}` carries at most this much: it rides in every fire's event. */
export const LAST_OUTPUT_CHARS = 20_000;

export function openFires(schedule: ScheduleState): ScheduleFire[] {
  return schedule.fires.filter((fire) => fire.status === 'running');
}

/** Finished fires beyond FIRES_KEPT leave the state (open ones always stay). */
export function trimFires(schedule: ScheduleState): void {
  let finished = schedule.fires.filter((fire) => fire.status !== 'running').length;
  schedule.fires = schedule.fires.filter((fire) => fire.status === 'running' || finished-- <= FIRES_KEPT);
}

/** The part of the coordinator's state the schedules fold into. */
export interface SchedulesState {
  schedules: Map<string, ScheduleState>;
  /** Open fires by fire id (a task id or a workflow run id), to route their results. */
  fires: Map<string, string>;
  /** The newest operator command on schedules journaled (a redelivered one is recognised). */
  scheduleControlSeq: number;
}
