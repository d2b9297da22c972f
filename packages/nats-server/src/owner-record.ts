import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Which nats-server runs on a data directory, written beside its store when Spool starts one:
 * a CLI killed with SIGKILL cannot stop its server, and the next start must find that orphan
 * (to reuse or stop it) rather than start a second server on the same store.
 */
export interface OwnerRecord {
  readonly pid: number;
  readonly url: string;
  readonly startedAt: string;
}

const RECORD_FILE = 'spool-nats-server.json';

function recordPath(storeDir: string): string {
  return join(storeDir, RECORD_FILE);
}

export function writeOwnerRecord(storeDir: string, record: OwnerRecord): void {
  writeFileSync(recordPath(storeDir), `${JSON.stringify(record)}\n`);
}

export function removeOwnerRecord(storeDir: string, pid: number | undefined): void {
  // Only our own: a newer server may already have taken the directory over.
  if (readOwnerRecord(storeDir)?.pid === pid) rmSync(recordPath(storeDir), { force: true });
}

export function readOwnerRecord(storeDir: string): OwnerRecord | undefined {
  const path = recordPath(storeDir);
  if (!existsSync(path)) return undefined;
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Partial<OwnerRecord>;
    if (typeof value.pid === 'number' && typeof value.url === 'string' && typeof value.startedAt === 'string')
      return { pid: value.pid, url: value.url, startedAt: value.startedAt };
  } catch {
    // a torn write: nobody to find
  }
  return undefined;
}

/**
 * True when `pid` is a live nats-server using `storeDir`. Where /proc exists its command line
 * must name both (a recycled pid is never taken for our server); elsewhere a live pid is enough.
 */
export function isServerOn(pid: number, storeDir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false; // gone, or another user's (EPERM): not one we started
  }
  const cmdlineFile = `/proc/${pid}/cmdline`;
  if (!existsSync('/proc/self')) return true;
  try {
    const args = readFileSync(cmdlineFile, 'utf8').split('\0');
    const dirAt = args.indexOf('-sd');
    return (
      args.some((a) => a.endsWith('nats-server')) &&
      dirAt >= 0 &&
      resolve(args[dirAt + 1] ?? '') === resolve(storeDir)
    );
  } catch {
    return false;
  }
}
