import fc from 'fast-check';

/**
 * Arbitraries and independent oracles for the fuzz tests (test/e2e/fuzz.test.ts).
 *
 * The oracles restate the public contract (README: "The public contract") without calling
 * the product's parsers, so a test compares the running agent against the contract, not
 * against itself.
 */

/** A task id as the README defines it: 1-128 letters, digits and `_ : = @ + -`. */
export const TASK_ID = /^[A-Za-z0-9_:=@+-]{1,128}$/;
export const MAX_INPUT = 200_000;

/** What the agent sees of a payload: NATS carries bytes, the agent decodes them as UTF-8. */
export function decoded(payload: string | Uint8Array): string {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return new TextDecoder().decode(bytes);
}

export function sizeOf(payload: string | Uint8Array): number {
  return typeof payload === 'string' ? new TextEncoder().encode(payload).length : payload.length;
}

// ---------------------------------------------------------------------------------------------
// Inbox

export type InboxExpectation =
  | { ok: true; id: string; input: string; meta?: Record<string, unknown> }
  | {
      ok: false;
      /** The id the rejection is published on. */
      id: string;
      code: 'invalid_json' | 'invalid_message' | 'invalid_task_id';
      /** What the error message must say. */
      says: RegExp[];
    };

const SEND_TASK = '; send {"id": "<task id>", "input": "<text>"}';

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The contract's answer to one raw inbox message published at stream sequence `seq`. */
export function expectInbox(text: string, seq: number): InboxExpectation {
  const fallback = `inbox-${seq}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      id: fallback,
      code: 'invalid_json',
      says: [/^message is not JSON \(.+\)/s, new RegExp(`${escapeRe(SEND_TASK)}$`)],
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      id: fallback,
      code: 'invalid_message',
      says: [new RegExp(`^message is ${escapeRe(kindOf(value))}, not an object${escapeRe(SEND_TASK)}$`)],
    };
  }
  const record = value as Record<string, unknown>;
  const { id, input, meta } = record;
  // Ids starting with "inbox-" are reserved for the answers to unreadable messages.
  const reserved = typeof id === 'string' && id.startsWith('inbox-');
  const idUsable = typeof id === 'string' && TASK_ID.test(id) && !reserved;
  const bad: string[] = [];
  if (!idUsable) bad.push('id');
  if (typeof input !== 'string' || input.length === 0 || input.length > MAX_INPUT) bad.push('input');
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta)))
    bad.push('meta');
  if (bad.length === 0) {
    return {
      ok: true,
      id: id as string,
      input: input as string,
      ...(meta === undefined ? {} : { meta: meta as Record<string, unknown> }),
    };
  }
  const says = [/^invalid task message: /, new RegExp(`${escapeRe(SEND_TASK)}$`)];
  for (const field of bad) says.push(new RegExp(`(: |; )${field}: .*\\(got `, 's'));
  if (bad.includes('input') && typeof input === 'string') {
    says.push(input.length === 0 ? /input: must not be empty/ : /input: must be at most 200000 characters/);
    if (input.length > 40) says.push(new RegExp(`\\(got a string of ${input.length} characters\\)`));
  }
  if (bad.includes('id') && typeof id === 'string')
    says.push(TASK_ID.test(id) ? /id: must not start with "inbox-"/ : /id: must be 1-128 characters/);
  if (bad.includes('id') && id === undefined) says.push(/id: .*\(got nothing\)/);
  return {
    ok: false,
    id: idUsable ? (id as string) : fallback,
    code: !idUsable && typeof id === 'string' ? 'invalid_task_id' : 'invalid_message',
    says,
  };
}

/** One generated inbox message, before ids are assigned (see `materialize`). */
export type InboxSpec =
  /** A valid task with a fresh unique id. */
  | { t: 'valid'; input: string; meta?: Record<string, unknown>; idShape: string }
  /** A valid task reusing the id of another valid task of the run (a duplicate submission). */
  | { t: 'duplicate'; ref: number; input: string }
  /** A bad message carrying the (valid) id of another valid task of the run, before or after it. */
  | { t: 'bad-reusing-id'; ref: number; body: Record<string, unknown> }
  /** Anything else: a payload sent as it is. */
  | { t: 'raw'; payload: string | Uint8Array; why: string };

/** Ids that satisfy the contract, biased to its edges (single char, all 128, every allowed symbol). */
const validIdShape = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_:=@+-]{1,40}$/),
  fc.constantFrom('a', '_', '=', '@', '+', ':', '-', '__proto__', 'constructor', 'toString', 'x'.repeat(120)),
);

const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

/** Strings that are not task ids: a forbidden character somewhere, empty, or too long. */
export const badTaskId = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9_-]{0,20}$/),
      fc.constantFrom(
        '.',
        '*',
        '>',
        ' ',
        '\t',
        '\n',
        '/',
        '\\',
        '$',
        '#',
        '%',
        'é',
        '😀',
        '\u0000',
        '\uFFFD',
        '"',
      ),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,20}$/),
    )
    .map(([a, b, c]) => `${a}${b}${c}`),
  fc.constant(''),
  fc.integer({ min: 129, max: 400 }).map((n) => 'y'.repeat(n)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => !TASK_ID.test(s)),
);

/** Inputs the contract accepts: plain, unicode, multi-line, up to the limit (the limit itself rarely). */
const validInput = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 80 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('\n', ' ', '\u0000', '{"id":"nested","input":"json"}', '\uD800') },
);

/**
 * Meta that must come back unchanged. Keys named `__proto__` are left out here; a focused test
 * in fuzz.test.ts covers them ("meta with a __proto__ key").
 */
const metaArb = fc.dictionary(
  fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
  fc.jsonValue({ maxDepth: 3 }),
  { maxKeys: 4, noNullPrototype: true },
);

/** A task-shaped object with at least one field missing or of the wrong type. */
const brokenTaskObject = fc
  .record(
    {
      id: fc.oneof(validIdShape, badTaskId, notAString),
      input: fc.oneof(fc.string({ maxLength: 30 }), fc.constant(''), notAString),
      meta: fc.oneof(metaArb, notAString),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  )
  .filter((o) => expectInbox(JSON.stringify(o), 1).ok === false);

/** Bodies for a bad message that reuses a valid id: the id is set later, the rest is broken. */
const brokenBody = fc.oneof(
  fc.record({ input: fc.oneof(fc.constant(''), notAString) }),
  fc.record({
    input: fc.string({ minLength: 1, maxLength: 20 }),
    meta: notAString.filter((m) => !isPlainObject(m)),
  }),
  fc.constant({}),
);

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hugeInput(min: number, max: number) {
  return fc
    .tuple(fc.integer({ min, max }), fc.constantFrom('z', 'é', '中', '\n'))
    .map(([n, c]) => c.repeat(n));
}

export const inboxSpec: fc.Arbitrary<InboxSpec> = fc.oneof(
  // Valid tasks, interleaved with everything else.
  {
    weight: 14,
    arbitrary: fc.record(
      { t: fc.constant('valid' as const), input: validInput, meta: metaArb, idShape: validIdShape },
      { requiredKeys: ['t', 'input', 'idShape'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('duplicate' as const), ref: fc.nat(), input: validInput }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('bad-reusing-id' as const), ref: fc.nat(), body: brokenBody }),
  },
  // Arbitrary text, including lone surrogates (they reach the agent as U+FFFD).
  { weight: 8, arbitrary: raw(fc.string({ unit: 'binary', maxLength: 120 }), 'string') },
  { weight: 2, arbitrary: raw(fc.string({ unit: 'grapheme', maxLength: 60 }), 'unicode string') },
  // Arbitrary JSON documents of every kind.
  { weight: 8, arbitrary: raw(fc.json({ maxDepth: 4 }), 'json') },
  // Raw bytes, valid UTF-8 or not.
  { weight: 3, arbitrary: raw(fc.uint8Array({ maxLength: 64 }), 'bytes') },
  // Objects with missing or wrong-typed fields, and ids with bad characters or too long.
  {
    weight: 10,
    arbitrary: raw(
      brokenTaskObject.map((o) => JSON.stringify(o)),
      'broken task object',
    ),
  },
  {
    weight: 4,
    arbitrary: raw(
      fc
        .tuple(badTaskId, fc.string({ minLength: 1, maxLength: 20 }))
        .map(([id, input]) => JSON.stringify({ id, input })),
      'bad task id',
    ),
  },
  {
    weight: 2,
    arbitrary: raw(
      fc.tuple(fc.oneof(validIdShape, badTaskId)).map(([id]) => JSON.stringify({ id, input: '' })),
      'empty input',
    ),
  },
  // Truncated or decorated valid tasks.
  {
    weight: 2,
    arbitrary: raw(
      fc
        .tuple(validIdShape, fc.string({ minLength: 1, maxLength: 20 }), fc.nat({ max: 60 }))
        .map(([id, input, cut]) => JSON.stringify({ id, input }).slice(0, cut)),
      'truncated task',
    ),
  },
);

/**
 * Big messages, a few per property (each is 200-700 KB on the wire): an input over the limit,
 * or a valid task of exactly the limit (its echo is as long).
 */
export const hugeSpec: fc.Arbitrary<InboxSpec> = fc.oneof(
  {
    weight: 2,
    arbitrary: raw(
      fc
        .tuple(fc.oneof(validIdShape, badTaskId), hugeInput(MAX_INPUT + 1, MAX_INPUT + 30_000))
        .map(([id, input]) => JSON.stringify({ id, input })),
      'huge input',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('valid' as const),
      input: fc.constant('m'.repeat(MAX_INPUT)),
      idShape: fc.constant('max'),
    }),
  },
);

/** A run's messages: mostly `inboxSpec`, with at most one big message at a random place. */
export function inboxRun(minLength: number, maxLength: number): fc.Arbitrary<InboxSpec[]> {
  return fc
    .tuple(fc.array(inboxSpec, { minLength, maxLength }), fc.option(hugeSpec, { freq: 2 }), fc.nat())
    .map(([specs, huge, at]) => (huge === null ? specs : specs.toSpliced(at % (specs.length + 1), 0, huge)));
}

function raw(arb: fc.Arbitrary<string | Uint8Array>, why: string): fc.Arbitrary<InboxSpec> {
  return arb.map((payload) => ({ t: 'raw' as const, payload, why }));
}

/** Assigns ids: each valid task a unique one; duplicates and bad reuses point at those. */
export function materialize(specs: readonly InboxSpec[]): { payload: string | Uint8Array; why: string }[] {
  const validIds: string[] = [];
  for (const [i, spec] of specs.entries()) {
    // Prefixed and numbered: unique, and never `inbox-<n>` (reserved; see the fallback-id test).
    if (spec.t === 'valid') validIds.push(`v${i}${spec.idShape}`.slice(0, 128));
  }
  let nextValid = 0;
  return specs.map((spec) => {
    switch (spec.t) {
      case 'valid': {
        const id = validIds[nextValid++] as string;
        const task = { id, input: spec.input, ...(spec.meta === undefined ? {} : { meta: spec.meta }) };
        return { payload: JSON.stringify(task), why: 'valid task' };
      }
      case 'duplicate': {
        const id = validIds.length === 0 ? 'no-valid-task' : (validIds[spec.ref % validIds.length] as string);
        return { payload: JSON.stringify({ id, input: spec.input }), why: 'duplicate of a valid id' };
      }
      case 'bad-reusing-id': {
        const id = validIds.length === 0 ? 'no-valid-task' : (validIds[spec.ref % validIds.length] as string);
        return { payload: JSON.stringify({ ...spec.body, id }), why: 'bad message reusing a valid id' };
      }
      default:
        return { payload: spec.payload, why: spec.why };
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Control

/** The advice that ends every refusal (its list of commands grows as commands are added). */
const SEND_CONTROL = '; send \\{"type": "pause"\\}, \\{"type": "resume"\\}.* "taskId": "<id>"\\}';

export type ControlExpectation =
  | { ok: true; type: 'pause'; reason?: string }
  | { ok: true; type: 'resume' }
  | { ok: true; type: 'cancel'; taskId: string; reason?: string }
  | { ok: false; says: RegExp };

/** The contract's verdict on one raw control message, and the refusal line it must produce. */
export function expectControl(text: string): ControlExpectation {
  const refused = (problem: string): ControlExpectation => ({
    ok: false,
    says: new RegExp(`^control message refused: ${problem}${SEND_CONTROL}$`, 's'),
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refused('control message is not JSON');
  }
  // Names at least the three commands of the contract (later ones may be listed too).
  const typeProblem = 'type must be "pause", "resume"[^;]*"cancel"[^;]*';
  if (!isPlainObject(value)) return refused(`invalid control message: message: ${typeProblem}`);
  const o = value as Record<string, unknown>;
  if (o.type !== 'pause' && o.type !== 'resume' && o.type !== 'cancel')
    return refused(`invalid control message: type: ${typeProblem}`);
  const fields = o.type === 'pause' ? ['reason'] : o.type === 'resume' ? [] : ['taskId', 'reason'];
  for (const field of fields) {
    const v = o[field];
    if (field === 'taskId' && !(typeof v === 'string' && TASK_ID.test(v)))
      return refused(
        typeof v === 'string'
          ? 'invalid control message: taskId: must be a task id \\(1-128 letters, digits and _ : = @ \\+ -\\)'
          : 'invalid control message: taskId: Invalid input: expected string, received \\w+',
      );
    if (field === 'reason' && v !== undefined && !(typeof v === 'string' && v.length <= 1_000))
      return refused(
        typeof v === 'string'
          ? 'invalid control message: reason: must be at most 1000 characters'
          : 'invalid control message: reason: Invalid input: expected string, received \\w+',
      );
  }
  const extra = Object.keys(o).filter((k) => k !== 'type' && !fields.includes(k));
  if (extra.length > 0)
    return refused(`invalid control message: message: unknown field\\(s\\) ${escapeRe(extra.join(', '))}`);
  if (o.type === 'cancel')
    return {
      ok: true,
      type: 'cancel',
      taskId: o.taskId as string,
      ...(o.reason === undefined ? {} : { reason: o.reason as string }),
    };
  if (o.type === 'resume') return { ok: true, type: 'resume' };
  return { ok: true, type: 'pause', ...(o.reason === undefined ? {} : { reason: o.reason as string }) };
}

/** One step of a control run: a task on the inbox, or a message on the control subject. */
export type ControlStep =
  | { t: 'task'; input: string }
  | { t: 'pause'; reason?: string }
  | { t: 'resume' }
  /** `ref` picks a task of the run; `unknown` cancels an id that never arrives. */
  | { t: 'cancel'; ref: number; unknown: boolean; reason?: string }
  | { t: 'bad'; payload: string | Uint8Array; why: string };

const reasonArb = fc.string({ unit: 'grapheme', maxLength: 40 });

const badControl: fc.Arbitrary<{ payload: string | Uint8Array; why: string }> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }).map((payload) => ({ payload, why: 'string' })),
  fc.json({ maxDepth: 3 }).map((payload) => ({ payload, why: 'json' })),
  fc.uint8Array({ maxLength: 40 }).map((payload) => ({ payload, why: 'bytes' })),
  fc
    .oneof(
      fc.string({ maxLength: 12 }),
      notAString,
      fc.constantFrom('Pause', 'PAUSE', 'stop', 'pause ', 'cancel\u0000', ''),
    )
    .map((type) => ({ payload: JSON.stringify({ type }), why: 'wrong type' })),
  fc.constant({ payload: '{}', why: 'no type' }),
  fc
    .record({ reason: fc.option(reasonArb, { nil: undefined }) }, { requiredKeys: [] })
    .map((o) => ({ payload: JSON.stringify({ type: 'cancel', ...o }), why: 'cancel without taskId' })),
  fc
    .tuple(fc.oneof(badTaskId, notAString))
    .map(([taskId]) => ({ payload: JSON.stringify({ type: 'cancel', taskId }), why: 'bad task id' })),
  fc
    .tuple(
      fc.constantFrom('pause', 'resume', 'cancel'),
      fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !['type', 'reason', 'taskId'].includes(k)),
      fc.jsonValue({ maxDepth: 1 }),
    )
    .map(([type, key, v]) => ({
      payload: JSON.stringify({ type, ...(type === 'cancel' ? { taskId: 'some-task' } : {}), [key]: v }),
      why: 'extra field',
    })),
  fc.constant({ payload: '{"type":"resume","reason":"because"}', why: 'resume with a reason' }),
  fc
    .tuple(fc.constantFrom('pause', 'cancel'), fc.oneof(notAString, fc.constant('r'.repeat(1_001))))
    .map(([type, reason]) => ({
      payload: JSON.stringify({ type, ...(type === 'cancel' ? { taskId: 'some-task' } : {}), reason }),
      why: 'bad reason',
    })),
);

export const controlStep: fc.Arbitrary<ControlStep> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('task' as const), input: validInput }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('pause' as const), reason: reasonArb }, { requiredKeys: ['t'] }),
  },
  { weight: 2, arbitrary: fc.constant({ t: 'resume' as const }) },
  {
    weight: 1,
    arbitrary: fc.record(
      { t: fc.constant('cancel' as const), ref: fc.nat(), unknown: fc.boolean(), reason: reasonArb },
      { requiredKeys: ['t', 'ref', 'unknown'] },
    ),
  },
  { weight: 12, arbitrary: badControl.map((b) => ({ t: 'bad' as const, ...b })) },
);
