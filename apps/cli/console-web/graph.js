// A workflow's steps as a graph: a column per depth (a step stands right of the steps it waits
// for), boxes coloured by status, an arrow per dependency. Plain SVG, no layout library.
import htm from 'htm';
import { h } from 'preact';

const html = htm.bind(h);
const COLOURS = { pending: '#8a94a6', running: '#2f5bd3', completed: '#1f8a4c', failed: '#c23b33' };
const W = 190;
const H = 46;
const GAP_X = 60;
const GAP_Y = 18;

export function WorkflowGraph({ steps }) {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const depth = new Map();
  const depthOf = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0; // a cycle cannot load, but never loop on one
    seen.add(name);
    const deps = byName.get(name)?.dependsOn ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((n) => depthOf(n, seen)));
    depth.set(name, d);
    return d;
  };
  const columns = [];
  for (const s of steps) {
    const d = depthOf(s.name);
    if (columns[d] === undefined) columns[d] = [];
    columns[d].push(s);
  }
  const at = new Map();
  for (const [x, column] of columns.entries())
    for (const [y, s] of (column ?? []).entries())
      at.set(s.name, { x: 10 + x * (W + GAP_X), y: 10 + y * (H + GAP_Y) });
  const width = 20 + columns.length * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
  return html`<svg role="img" aria-label="workflow graph" width=${width} height=${height} viewBox="0 0 ${width} ${height}">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a94a6" /></marker></defs>
    ${steps.flatMap((s) =>
      (s.dependsOn ?? [])
        .filter((d) => at.has(d))
        .map((d) => {
          const from = at.get(d);
          const to = at.get(s.name);
          return html`<line x1=${from.x + W} y1=${from.y + H / 2} x2=${to.x} y2=${to.y + H / 2} stroke="#8a94a6" marker-end="url(#arrow)" />`;
        }),
    )}
    ${steps.map((s) => {
      const { x, y } = at.get(s.name);
      const done = s.tasks.filter((t) => t.status === 'completed').length;
      return html`<g data-step=${s.name} data-status=${s.status}>
        <rect x=${x} y=${y} width=${W} height=${H} rx="6" fill=${COLOURS[s.status] ?? '#8a94a6'} />
        <text x=${x + 10} y=${y + 19} fill="#fff" font-weight="600">${s.name}${s.optional ? ' (optional)' : ''}</text>
        <text x=${x + 10} y=${y + 36} fill="#fff">${s.agent} · ${s.status} · ${done}/${s.tasks.length}</text>
      </g>`;
    })}
  </svg>`;
}
