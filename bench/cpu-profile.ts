/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the time went: self time per
 * function, and grouped by where the code lives (Spool's packages, nats, the Anthropic SDK and
 * undici/web streams, Node's internals, garbage collection).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Share of all samples (idle included) per group, largest first. */
  readonly groups: { group: string; ms: number; share: number }[];
  /** The functions with the most self time (idle left out). */
  readonly top: { fn: string; group: string; ms: number; share: number }[];
}

/** Where a frame's code lives. */
export function groupOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'program (V8, native)';
  const spool = /\/packages\/([^/]+)\/src\//.exec(url);
  if (spool !== null && !url.includes('node_modules')) return `spool ${spool[1]}`;
  if (url.includes('@nats-io')) return 'nats';
  if (url.includes('@anthropic-ai')) return 'SDK (@anthropic-ai/sdk)';
  if (url.includes('undici') || url.includes('internal/webstreams') || url.includes('internal/deps/undici'))
    return 'undici / web streams';
  if (url.includes('/zod/')) return 'zod';
  if (url.includes('pino')) return 'pino';
  if (url.startsWith('node:') || url === '') return 'node internals';
  if (url.includes('node_modules')) return 'other dependencies';
  return 'other';
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let totalUs = 0;
  const groups = new Map<string, number>();
  const fns = new Map<string, { group: string; us: number }>();
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const group = groupOf(frame.url, frame.functionName);
    totalUs += us;
    groups.set(group, (groups.get(group) ?? 0) + us);
    if (group === 'idle') continue;
    const where = frame.url
      .replace(/^.*\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')
      .replace(/^.*\/packages\//, '');
    const fn = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
    const entry = fns.get(fn) ?? { group, us: 0 };
    entry.us += us;
    fns.set(fn, entry);
  }
  const share = (us: number) => us / totalUs;
  return {
    totalMs: totalUs / 1000,
    groups: [...groups]
      .map(([group, us]) => ({ group, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms),
    top: [...fns]
      .map(([fn, { group, us }]) => ({ fn, group, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topN),
  };
}

/** The summary as lines for the terminal. */
export function formatProfile(summary: ProfileSummary): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  return [
    `agent CPU profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled; self time by where the code lives:`,
    ...summary.groups.map((g) => `  ${pct(g.share)}  ${g.group}`),
    'top functions by self time:',
    ...summary.top.map((f) => `  ${pct(f.share)}  ${f.fn} [${f.group}]`),
  ];
}
