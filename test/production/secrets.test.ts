import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeClaude, freePort, type NatsServer, spawnNatsServer, startFakeClaude } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliEnv, type CliProcess, runCli, startCli, writeConfig } from '../support/cli.ts';
import { startSecuredNats } from '../support/secured-nats.ts';

const API_KEY = 'sk-ant-api03-LEAKCHECK-key-0123456789';
const PASSWORD = 'pw-LEAKCHECK-4d1f9a';
const WRONG_PASSWORD = 'pw-LEAKCHECK-wrong-77e2';
const TOKEN = 'tok-LEAKCHECK-5b8c2e';
const SECRETS = [API_KEY, PASSWORD, WRONG_PASSWORD, TOKEN];

/** A nats-server that takes one token (a server has either users or a token). */
async function startTokenNats(token: string): Promise<NatsServer & { dispose(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'spool-token-'));
  const config = join(dir, 'server.conf');
  writeFileSync(config, JSON.stringify({ authorization: { token } }));
  const server = await spawnNatsServer({
    port: await freePort(),
    storeDir: join(dir, 'store'),
    args: ['-c', config],
  });
  return { ...server, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('secrets - no key, password or token in any log line, error, result, history event or --json output', () => {
  let nats: NatsServer;
  let tokenNats: NatsServer & { dispose(): void };
  let fake: FakeClaude;
  const seen: string[] = [];
  const processes: CliProcess[] = [];
  const env = (extra: Record<string, string> = {}): CliEnv => ({
    natsUrl: nats.url,
    anthropicBaseUrl: fake.url,
    extraEnv: {
      NATS_USER: 'alice',
      NATS_PASSWORD: PASSWORD,
      SPOOL_LOG_LEVEL: 'trace',
      ANTHROPIC_API_KEY: API_KEY,
      ...extra,
    },
  });
  const run = async (args: string[], e: CliEnv) => {
    const out = await runCli(args, e);
    seen.push(out.stdout, out.stderr);
    return out;
  };

  beforeAll(async () => {
    nats = await startSecuredNats([{ user: 'alice', password: PASSWORD }]);
    tokenNats = await startTokenNats(TOKEN);
    fake = await startFakeClaude();
    const config = writeConfig({
      agents: {
        helper: {
          instructions: 'Help.',
          model: 'claude-sonnet-4-6',
          retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
        },
      },
    });
    processes.push(
      startCli(['coordinator', '--config', config], env()),
      startCli(['agent', 'helper', '--config', config], env()),
    );
    for (const p of processes) await p.waitForLog('history replayed');
  });

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await fake?.close();
    await nats?.close();
    await tokenNats?.stop();
    tokenNats?.dispose();
  });

  it('at trace level, through tasks, a failed model call, refused logins and every output', async () => {
    expect((await run(['submit', 'helper', 'hello', '--id', 'ok-1', '--wait', '--json'], env())).code).toBe(
      0,
    );
    fake.failNext(500, { count: 2 });
    expect((await run(['submit', 'helper', 'fails', '--id', 'bad-1', '--wait', '--json'], env())).code).toBe(
      1,
    );
    fake.failNext(401);
    expect(
      (await run(['submit', 'helper', 'unauthorized', '--id', 'bad-2', '--wait', '--json'], env())).code,
    ).toBe(1);
    // The password in the URL works, and is not shown.
    const { hostname: host, port } = new URL(nats.url.replace('nats:', 'http:'));
    const inUrl = await run(['status', '--json'], {
      ...env({ NATS_USER: '', NATS_PASSWORD: '' }),
      natsUrl: `nats://alice:${PASSWORD}@${host}:${port}`,
    });
    expect(inUrl.code, inUrl.stderr).toBe(0);
    // Refused logins: a wrong password in the URL and in NATS_PASSWORD, a wrong token.
    const refusedUrl = await run(['status'], {
      ...env({ NATS_USER: '', NATS_PASSWORD: '' }),
      natsUrl: `nats://alice:${WRONG_PASSWORD}@${host}:${port}`,
    });
    expect(refusedUrl.stderr).toContain('refused the credentials (user and password from the URL)');
    expect(refusedUrl.stderr).toContain('nats://127.0.0.1:');
    const refusedEnv = await run(['status'], env({ NATS_PASSWORD: WRONG_PASSWORD }));
    expect(refusedEnv.stderr).toContain('refused the credentials (user and password)');
    const refusedToken = await run(['status'], {
      ...env({ NATS_USER: '', NATS_PASSWORD: '', NATS_TOKEN: `${TOKEN}-x` }),
      natsUrl: tokenNats.url,
    });
    expect(refusedToken.stderr).toContain('refused the credentials (token)');
    const tokenOk = await run(['submit', 'helper', 'queued', '--json'], {
      ...env({ NATS_USER: '', NATS_PASSWORD: '', NATS_TOKEN: TOKEN }),
      natsUrl: tokenNats.url,
    });
    expect(tokenOk.code, tokenOk.stderr).toBe(0);
    // A long-running process refused at start says so and exits at once (it does not wait).
    const agentRefused = await run(
      [
        'agent',
        'helper',
        '--config',
        writeConfig({ agents: { helper: { instructions: 'Help.', model: 'claude-sonnet-4-6' } } }),
      ],
      env({ NATS_PASSWORD: WRONG_PASSWORD }),
    );
    expect(agentRefused.code).toBe(1);

    for (const agent of ['helper', 'coordinator']) await run(['replay', agent, '--json'], env());
    await run(['status', '--json'], env());
    await run(['dlq', '--json'], env());

    const everything = [...seen, ...processes.flatMap((p) => [p.stdout, p.stderr])].join('\n');
    // Every level is on (SPOOL_LOG_LEVEL=trace): whatever Spool logs, at any level, is in here.
    expect(everything).toContain('"level":30');
    expect(everything).toContain('authentication_failed');
    for (const secret of SECRETS)
      expect(everything.includes(secret), `a secret (${secret.slice(0, 12)}…) leaked`).toBe(false);
  });
});
