import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliProcess } from './cli.ts';

/** The `spool` an npm install put in `dir`'s node_modules/.bin (or an ancestor's), as npx finds it. */
export function installedBin(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    const bin = join(at, 'node_modules/.bin/spool');
    if (existsSync(bin)) return bin;
    if (dirname(at) === at) throw new Error(`no node_modules/.bin/spool in ${dir} or above`);
  }
}

/** The environment without this machine's Spool and Anthropic settings, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(ANTHROPIC_|SPOOL_OFFLINE$|NATS_URL$)/.test(k)),
  );
  return { ...base, SPOOL_LOG_LEVEL: 'info', ...env };
}

/** Runs the installed binary itself (no npx, no shell): its PID is the process that does the work. */
export function spawnInstalled(dir: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(installedBin(dir), args, { cwd: dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function runInstalled(
  dir: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = new CliProcess(spawnInstalled(dir, args, env));
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

/** Every descendant of `pid` now (Linux /proc). */
export function childrenOf(pid: number): number[] {
  const direct = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => statOf(Number(name))?.ppid === pid)
    .map(Number);
  return direct.flatMap((child) => [child, ...childrenOf(child)]);
}

/** A process that runs (a zombie waiting to be reaped does not). */
export function isAlive(pid: number): boolean {
  const stat = statOf(pid);
  return stat !== undefined && stat.state !== 'Z';
}

function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; read after the last ')'.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state ?? '', ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}
