import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort } from '@spool/testkit';

const require = createRequire(import.meta.url);

/** The entry script of an MCP server package installed from npm (devDependencies). */
function entry(pkg: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'index.js');
}

/** `@modelcontextprotocol/server-filesystem` over stdio, allowed into `dir`. */
export function filesystemServer(dir: string): { command: string; args: string[] } {
  return { command: process.execPath, args: [entry('@modelcontextprotocol/server-filesystem'), dir] };
}

/** `@modelcontextprotocol/server-everything` over stdio. */
export function everythingServer(): { command: string; args: string[] } {
  return { command: process.execPath, args: [entry('@modelcontextprotocol/server-everything'), 'stdio'] };
}

/** Our own stdio server on the official SDK (packages/mcp/test): its tool `key` echoes the call's idempotency key. */
export function keyEchoServer(): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [join(import.meta.dirname, '..', '..', 'packages', 'mcp', 'test', 'key-echo-server.mjs')],
  };
}

/** `@modelcontextprotocol/server-everything` over Streamable HTTP on a free port, until disposed. */
export async function everythingHttpServer(): Promise<{ url: string } & AsyncDisposable> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [entry('@modelcontextprotocol/server-everything'), 'streamableHttp'],
    {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server-everything exited (${code}): ${err}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async [Symbol.asyncDispose]() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
