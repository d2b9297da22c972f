import { ensureError } from '@spool/core/internal';
import type { SnapshotStore } from '@spool/jetstream';
import type { Logger } from 'pino';
import type { RegistryState, TaskRegistry } from './registry.ts';

/** The registry's snapshot key: a `_` keeps it apart from every agent's (no agent name has one). */
export const REGISTRY_SNAPSHOT = 'coordinator_registry';
const VERSION = 1;

interface Stored {
  readonly version: number;
  /** The last history and results stream sequences folded into it. */
  readonly historySeq: number;
  readonly resultsSeq: number;
  readonly registry: RegistryState;
}

/** Where the registry's watches resume: after what its snapshot holds (0, 0 without a usable one). */
export interface Positions {
  historySeq: number;
  resultsSeq: number;
}

/**
 * Seeds the registry from its newest snapshot, so a start folds only the histories and results
 * written since, not every one ever. A snapshot that cannot be used is ignored with a warning:
 * the streams are the truth, and the registry is rebuilt from them.
 */
export async function restoreRegistry(
  store: SnapshotStore,
  registry: TaskRegistry,
  log: Logger,
): Promise<Positions> {
  try {
    const stored = await store.load(REGISTRY_SNAPSHOT);
    const data = stored?.data as Partial<Stored> | undefined;
    if (data === undefined) return { historySeq: 0, resultsSeq: 0 };
    if (data.version !== VERSION || data.registry === undefined)
      throw new Error(`registry snapshot version ${String(data.version)}, this code reads ${VERSION}`);
    const problem = registry.importState(data.registry);
    if (problem !== undefined) throw new Error(problem);
    return { historySeq: data.historySeq ?? 0, resultsSeq: data.resultsSeq ?? 0 };
  } catch (err) {
    log.warn(
      { err: ensureError(err).message },
      'registry snapshot not used; folding every history and result',
    );
    return { historySeq: 0, resultsSeq: 0 };
  }
}

/** Saves the registry every `every` items folded, in the background, one save at a time. */
export class RegistrySnapshotter {
  private since = 0;
  private saving = false;

  constructor(
    private readonly store: SnapshotStore,
    private readonly registry: TaskRegistry,
    readonly positions: Positions,
    private readonly every: number,
    private readonly log: Logger,
  ) {}

  /** One history commit or result folded, at this stream sequence. `writer`: this process saves. */
  folded(kind: keyof Positions, seq: number, writer: boolean): void {
    this.positions[kind] = Math.max(this.positions[kind], seq);
    this.since += 1;
    if (!writer || this.saving || this.every === 0 || this.since < this.every) return;
    // Encoded now, so the snapshot is exactly the registry at these positions.
    const stored: Stored = { version: VERSION, ...this.positions, registry: this.registry.exportState() };
    this.since = 0;
    this.saving = true;
    this.store
      .save(REGISTRY_SNAPSHOT, stored.historySeq, stored)
      .then((saved) =>
        this.log.info(
          { historySeq: stored.historySeq, resultsSeq: stored.resultsSeq, ...saved },
          'registry snapshot saved',
        ),
      )
      .catch((err) => this.log.warn({ err: ensureError(err).message }, 'registry snapshot not saved'))
      .finally(() => {
        this.saving = false;
      });
  }
}
