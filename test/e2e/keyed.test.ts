import { type AgentEvent, type AgentSpecInput, defineTool } from '@spool/core';
import { z } from 'zod';
import {
  keyedApprovals,
  keyedForwarding,
  keyedHistoryStore,
  keyedOwnership,
  openKeyedInbox,
  results,
  sendControl,
  submitTask,
} from '@spool/jetstream';
import { type KeyedHostHandle, startKeyedOnNats } from '@spool/runtime';
import type { MessagesBody } from '@spool/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { analystSpec, runAgentInProcess, startWorld, testLogger, type World } from '../support/world.ts';

/**
 * Keyed agents in one process and in a pool of hosts: real NATS, the real SDK against the
 * fake Messages API, which answers with the last user message (so memory shows in requests).
 */

let world: World;
let hosts: KeyedHostHandle[] = [];
beforeAll(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
});
afterAll(async () => world?.close());

async function host(
  name: string,
  keyed: AgentSpecInput['keyed'] = true,
  extra: Partial<AgentSpecInput> = {},
) {
  const handle = await startKeyedOnNats(world.connection, {
    name,
    spec: analystSpec({ keyed, ...extra }),
    holder: `test-${hosts.length}`,
    model: world.model,
    logger: testLogger,
    ackWaitMs: 2_000,
    fetchExpiresMs: 500,
  });
  hosts.push(handle);
  await handle.ready;
  return handle;
}

const userTexts = (body: MessagesBody) =>
  (body.messages ?? []).map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)));

describe('keyed agents', () => {
  it('keeps each key its own memory: requests carry exactly that key’s earlier exchanges', async () => {
    await host('support');
    const sink = results(world.connection);
    await submitTask(world.connection, 'support.acme', { id: 'a1', input: 'acme one' });
    await submitTask(world.connection, 'support.globex', { id: 'g1', input: 'globex one' });
    const a1 = await sink.wait('support.acme', 'a1', AbortSignal.timeout(20_000));
    await sink.wait('support.globex', 'g1', AbortSignal.timeout(20_000));
    expect(a1).toMatchObject({ agent: 'support', key: 'acme', status: 'completed' });
    await submitTask(world.connection, 'support.acme', { id: 'a2', input: 'acme two' });
    const a2 = await sink.wait('support.acme', 'a2', AbortSignal.timeout(20_000));
    expect(a2.status).toBe('completed');
    const last = world.fake.requests.filter((r) => userTexts(r.body as MessagesBody).includes('acme two'));
    expect(last).toHaveLength(1);
    expect(userTexts(last[0]?.body as MessagesBody)).toEqual([
      'acme one',
      'fake reply to: acme one',
      'acme two',
    ]);
    // The same task id under another key is another task.
    await submitTask(world.connection, 'support.globex', { id: 'a1', input: 'globex again' });
    const g = await sink.wait('support.globex', 'a1', AbortSignal.timeout(20_000));
    expect(g.output).toBe('fake reply to: globex again');
    const store = keyedHistoryStore(world.connection, (json) => json as { events: { id: string }[] });
    expect(await store.agents()).toEqual(expect.arrayContaining(['support.acme', 'support.globex']));
  });

  it('rejects a task whose key is outside the documented set, and goes on', async () => {
    await host('badkeys');
    const sink = results(world.connection);
    await submitTask(world.connection, 'badkeys.not@valid', { id: 'b1', input: 'hello' });
    await submitTask(world.connection, `badkeys.${'k'.repeat(129)}`, { id: 'b2', input: 'hello' });
    await submitTask(world.connection, 'badkeys.fine', { id: 'b3', input: 'hello' });
    const bad = await sink.wait('badkeys.not@valid', 'b1', AbortSignal.timeout(20_000));
    expect(bad).toMatchObject({ status: 'rejected', key: 'not@valid', error: { code: 'invalid_key' } });
    expect(bad.error?.message).toMatch(/outside letters, digits/);
    const long = await sink.wait(`badkeys.${'k'.repeat(129)}`, 'b2', AbortSignal.timeout(20_000));
    expect(long.error?.message).toMatch(/129 characters long/);
    expect((await sink.wait('badkeys.fine', 'b3', AbortSignal.timeout(20_000))).status).toBe('completed');
  });

  it('serves 1000 keys with maxActive 50, memory carried across passivation', async () => {
    const keyed = { maxActive: 50, idleMs: 200 };
    const h = await host('many', keyed, { concurrency: 1 });
    const sink = results(world.connection);
    const keys = Array.from({ length: 1000 }, (_, i) => `c${i}`);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, h.activeKeys().length);
    }, 20);
    await Promise.all(
      keys.map((k) => submitTask(world.connection, `many.${k}`, { id: 'first', input: `${k} first` })),
    );
    for (const k of keys)
      expect((await sink.wait(`many.${k}`, 'first', AbortSignal.timeout(60_000))).status).toBe('completed');
    await Promise.all(
      keys
        .slice(0, 100)
        .map((k) => submitTask(world.connection, `many.${k}`, { id: 'second', input: `${k} second` })),
    );
    for (const k of keys.slice(0, 100)) {
      const second = await sink.wait(`many.${k}`, 'second', AbortSignal.timeout(60_000));
      expect(second.status).toBe('completed');
    }
    clearInterval(sampler);
    expect(peak).toBeLessThanOrEqual(50);
    const seconds = world.fake.requests.filter((r) =>
      userTexts(r.body as MessagesBody)
        .at(-1)
        ?.endsWith(' second'),
    );
    expect(seconds).toHaveLength(100);
    for (const request of seconds) {
      const texts = userTexts(request.body as MessagesBody);
      const k = texts.at(-1)?.split(' ')[0];
      expect(texts).toEqual([`${k} first`, `fake reply to: ${k} first`, `${k} second`]);
    }
  }, 180_000);

  it('wakes a passivated instance when the result of its delegation arrives', async () => {
    world.fake.script({
      content: [
        { type: 'tool_use', id: 'd1', name: 'delegate', input: { agent: 'researcher', task: 'look it up' } },
      ],
    });
    const h = await host(
      'delegator',
      { maxActive: 10, idleMs: 200 },
      { delegation: { agents: ['researcher'] } },
    );
    await submitTask(world.connection, 'delegator.cust9', { id: 'q1', input: 'ask around' });
    // The researcher is not running: the task parks, the instance is passivated with a wake record.
    await waitFor('q1 parked on its delegation', () =>
      [...(h.instanceState('cust9')?.active.values() ?? [])].some(
        (t) => t.steps.at(-1)?.tools[0]?.delegation?.sent,
      ),
    );
    await waitFor('cust9 passivated', () => !h.activeKeys().includes('cust9'));
    const researcher = await runAgentInProcess(world, 'researcher');
    try {
      const result = await results(world.connection).wait(
        'delegator.cust9',
        'q1',
        AbortSignal.timeout(30_000),
      );
      expect(result).toMatchObject({ status: 'completed', key: 'cust9', tools: ['delegate'] });
      // The woken instance's next request carried the child's result as the delegate call's result.
      const resumed = world.fake.requests.filter((r) =>
        JSON.stringify((r.body as MessagesBody).messages ?? []).includes('fake reply to: look it up'),
      );
      expect(resumed.length).toBeGreaterThanOrEqual(1);
    } finally {
      await researcher.stop();
    }
  });

  it('wakes a passivated instance when its durable timer is due', async () => {
    world.fake.script(
      { content: [{ type: 'tool_use', id: 'w1', name: 'wait', input: { wait_for: '3s' } }] },
      'Looked again.',
    );
    const h = await host('waiter', { maxActive: 10, idleMs: 200 }, { timers: { maxWait: '1m' } });
    await submitTask(world.connection, 'waiter.cust3', { id: 't1', input: 'look again later' });
    await waitFor('t1 parked on its timer', () =>
      [...(h.instanceState('cust3')?.active.values() ?? [])].some(
        (t) => t.steps.at(-1)?.tools[0]?.timer !== undefined,
      ),
    );
    const due = Date.parse(
      [...(h.instanceState('cust3')?.active.values() ?? [])][0]?.steps.at(-1)?.tools[0]?.timer?.until ?? '',
    );
    await waitFor('cust3 passivated', () => !h.activeKeys().includes('cust3'));
    const result = await results(world.connection).wait('waiter.cust3', 't1', AbortSignal.timeout(20_000));
    expect(result).toMatchObject({ status: 'completed', output: 'Looked again.', tools: ['wait'] });
    // Woken by the wake record's time, not earlier.
    expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(due);
  });

  it('wakes a passivated instance for an approval that arrives on its control subject', async () => {
    world.fake.script({ content: [{ type: 'tool_use', id: 'tu1', name: 'refund', input: { amount: 5 } }] });
    const refund = defineTool({
      name: 'refund',
      description: 'Refunds an amount.',
      input: z.object({ amount: z.number() }),
      requiresApproval: true,
      handler: () => 'refunded',
    });
    const h = await host('approver', { maxActive: 10, idleMs: 200 }, { tools: [refund] });
    await submitTask(world.connection, 'approver.cust1', { id: 'r1', input: 'refund me' });
    await waitFor(
      'r1 waiting for approval',
      () => h.instanceState('cust1')?.active.get('r1')?.phase === 'waiting',
    );
    await waitFor('cust1 passivated', () => !h.activeKeys().includes('cust1'));
    // Its wake record lists what waits for an operator (the console's approvals page reads it).
    const listed = await waitFor('the approval in the wake record', async () => {
      const all = await keyedApprovals(world.connection, 'approver');
      return all.length > 0 ? all : undefined;
    });
    expect(listed).toEqual([
      expect.objectContaining({ key: 'cust1', taskId: 'r1', tool: 'refund', input: '{"amount":5}' }),
    ]);
    await sendControl(world.connection, 'approver.cust1', { type: 'approve', taskId: 'r1' }, 'ok-r1');
    const result = await results(world.connection).wait('approver.cust1', 'r1', AbortSignal.timeout(20_000));
    expect(result.status).toBe('completed');
    expect(result.tools).toEqual(['refund']);
    // Activated again, its wake record went; passivated with nothing waiting, none is written.
    await waitFor('cust1 passivated again', () => !h.activeKeys().includes('cust1'));
    expect(await keyedApprovals(world.connection, 'approver')).toEqual([]);
  });

  it('does not refuse a good task as poison however often its owner hands a forward back', async () => {
    // Another host (live lease, owns the key) that hands every forwarded message back eight
    // times, then lets the key go: delivered through the consumer each time, the task would
    // pass the poison limit (5 deliveries never journaled) long before it is taken.
    const ownership = await keyedOwnership(world.connection);
    const other = await ownership.hostLease('bouncy', 'hother', 10_000);
    const claim = await ownership.claim('bouncy', 'acme', 'hother');
    if (!claim.mine) throw new Error('expected the other host to own acme');
    let bounces = 0;
    const unserve = keyedForwarding(world.connection).serve('bouncy', 'hother', async () => {
      bounces += 1;
      if (bounces === 8) await ownership.release('bouncy', 'acme', claim.revision);
      return 'nak';
    });
    try {
      await host('bouncy');
      await submitTask(world.connection, 'bouncy.acme', { id: 'p1', input: 'acme asks' });
      const result = await results(world.connection).wait('bouncy.acme', 'p1', AbortSignal.timeout(30_000));
      expect(bounces).toBeGreaterThanOrEqual(8);
      expect(result).toMatchObject({ status: 'completed', output: 'fake reply to: acme asks' });
      // Taken on its first delivery: no redelivery was counted against it.
      const store = keyedHistoryStore(world.connection, (json) => json as { events: AgentEvent[] });
      const received: AgentEvent[] = [];
      for await (const commit of store.replay('bouncy.acme'))
        received.push(...commit.events.filter((e) => e.type === 'task.received'));
      expect(received).toHaveLength(1);
    } finally {
      unserve();
      await other.release();
    }
  });

  it('counts toward the poison limit only attempts to journal a task, not deliveries spent before', async () => {
    // Six deliveries that never reached an instance (hosts that died holding it, or routing it):
    // past the limit of 5 by deliveries, but no attempt at journaling it was made.
    await submitTask(world.connection, 'survivor.acme', { id: 's1', input: 'acme again' });
    const inbox = await openKeyedInbox(world.connection, 'survivor', { ackWaitMs: 2_000 });
    for (let i = 0; i < 6; i++) {
      const [message] = await inbox.fetch(1, 2_000);
      expect(message?.deliveryCount).toBe(i + 1);
      message?.nak();
    }
    await host('survivor');
    const taken = await results(world.connection).wait('survivor.acme', 's1', AbortSignal.timeout(20_000));
    expect(taken).toMatchObject({ status: 'completed', output: 'fake reply to: acme again' });
    // Its attempt count was cleared once it was journaled.
    await waitFor(
      'the attempt count cleared',
      async () => (await world.probe.messagesOn('KV_spool_keyed', '$KV.spool_keyed.try.survivor.>')) === 0,
    );

    // A task whose instance set out to journal it five times already (each try took its process
    // down): refused as poison on its next delivery, without a model call.
    const ownership = await keyedOwnership(world.connection);
    for (let i = 0; i < 5; i++) await ownership.countAttempt('refuser', 'globex', 'p1');
    await submitTask(world.connection, 'refuser.globex', { id: 'p1', input: 'globex poison' });
    const [delivered] = await (await openKeyedInbox(world.connection, 'refuser', { ackWaitMs: 2_000 })).fetch(
      1,
      2_000,
    );
    delivered?.nak();
    await host('refuser');
    const refused = await results(world.connection).wait('refuser.globex', 'p1', AbortSignal.timeout(20_000));
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'poison_message' } });
    expect(refused.error?.message).toContain('6 attempts to journal it');
    expect(world.fake.requests.filter((r) => JSON.stringify(r.body).includes('globex poison'))).toEqual([]);
  });

  it('restores a key whose ownership record was lost from its history: the fenced first write, then a replay', async () => {
    const sink = results(world.connection);
    const first = await host('fenced');
    await submitTask(world.connection, 'fenced.acme', { id: 'f1', input: 'acme first' });
    expect((await sink.wait('fenced.acme', 'f1', AbortSignal.timeout(20_000))).status).toBe('completed');
    await first.stop();
    hosts = hosts.filter((h) => h !== first);
    // spool_keyed is coordination data: if it were lost, the key would look never activated.
    expect(await world.probe.purgeSubject('KV_spool_keyed', '$KV.spool_keyed.own.fenced.acme')).toBe(1);
    await host('fenced');
    await submitTask(world.connection, 'fenced.acme', { id: 'f2', input: 'acme second' });
    const second = await sink.wait('fenced.acme', 'f2', AbortSignal.timeout(30_000));
    expect(second.status).toBe('completed');
    // Restored from its history after all: the second task saw the first.
    const request = world.fake.requests.filter(
      (r) => userTexts(r.body as MessagesBody).at(-1) === 'acme second',
    );
    expect(request.map((r) => userTexts(r.body as MessagesBody))).toEqual([
      ['acme first', 'fake reply to: acme first', 'acme second'],
    ]);
    const received = (await world.probe.keyedHistory('fenced')).flatMap((c) =>
      c.events.filter((e) => e.type === 'task.received'),
    );
    expect(received).toHaveLength(2);
  });
});
