import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from './wait-for.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'apps/cli/src/main.ts');

export interface CliEnv {
  readonly natsUrl: string;
  /** The fake Messages API; without it the CLI runs on its built-in offline model (SPOOL_OFFLINE=1). */
  readonly anthropicBaseUrl?: string;
  /** Working directory (default: the repository root). */
  readonly cwd?: string;
  /** More environment variables (e.g. SPOOL_REPLICAS). */
  readonly extraEnv?: Readonly<Record<string, string>>;
}

/** tsx's loader by absolute URL, so that the CLI also starts from a directory outside the repo. */
const TSX_LOADER = import.meta.resolve('tsx');

function envFor(env: CliEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NATS_URL: env.natsUrl,
    ANTHROPIC_BASE_URL: env.anthropicBaseUrl ?? '',
    ANTHROPIC_API_KEY: env.anthropicBaseUrl === undefined ? '' : 'test-key',
    SPOOL_OFFLINE: env.anthropicBaseUrl === undefined ? '1' : '',
    SPOOL_LOG_LEVEL: process.env.SPOOL_TEST_LOG_LEVEL ?? 'info',
    ...env.extraEnv,
  };
}

/** A `spool` process started in the background (agents, coordinators). */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((res) => child.on('exit', (code) => res(code)));
  }

  /** Waits until the process logs a line containing `text` (JSON logs on stderr). */
  async waitForLog(text: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      () => `log "${text}" from spool (stderr so far: ${this.stderr.slice(-2000)})`,
      () => this.stderr.includes(text),
      timeoutMs,
    );
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

/**
 * Node itself runs the CLI with tsx as a loader (not the `tsx` wrapper, which forks a child):
 * a SIGKILL must reach the process that holds the lease and the connections.
 */
function spawnCli(args: string[], env: CliEnv, stdin: 'ignore' | 'pipe'): ChildProcess {
  return spawn(process.execPath, ['--import', TSX_LOADER, MAIN, ...args], {
    cwd: env.cwd ?? ROOT,
    env: envFor(env),
    stdio: [stdin, 'pipe', 'pipe'],
  });
}

export function startCli(args: string[], env: CliEnv): CliProcess {
  return new CliProcess(spawnCli(args, env, 'ignore'));
}

/** Runs `spool …` to completion. */
export async function runCli(
  args: string[],
  env: CliEnv,
  opts: { stdin?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, env, 'pipe');
  const proc = new CliProcess(child);
  child.stdin?.end(opts.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

/** Writes a config file into a fresh temp dir and returns its path. */
export function writeConfig(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'spool-config-'));
  const path = join(dir, 'spool.config.json');
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return path;
}

/** `spool up --config <config>` in a child process, once its coordinator and agents are up. */
export async function startUp(config: string, env: CliEnv): Promise<CliProcess> {
  const up = startCli(['up', '--config', config], env);
  await up.waitForLog('coordinator history replayed');
  await up.waitForLog('spool is up');
  return up;
}

/** For afterEach: on a failed test, what the processes said is the first thing to read. */
export function printLogOnFailure(
  context: { task: { result?: { state?: string } } },
  process: CliProcess | undefined,
): void {
  if (context.task.result?.state === 'fail' && process !== undefined)
    console.error(process.stderr.split('\n').slice(-60).join('\n').slice(-20_000));
}
