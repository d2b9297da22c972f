/**
 * Workflow templates: `{{input}}`, `{{steps.<name>.output}}`, and in a map step `{{item}}`
 * and `{{index}}`. Anything else is refused when the config loads, so rendering never meets
 * an unknown placeholder it would have to guess about.
 */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'input'; raw: string }
  | { kind: 'step'; step: string; raw: string }
  | { kind: 'item'; raw: string }
  | { kind: 'index'; raw: string }
  | { kind: 'unknown'; raw: string };

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const STEP_REF = /^steps\.([^.\s]+)\.output$/;

export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > last) parts.push({ kind: 'text', text: template.slice(last, match.index) });
    last = match.index + match[0].length;
    const raw = match[0];
    const name = (match[1] ?? '').trim();
    const step = STEP_REF.exec(name)?.[1];
    if (name === 'input') parts.push({ kind: 'input', raw });
    else if (name === 'item') parts.push({ kind: 'item', raw });
    else if (name === 'index') parts.push({ kind: 'index', raw });
    else if (step !== undefined) parts.push({ kind: 'step', step, raw });
    else parts.push({ kind: 'unknown', raw });
  }
  if (last < template.length) parts.push({ kind: 'text', text: template.slice(last) });
  return parts;
}

export interface TemplateValues {
  readonly input: string;
  /** Outputs of finished steps; a missing one (a failed optional step) renders as "". */
  readonly steps: Readonly<Record<string, string | undefined>>;
  /** The map item: a string as-is, anything else as JSON. */
  readonly item?: unknown;
  readonly index?: number;
}

/** Renders in one pass: text that comes in through a value is never expanded again. */
export function renderTemplate(template: string, values: TemplateValues): string {
  return parseTemplate(template)
    .map((part) => renderPart(part, values))
    .join('');
}

function renderPart(part: TemplatePart, values: TemplateValues): string {
  switch (part.kind) {
    case 'text':
      return part.text;
    case 'input':
      return values.input;
    case 'step':
      return Object.hasOwn(values.steps, part.step) ? (values.steps[part.step] ?? '') : '';
    case 'item':
      return typeof values.item === 'string' ? values.item : (JSON.stringify(values.item) ?? '');
    case 'index':
      return values.index === undefined ? '' : String(values.index);
    case 'unknown':
      return part.raw;
  }
}

/** The steps a template references, each once, in order of appearance. */
export function templateRefs(template: string): string[] {
  const steps: string[] = [];
  for (const part of parseTemplate(template))
    if (part.kind === 'step' && !steps.includes(part.step)) steps.push(part.step);
  return steps;
}

const MAX_ARRAY_TRIES = 1_000;

/**
 * The first JSON array in a model's output: the whole text, a fenced ```json block, or the
 * first `[...]` that parses. Models wrap JSON in prose and fences; the items are what counts.
 */
export function parseArray(text: string): { ok: true; items: unknown[] } | { ok: false; error: string } {
  const whole = tryArray(text.trim());
  if (whole !== undefined) return { ok: true, items: whole };
  for (const fence of text.matchAll(/```[a-zA-Z]*\s*\n([\s\S]*?)```/g)) {
    const items = tryArray((fence[1] ?? '').trim());
    if (items !== undefined) return { ok: true, items };
  }
  let tries = 0;
  for (
    let start = text.indexOf('[');
    start >= 0 && tries < MAX_ARRAY_TRIES;
    start = text.indexOf('[', start + 1)
  ) {
    tries += 1;
    const end = matchingBracket(text, start);
    if (end === undefined) continue;
    const items = tryArray(text.slice(start, end + 1));
    if (items !== undefined) return { ok: true, items };
  }
  const excerpt = text.length > 80 ? `${text.slice(0, 79)}…` : text;
  return {
    ok: false,
    error: `expected a JSON array such as ["a", "b"] in the output, got ${JSON.stringify(excerpt)}`,
  };
}

function tryArray(text: string): unknown[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The index of the `]` closing the `[` at `start`, skipping brackets inside JSON strings. */
function matchingBracket(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[') depth++;
    else if (c === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return undefined;
}
