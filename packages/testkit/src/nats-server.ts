import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

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

const INSTALL_HINT = 'install it with "apt-get install nats-server" (or set NATS_SERVER_BIN to its path)';

/** The nats-server binary: NATS_SERVER_BIN, else PATH, /usr/sbin and /usr/local/bin; undefined if none. */
export function findNatsServerBinary(): string | undefined {
  const fromEnv = process.env.NATS_SERVER_BIN?.trim();
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/bin', '/usr/bin'];
  const candidates = fromEnv ? [fromEnv] : dirs.filter(Boolean).map((dir) => join(dir, 'nats-server'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A free TCP port on the host (bound and released; the server binds it right after). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `nats-server -js` on `host:port` with its store in `storeDir` and waits until it
 * accepts connections. The handle can stop, kill and restart it on the same port and data.
 */
export async function spawnNatsServer(options: SpawnNatsOptions): Promise<NatsServer> {
  const binary = findNatsServerBinary();
  if (binary === undefined) throw new Error(`nats-server not found: ${INSTALL_HINT}`);
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
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code, signal) =>
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

/** Starts a throwaway nats-server for a test: free port, temporary store, removed on close. */
export async function startNats(
  options: { storeDir?: string; port?: number; args?: string[] } = {},
): Promise<NatsServer> {
  const ownDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'spool-nats-'));
  const port = options.port ?? (await freePort());
  const server = await spawnNatsServer({ port, storeDir, ...(options.args ? { args: options.args } : {}) });
  const close = async () => {
    await server.stop();
    if (ownDir) rmSync(storeDir, { recursive: true, force: true });
  };
  return {
    url: server.url,
    host: server.host,
    port: server.port,
    storeDir,
    get pid() {
      return server.pid;
    },
    stop: () => server.stop(),
    kill: () => server.kill(),
    restart: () => server.restart(),
    close,
    [Symbol.asyncDispose]: close,
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

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, host);
  });
}
