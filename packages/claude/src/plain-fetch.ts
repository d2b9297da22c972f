import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Kept-alive connections to the Messages API, shared by every client of the process. */
const agents = {
  'http:': new HttpAgent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true }),
} as const;

/**
 * The SDK's `fetch` for whole (non-streaming) calls: one node:http request whose body is read
 * in full, answered as a `Response` made of that buffer. Node's built-in fetch (undici with
 * web streams) costs the agent about a third of its CPU per call at high task rates; this
 * costs a fraction of it. Anything else (a streamed call, a body that is not a string, a URL
 * that is not http(s)) goes to the built-in fetch, unchanged.
 */
export const plainFetch: typeof fetch = (input, init) => {
  const body = init?.body;
  const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : undefined;
  if (
    url === undefined ||
    !(url.protocol === 'http:' || url.protocol === 'https:') ||
    (body !== undefined && body !== null && typeof body !== 'string') ||
    (typeof body === 'string' && body.includes('"stream":true'))
  )
    return fetch(input, init);
  return new Promise<Response>((resolve, reject) => {
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    const req = send(url, {
      method: init?.method ?? 'GET',
      headers: headersOf(init?.headers),
      agent: secure ? agents['https:'] : agents['http:'],
    });
    const onAbort = () => req.destroy(abortError(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    req.on('error', (err) => {
      done();
      reject(err);
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => {
        done();
        reject(err);
      });
      res.on('end', () => {
        done();
        const status = res.statusCode ?? 0;
        // A Response may not carry a body with these statuses.
        const empty = status === 204 || status === 205 || status === 304;
        resolve(
          new Response(empty ? null : Buffer.concat(chunks), {
            status,
            statusText: res.statusMessage ?? '',
            headers: responseHeaders(res),
          }),
        );
      });
    });
    req.end(body ?? undefined);
  });
};

function headersOf(headers: RequestInit['headers']): Record<string, string> {
  if (headers === undefined) return {};
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

function responseHeaders(res: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return headers;
}

/** What the built-in fetch rejects with on abort (the SDK tells an abort from a failure by it). */
function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('This operation was aborted', 'AbortError');
}
