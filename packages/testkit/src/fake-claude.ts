import {
  asReply,
  type Reply as FakeReply,
  type MessagesBody,
  type MessagesReply,
  type MessagesRequest,
  type Responder,
  type StreamPacing,
  startMessagesServer,
  textOfContent,
} from '@spool/offline-model';

/** A request the fake received (faults included), with the status it answered. */
export type RecordedRequest = MessagesRequest;

export interface FakeClaudeOptions {
  /** Answers a request when no scripted reply is queued (default: an echo of the last user text). */
  readonly responder?: Responder;
  /** Delay before every reply, ms (for tests that need calls in flight). */
  readonly latencyMs?: number;
}

export interface FailOptions {
  readonly count?: number;
  readonly retryAfterSeconds?: number;
  /** Overrides the error type in the body (e.g. "overloaded_error"). */
  readonly type?: string;
}

/** A real HTTP server on loopback that speaks the Messages API for the real SDK. */
export interface FakeClaude {
  readonly url: string;
  /** Every request, faults included, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Queues replies used in order before the responder (a function sees the request body). */
  script(...replies: (FakeReply | string | Responder)[]): void;
  /** The next `count` message requests answer `status` with the API's error body. */
  failNext(status: number, options?: FailOptions): void;
  /** The next `count` requests never answer (or answer after `ms`). */
  stallNext(options?: { count?: number; ms?: number }): void;
  /** The next request's connection is reset without an answer. */
  dropNext(): void;
  /**
   * Holds the next streamed reply open: its start goes out at once, its text when `sendText()`
   * is called, its end when `finish()` is (the text on the wire, the reply not yet complete:
   * what a live view of the reply shows). A non-streamed request is answered as usual (an
   * agent streams only while someone follows the task).
   */
  holdNextStream(): HeldStream;
  /** Holds the next request, streamed or plain (a plain one is answered whole at `finish()`). */
  holdNextCall(): HeldStream;
  setLatency(ms: number): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface HeldStream {
  sendText(): void;
  finish(): void;
  /** Resolves once a request took this hold. */
  readonly started: Promise<void>;
}

type Fault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number; type?: string }
  | { kind: 'stall'; ms?: number }
  | { kind: 'drop' };

export const echoResponder: Responder = (body) => {
  const last = body.messages?.filter((m) => m.role === 'user').at(-1);
  return `fake reply to: ${last === undefined ? '' : textOfContent(last.content)}`;
};

export async function startFakeClaude(options: FakeClaudeOptions = {}): Promise<FakeClaude> {
  const requests: RecordedRequest[] = [];
  const scripted: (FakeReply | string | Responder)[] = [];
  const faults: Fault[] = [];
  const holds: { pacing: StreamPacing; start: () => void; streamedOnly: boolean }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let latencyMs = options.latencyMs ?? 0;
  const responder = options.responder ?? echoResponder;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const answer = (body: MessagesBody, reply: MessagesReply) => {
    const next = scripted.shift() ?? responder;
    const hold =
      holds[0] !== undefined && (body.stream === true || !holds[0].streamedOnly) ? holds.shift() : undefined;
    hold?.start();
    reply.message(asReply(typeof next === 'function' ? next(body) : next), hold?.pacing);
  };

  /** Holds the next request (a streamed one only, or any): its text and its end go out when told. */
  const hold = (streamedOnly: boolean): HeldStream => {
    const gate = () => {
      const opener: { open?: () => void } = {};
      const opened = new Promise<void>((resolve) => {
        opener.open = resolve;
      });
      return { opened, open: () => opener.open?.() };
    };
    const text = gate();
    const end = gate();
    const started = gate();
    holds.push({ pacing: { content: text.opened, end: end.opened }, start: started.open, streamedOnly });
    return {
      sendText: text.open,
      // The end follows the text: finish() alone sends both.
      finish: () => {
        text.open();
        end.open();
      },
      started: started.opened,
    };
  };

  const server = await startMessagesServer({
    onRequest: (request) => requests.push(request),
    answer: (body, reply) => {
      const fault = faults.shift();
      if (fault?.kind === 'drop') return reply.drop();
      if (fault?.kind === 'stall') {
        if (fault.ms === undefined) return; // never answers; the socket is destroyed on close()
        return later(fault.ms, () => answer(body, reply));
      }
      if (fault?.kind === 'status') {
        return reply.error(fault.status, {
          message: `injected ${fault.status}`,
          ...(fault.type === undefined ? {} : { type: fault.type }),
          headers:
            fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) },
        });
      }
      if (latencyMs > 0) later(latencyMs, () => answer(body, reply));
      else answer(body, reply);
    },
  });

  const close = async () => {
    for (const timer of timers) clearTimeout(timer);
    await server.close();
  };
  return {
    url: server.url,
    requests,
    script: (...replies) => scripted.push(...replies),
    failNext: (status, opts = {}) => {
      for (let i = 0; i < (opts.count ?? 1); i++) {
        faults.push({
          kind: 'status',
          status,
          ...(opts.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: opts.retryAfterSeconds }),
          ...(opts.type === undefined ? {} : { type: opts.type }),
        });
      }
    },
    stallNext: (opts = {}) => {
      for (let i = 0; i < (opts.count ?? 1); i++)
        faults.push({ kind: 'stall', ...(opts.ms === undefined ? {} : { ms: opts.ms }) });
    },
    dropNext: () => faults.push({ kind: 'drop' }),
    holdNextStream: () => hold(true),
    holdNextCall: () => hold(false),
    setLatency: (ms) => {
      latencyMs = ms;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
