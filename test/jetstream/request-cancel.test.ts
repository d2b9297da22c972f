/**
 * The nats.js workaround in request-cancel.ts: requests answered, timed out, unanswered and
 * cancelled by a closing connection behave as without it, on a real nats-server. It must
 * apply to the nats-core this repository installs: when an upgrade changes the method, this
 * fails, so that the workaround is checked again (and dropped once fixed upstream).
 */
import { avoidCancelErrorPerRequest } from '@spool/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type NatsServer, startNats } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let nats: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  expect(avoidCancelErrorPerRequest()).toBe(true);
  nats = await startNats();
  nc = await connect({ servers: nats.url, noAsyncTraces: true });
  nc.subscribe('echo', {
    callback: (_err, m) => {
      m.respond(m.data);
    },
  });
  nc.subscribe('silent', { callback: () => undefined });
  await nc.flush();
});
afterAll(async () => {
  await nc?.close();
  await nats?.close();
});

describe('a request once nats-core no longer builds a RequestError per answer', () => {
  it('answers each of many concurrent requests with its own reply', async () => {
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) => nc.request('echo', `m${i}`, { timeout: 5_000 })),
    );
    expect(replies.map((m) => m.string())).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
  });

  it('still times out, and still says no one answers', async () => {
    await expect(nc.request('silent', 'x', { timeout: 200 })).rejects.toThrow(/timeout/i);
    await expect(nc.request('nobody.here', 'x', { timeout: 2_000 })).rejects.toThrow(/no responders/i);
    // The connection is fine afterwards.
    expect((await nc.request('echo', 'after', { timeout: 5_000 })).string()).toBe('after');
  });

  it('rejects a request in flight when its connection closes', async () => {
    const other = await connect({ servers: nats.url, noAsyncTraces: true });
    const pending = other.request('silent', 'x', { timeout: 10_000 });
    const outcome = pending.then(
      () => 'answered',
      (err: Error) => err.name,
    );
    await other.close();
    expect(await outcome).not.toBe('answered');
  });
});
