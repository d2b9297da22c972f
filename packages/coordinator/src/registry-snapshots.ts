import { type SnapshotCodec, Snapshotter } from '@spool/actor';
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

/** The registry at its stream positions, as the kernel's Snapshotter saves it (`seq`: the history's). */
interface RegistryAt {
  readonly seq: number;
  readonly resultsSeq: number;
  readonly registry: TaskRegistry;
}

const codec: SnapshotCodec<RegistryAt> = {
  encode: (at): Stored => ({
    version: VERSION,
    historySeq: at.seq,
    resultsSeq: at.resultsSeq,
    registry: at.registry.exportState(),
  }),
  // Restoring imports into a live registry: restoreRegistry does it, never the kernel.
  decode: () => ({ problem: 'read with restoreRegistry' }),
};

/**
 * Saves the registry every `every` items folded, in the background, one save at a time: the
 * kernel's Snapshotter (agents and the workflow actor save theirs with it too).
 */
export class RegistrySnapshotter {
  private readonly snapshotter: Snapshotter<RegistryAt>;

  constructor(
    store: SnapshotStore,
    private readonly registry: TaskRegistry,
    readonly positions: Positions,
    every: number,
    log: Logger,
  ) {
    this.snapshotter = new Snapshotter(
      REGISTRY_SNAPSHOT,
      store,
      codec,
      every,
      log.child({ snapshot: REGISTRY_SNAPSHOT }),
    );
  }

  /** One history commit or result folded, at this stream sequence. `writer`: this process saves. */
  folded(kind: keyof Positions, seq: number, writer: boolean): void {
    this.positions[kind] = Math.max(this.positions[kind], seq);
    if (!writer) return;
    const { historySeq, resultsSeq } = this.positions;
    this.snapshotter.journaled(1, { seq: historySeq, resultsSeq, registry: this.registry });
  }
}
