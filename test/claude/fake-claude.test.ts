import Anthropic from '@anthropic-ai/sdk';
import { analystResponder, type FakeClaude, startFakeClaude } from '@spool/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The fake Messages API as the real SDK sees it: streaming, count_tokens, faults, latency. */
let fake: FakeClaude;
let sdk: Anthropic;

beforeAll(async () => {
  fake = await startFakeClaude();
  sdk = new Anthropic({ baseURL: fake.url, apiKey: 'test-key', maxRetries: 0 });
});
afterAll(async () => fake?.close());

const params = (text: string) => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 256,
  system: [{ type: 'text' as const, text: 'Be brief.', cache_control: { type: 'ephemeral' as const } }],
  messages: [{ role: 'user' as const, content: text }],
});

describe('the fake Messages API', () => {
  it('streams text as SSE events that the SDK assembles into the final message', async () => {
    fake.script('streamed reply in parts');
    const stream = sdk.messages.stream(params('stream please'));
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const message = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('streamed reply in parts');
    expect(message.content).toEqual([{ type: 'text', text: 'streamed reply in parts' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(fake.requests.at(-1)?.stream).toBe(true);
  });

  it('holds a streamed reply open: its text when told, its end when told', async () => {
    fake.script('held reply');
    const held = fake.holdNextStream();
    const stream = sdk.messages.stream(params('hold it'));
    let text = '';
    stream.on('text', (delta) => {
      text += delta;
    });
    let finished = false;
    const final = stream.finalMessage().then((m) => {
      finished = true;
      return m;
    });
    await held.started;
    await new Promise((r) => setTimeout(r, 200));
    expect(text).toBe('');
    held.sendText();
    for (let i = 0; i < 50 && text !== 'held reply'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(text).toBe('held reply');
    expect(finished).toBe(false); // the text is on the wire, the reply is not complete
    held.finish();
    expect((await final).content).toEqual([{ type: 'text', text: 'held reply' }]);
  });

  it('streams tool_use input as JSON deltas', async () => {
    fake.script({ content: [{ type: 'tool_use', id: 'toolu_9', name: 'mean', input: { values: [4, 5] } }] });
    const message = await sdk.messages.stream(params('tool please')).finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]).toMatchObject({ type: 'tool_use', name: 'mean', input: { values: [4, 5] } });
  });

  it('counts tokens for a request, more for a longer one', async () => {
    const short = await sdk.messages.countTokens(params('hi'));
    const long = await sdk.messages.countTokens(params('hi '.repeat(400)));
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 200);
  });

  it('answers an injected 529 with the API error body, then recovers', async () => {
    fake.failNext(529);
    const err = await sdk.messages.create(params('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect(JSON.stringify((err as InstanceType<typeof Anthropic.APIError>).error)).toContain(
      'overloaded_error',
    );
    expect((await sdk.messages.create(params('y'))).content[0]).toMatchObject({ text: 'fake reply to: y' });
  });

  it('answers a stall with a delay of its length, and applies latency to every reply', async () => {
    fake.stallNext({ ms: 400 });
    let started = Date.now();
    await sdk.messages.create(params('slow'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);

    fake.setLatency(200);
    started = Date.now();
    await sdk.messages.create(params('latent'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    fake.setLatency(0);
  });

  it('records every request with its path, body and status', async () => {
    const before = fake.requests.length;
    fake.failNext(500);
    await sdk.messages.create(params('a')).catch(() => undefined);
    await sdk.messages.create(params('b'));
    const recorded = fake.requests.slice(before);
    expect(recorded.map((r) => [r.path, r.status])).toEqual([
      ['/v1/messages', 500],
      ['/v1/messages', 200],
    ]);
    expect(recorded[1]?.body).toMatchObject({ messages: [{ role: 'user', content: 'b' }] });
  });
});

describe('analystResponder, the offline model of the demo', () => {
  const ask = (...turns: string[]) =>
    analystResponder({
      messages: turns.map((text, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: text })),
    }) as string;

  it('computes the mean of the dataset in the question', () => {
    expect(ask('Analyze this dataset: [1,2,3,4,5]. Calculate the mean.')).toContain('mean is 3');
  });

  it('answers a follow-up from the dataset and mean earlier in the conversation', () => {
    const first = 'Analyze this dataset: [1,2,3,4,5]. Calculate the mean.';
    const answer = ask(
      first,
      ask(first),
      'Now calculate the standard deviation and compare it with the mean.',
    );
    expect(answer).toContain('[1,2,3,4,5]');
    expect(answer).toContain('mean I calculated before (3)');
    expect(answer).toContain('population standard deviation is 1.414 (sample: 1.581)');
  });

  it('says it has no dataset when the conversation holds none (no memory was carried)', () => {
    expect(ask('Now calculate the standard deviation and compare it with the mean.')).toMatch(
      /don't see a dataset/,
    );
  });
});
