import { type ChildProcess, spawn } from 'node:child_process';
import { findNatsServerBinary, NATS_INSTALL_HINT } from './binary.ts';
import { canConnect } from './ports.ts';

/** A real nats-server child process with JetStream, on a port and data directory of its own. */
export interface NatsServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly storeDir: string;
  readonly pid: number | undefined;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, then wait for the exit: a crash, with no chance to flush. */
  kill(): Promise<void>;
  /** Starts again on the same port and the same data. */
  restart(): Promise<void>;
  /** Stops and removes the data directory if this handle created it. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface SpawnNatsOptions {
  readonly host?: string;
  readonly port: number;
  readonly storeDir: string;
  readonly args?: readonly string[];
  /** How long to wait for the server to accept connections (default 10 s). */
  readonly readyTimeoutMs?: number;
}

/**
 * Spawns `nats-server -js` on `host:port` with its store in `storeDir` and waits until it
 * accepts connections. The handle can stop, kill and restart it on the same port and data.
 */
export async function spawnNatsServer(options: SpawnNatsOptions): Promise<NatsServer> {
  const binary = findNatsServerBinary();
  if (binary === undefined) throw new Error(`nats-server not found: ${NATS_INSTALL_HINT}`);
  const host = options.host ?? '127.0.0.1';
  const { port, storeDir } = options;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    log = '';
    const proc = spawn(
      binary,
      ['-js', '-a', host, '-p', String(port), '-sd', storeDir, ...(options.args ?? [])],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = proc;
    const keep = (d: Buffer) => {
      log = (log + d.toString()).slice(-8000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    // 'close' comes after the output is read to its end ('exit' may come first): the error
    // carries what the server said, e.g. which config field it refused.
    const exited = new Promise<never>((_, reject) =>
      proc.once('close', (code, signal) =>
        reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log}`)),
      ),
    );
    exited.catch(() => undefined);
    const spawnFailed = new Promise<never>((_, reject) => proc.once('error', reject));
    spawnFailed.catch(() => undefined);
    await Promise.race([
      waitReady(host, port, options.readyTimeoutMs ?? 10_000, () => log),
      exited,
      spawnFailed,
    ]);
  };

  const stopWith = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url: `nats://${host}:${port}`,
    host,
    port,
    storeDir,
    get pid() {
      return child?.pid;
    },
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGTERM');
      await start();
    },
    close: () => stopWith('SIGTERM'),
    [Symbol.asyncDispose]: () => stopWith('SIGTERM'),
  };
}

async function waitReady(host: string, port: number, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The server logs "Server is ready" once it accepts clients (JetStream recovered).
    if (log().includes('Server is ready') && (await canConnect(host, port))) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nats-server on ${host}:${port} not ready after ${timeoutMs} ms:\n${log()}`);
}
