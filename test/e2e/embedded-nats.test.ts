import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isNatsReachable } from '@spool/jetstream';
import { freePort } from '@spool/testkit';
import { describe, expect, it } from 'vitest';
import { type CliProcess, startCli, writeConfig } from '../support/cli.ts';
import { isAlive } from '../support/installed.ts';
import { waitFor } from '../support/wait-for.ts';

const CONFIG = { agents: { helper: { instructions: 'Help.', model: 'claude-sonnet-4-6' } } };

/** The nats-server processes whose store is `storeDir` (Linux /proc). */
function serversOn(storeDir: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
        const at = args.indexOf('-sd');
        return (
          args.some((a) => a.endsWith('nats-server')) && at >= 0 && resolve(args[at + 1] ?? '') === storeDir
        );
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(isAlive);
}

function recordedPid(cwd: string): number {
  return JSON.parse(readFileSync(join(cwd, '.spool/nats/spool-nats-server.json'), 'utf8')).pid;
}

async function up(cwd: string, natsUrl: string, config: string): Promise<CliProcess> {
  const proc = startCli(['up', '--config', config], { natsUrl, cwd });
  await proc.waitForLog('spool is up');
  return proc;
}

describe('spool up - one embedded nats-server per data directory, even after a SIGKILL', () => {
  it('adopts the server a SIGKILLed spool left on the same address, and stops it on SIGTERM', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'spool-orphan-'));
    const storeDir = join(cwd, '.spool/nats');
    const natsUrl = `nats://127.0.0.1:${await freePort()}`;
    const config = writeConfig(CONFIG);

    const first = await up(cwd, natsUrl, config);
    const orphan = recordedPid(cwd);
    expect(serversOn(storeDir)).toEqual([orphan]);
    await first.kill('SIGKILL');
    // Nothing could stop it: the server outlives its CLI.
    expect(isAlive(orphan)).toBe(true);
    expect(await isNatsReachable(natsUrl, 1_000)).toBe(true);

    const second = await up(cwd, natsUrl, config);
    try {
      expect(second.stderr).toContain('adopted the embedded nats-server an earlier spool left running');
      expect(serversOn(storeDir)).toEqual([orphan]);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
    await waitFor('the adopted server gone', () => !isAlive(orphan), 15_000);
    expect(serversOn(storeDir)).toEqual([]);
  });

  it('stops a server left on another address before starting its own on the same data', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'spool-orphan-'));
    const storeDir = join(cwd, '.spool/nats');
    const config = writeConfig(CONFIG);
    const first = await up(cwd, `nats://127.0.0.1:${await freePort()}`, config);
    const orphan = recordedPid(cwd);
    await first.kill('SIGKILL');

    const second = await up(cwd, `nats://127.0.0.1:${await freePort()}`, config);
    try {
      expect(second.stderr).toContain('stopped the embedded nats-server an earlier spool left running');
      expect(isAlive(orphan)).toBe(false);
      expect(serversOn(storeDir)).toEqual([recordedPid(cwd)]);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
    expect(serversOn(storeDir)).toEqual([]);
  });
});
