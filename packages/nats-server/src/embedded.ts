import { findNatsServerBinary, natsServerVersion } from './binary.ts';
import { type EmbeddedSync, syncAlwaysArgs, takesSyncAlways } from './durability.ts';
import {
  isServerOn,
  type OwnerRecord,
  readOwnerRecord,
  removeOwnerRecord,
  writeOwnerRecord,
} from './owner-record.ts';
import { canConnect } from './ports.ts';
import { spawnNatsServer } from './spawn.ts';

/** A nats-server that Spool runs for the embedded default, on a data directory it owns. */
export interface EmbeddedNats {
  readonly url: string;
  readonly pid: number | undefined;
  /** True when this is a server an earlier Spool process started and did not stop (it was killed). */
  readonly adopted: boolean;
  /**
   * `always`: every JetStream write is fsynced before it is acknowledged (nats-server 2.10+);
   * `default`: the server's own interval (2 minutes: a machine crash can lose the last ones).
   * Undefined for an adopted server (started by an earlier process).
   */
  readonly sync: EmbeddedSync | undefined;
  /** SIGTERM, then wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

export interface EmbeddedNatsOptions {
  readonly host: string;
  readonly port: number;
  readonly storeDir: string;
  /** Told when a server left behind on `storeDir` is reused or stopped. */
  readonly onOrphan?: (orphan: OwnerRecord, action: 'reused' | 'stopped') => void;
  /**
   * Fsync every JetStream write before acknowledging it, when the binary can (2.10+; default
   * true): an embedded server is one replica, the only copy of every history.
   */
  readonly syncAlways?: boolean;
}

/** The server an earlier Spool process left running on `storeDir`, if one still runs there. */
export function findOrphan(storeDir: string): OwnerRecord | undefined {
  const record = readOwnerRecord(storeDir);
  return record !== undefined && isServerOn(record.pid, storeDir) ? record : undefined;
}

/**
 * Runs `nats-server -js` on host:port with its store in `storeDir`, never two on one store:
 * a server left behind there (its CLI was SIGKILLed) is reused when it serves this address,
 * and stopped first otherwise. The running server is recorded beside the store until stopped.
 */
export async function startEmbeddedNats(options: EmbeddedNatsOptions): Promise<EmbeddedNats> {
  const { host, port, storeDir } = options;
  const url = `nats://${host}:${port}`;
  const orphan = findOrphan(storeDir);
  if (orphan !== undefined) {
    if (orphan.url === url && (await canConnect(host, port))) {
      options.onOrphan?.(orphan, 'reused');
      return {
        url,
        pid: orphan.pid,
        adopted: true,
        sync: undefined,
        stop: async () => {
          await stopPid(orphan.pid);
          removeOwnerRecord(storeDir, orphan.pid);
        },
      };
    }
    options.onOrphan?.(orphan, 'stopped');
    await stopPid(orphan.pid);
    removeOwnerRecord(storeDir, orphan.pid);
  }
  const binary = findNatsServerBinary();
  const sync: EmbeddedSync =
    options.syncAlways !== false && binary !== undefined && takesSyncAlways(natsServerVersion(binary))
      ? 'always'
      : 'default';
  const server = await spawnNatsServer({
    host,
    port,
    storeDir,
    ...(sync === 'always' ? { args: syncAlwaysArgs(storeDir) } : {}),
  });
  const pid = server.pid;
  if (pid !== undefined) writeOwnerRecord(storeDir, { pid, url, startedAt: new Date().toISOString() });
  return {
    url,
    pid,
    adopted: false,
    sync,
    stop: async () => {
      await server.stop();
      removeOwnerRecord(storeDir, pid);
    },
  };
}

/** SIGTERM to a process that is not our child, then wait for it to go (SIGKILL after 10 s). */
async function stopPid(pid: number): Promise<void> {
  if (!signal(pid, 'SIGTERM')) return;
  const deadline = Date.now() + 10_000;
  while (signal(pid, 0)) {
    if (Date.now() > deadline) {
      signal(pid, 'SIGKILL');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
