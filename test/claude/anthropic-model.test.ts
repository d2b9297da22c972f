import { anthropicModel, type ModelClient, type ModelRequest } from '@spool/claude';
import { ErrorCode, RetryableError, TerminalError } from '@spool/core';
import { type FakeClaude, startFakeClaude } from '@spool/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

/** The adapter on the real SDK, talking HTTP to a fake Messages API on loopback. */
let fake: FakeClaude;
let model: ModelClient;

beforeAll(async () => {
  fake = await startFakeClaude();
  model = anthropicModel({ baseURL: fake.url, apiKey: 'test-key', maxRetries: 0 });
});
afterAll(async () => fake?.close());
beforeEach(() => {
  fake.requests.length = 0;
});

const request = (text: string, system = 'You analyze data.'): ModelRequest => ({
  model: 'claude-sonnet-4-6',
  system,
  messages: [{ role: 'user', content: text }],
  maxTokens: 512,
});

describe('anthropicModel', () => {
  it('sends the instructions as a cached system block and returns content, stop reason, usage and request id', async () => {
    const reply = await model.respond(request('What is the mean of [1,2,3]?'));
    expect(reply.content).toEqual([{ type: 'text', text: 'fake reply to: What is the mean of [1,2,3]?' }]);
    expect(reply.stopReason).toBe('end_turn');
    expect(reply.requestId).toMatch(/^req_[0-9a-f]{16}$/);
    expect(reply.usage.inputTokens).toBeGreaterThan(0);
    expect(reply.usage.outputTokens).toBeGreaterThan(0);

    const [sent] = fake.requests;
    expect(sent?.path).toBe('/v1/messages');
    // This SDK version sends the key as a bearer token; older ones used x-api-key.
    expect(`${sent?.headers.authorization} ${sent?.headers['x-api-key']}`).toContain('test-key');
    expect(sent?.body).toMatchObject({
      model: 'claude-sonnet-4-6',
      max_tokens: 512,
      system: [{ type: 'text', text: 'You analyze data.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'What is the mean of [1,2,3]?' }],
    });
  });

  it('reports cache-creation tokens on the first call with a system prompt and cache-read tokens after', async () => {
    const system = `A prompt seen once: ${Math.random()}`;
    const first = await model.respond(request('one', system));
    const second = await model.respond(request('two', system));
    expect(first.usage.cacheCreationInputTokens).toBeGreaterThan(0);
    expect(first.usage.cacheReadInputTokens).toBe(0);
    expect(second.usage.cacheReadInputTokens).toBe(first.usage.cacheCreationInputTokens);
    expect(second.usage.cacheCreationInputTokens).toBe(0);
  });

  it('returns scripted blocks as the API sent them (tool_use included)', async () => {
    fake.script({
      content: [
        { type: 'text', text: 'Let me compute.' },
        { type: 'tool_use', id: 'toolu_1', name: 'mean', input: { values: [1, 2, 3] } },
      ],
    });
    const reply = await model.respond(request('mean?'));
    expect(reply.stopReason).toBe('tool_use');
    expect(reply.content[1]).toEqual({
      type: 'tool_use',
      id: 'toolu_1',
      name: 'mean',
      input: { values: [1, 2, 3] },
    });
  });

  it.each([
    [429, ErrorCode.RateLimited],
    [529, ErrorCode.Overloaded],
    [500, ErrorCode.ServerError],
    [503, ErrorCode.ServerError],
  ])('maps HTTP %i to a retryable %s error', async (status, code) => {
    fake.failNext(status);
    const failure = model.respond(request('x'));
    await expect(failure).rejects.toBeInstanceOf(RetryableError);
    await expect(failure).rejects.toMatchObject({ code, retryable: true });
    await expect(failure).rejects.toThrow(String(status));
  });

  it.each([
    [400, ErrorCode.BadRequest, /refused the request/],
    [401, ErrorCode.AuthenticationFailed, /check ANTHROPIC_API_KEY/],
    [403, ErrorCode.PermissionDenied, /permission denied/],
    [404, ErrorCode.NotFound, /check the model name/],
  ])('maps HTTP %i to a terminal %s error that says what to do', async (status, code, says) => {
    fake.failNext(status);
    const failure = model.respond(request('x'));
    await expect(failure).rejects.toBeInstanceOf(TerminalError);
    await expect(failure).rejects.toMatchObject({ code, retryable: false });
    await expect(failure).rejects.toThrow(says);
  });

  it("carries the server's retry-after as retryAfterMs", async () => {
    fake.failNext(429, { retryAfterSeconds: 7 });
    await expect(model.respond(request('x'))).rejects.toMatchObject({
      code: ErrorCode.RateLimited,
      retryAfterMs: 7_000,
    });
  });

  it('maps a connection reset to a retryable connection error', async () => {
    fake.dropNext();
    await expect(model.respond(request('x'))).rejects.toMatchObject({
      code: ErrorCode.ConnectionError,
      retryable: true,
    });
  });

  it('maps a stalled call to a retryable timeout once the timeout passes', async () => {
    const impatient = anthropicModel({ baseURL: fake.url, apiKey: 'k', maxRetries: 0, timeoutMs: 300 });
    fake.stallNext();
    const started = Date.now();
    await expect(impatient.respond(request('x'))).rejects.toMatchObject({
      code: ErrorCode.Timeout,
      retryable: true,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops a call when its signal aborts, without mapping the abort to a model error', async () => {
    fake.stallNext();
    const controller = new AbortController();
    const call = model.respond(request('x'), controller.signal);
    setTimeout(() => controller.abort(), 100);
    const err = await call.catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(RetryableError);
    expect(err).not.toBeInstanceOf(TerminalError);
  });

  it('refuses to call without an API key, with a message that says which variable to set', async () => {
    const keyless = anthropicModel({ baseURL: fake.url, apiKey: ' ' });
    await expect(keyless.respond(request('x'))).rejects.toMatchObject({
      code: ErrorCode.AuthenticationFailed,
      message: expect.stringContaining('ANTHROPIC_API_KEY'),
    });
    expect(fake.requests).toEqual([]);
  });

  it('lets the SDK retry on its own when asked to (maxRetries), honouring retry-after', async () => {
    const patient = anthropicModel({ baseURL: fake.url, apiKey: 'k', maxRetries: 2 });
    fake.failNext(529, { count: 2, retryAfterSeconds: 0 });
    const reply = await patient.respond(request('persist'));
    expect(reply.content[0]).toMatchObject({ text: 'fake reply to: persist' });
    expect(fake.requests.map((r) => r.status)).toEqual([529, 529, 200]);
  });
});
