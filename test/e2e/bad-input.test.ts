import { results } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgentInProcess, startWorld, type World } from '../support/world.ts';

describe('inbox - bad messages get a rejected result and never stop the agent', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world?.close());

  it('answers each bad message with a specific rejection, then completes a valid task', async () => {
    const agent = await runAgentInProcess(world, 'checker');
    const sink = results(world.connection);
    const bad: { payload: string; id?: string; code: string; says: RegExp }[] = [
      { payload: 'this is not json', code: 'invalid_json', says: /not JSON/ },
      { payload: '[1,2,3]', code: 'invalid_message', says: /an array, not an object/ },
      { payload: '"just a string"', code: 'invalid_message', says: /a string, not an object/ },
      { payload: 'null', code: 'invalid_message', says: /null, not an object/ },
      { payload: '{"input":"no id"}', code: 'invalid_message', says: /id: .*got nothing/ },
      { payload: '{"id":42,"input":"numeric id"}', code: 'invalid_message', says: /id: .*got number 42/ },
      { payload: '{"id":"no-input"}', id: 'no-input', code: 'invalid_message', says: /input: .*got nothing/ },
      {
        payload: '{"id":"wrong-input","input":{"x":1}}',
        id: 'wrong-input',
        code: 'invalid_message',
        says: /input: .*got an object/,
      },
      { payload: '{"id":"has.dots","input":"x"}', code: 'invalid_task_id', says: /subject token/ },
    ];
    const seqs: number[] = [];
    for (const b of bad) seqs.push(await world.probe.publishRaw('checker', b.payload));
    await world.probe.publishRaw('checker', JSON.stringify({ id: 'good-1', input: 'a valid task' }));

    const good = await sink.wait('checker', 'good-1', AbortSignal.timeout(20_000));
    expect(good.status).toBe('completed');
    expect(good.output).toContain('a valid task');

    for (const [i, b] of bad.entries()) {
      const id = b.id ?? `inbox-${seqs[i]}`;
      const result = await sink.wait('checker', id, AbortSignal.timeout(10_000));
      expect(result, b.payload).toMatchObject({
        taskId: id,
        agent: 'checker',
        status: 'rejected',
        error: { code: b.code },
      });
      expect(result.error?.message, b.payload).toMatch(b.says);
    }
    // Bad messages never reach the model.
    expect(world.fake.requests).toHaveLength(1);
    const stored = await world.probe.results('checker');
    expect(stored).toHaveLength(bad.length + 1);
    await agent.stop();
  });
});
