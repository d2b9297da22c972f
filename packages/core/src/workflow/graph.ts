import type { WorkflowDef } from './definition.ts';
import { templateRefs } from './template.ts';

/** A workflow's steps as a graph: what each waits for, in what order they can run, which end it. */

/** The steps `step` waits for: those its input references, the one it maps over, and its `after`. */
export function dependencies(def: WorkflowDef, step: string): string[] {
  const spec = def.steps[step];
  if (spec === undefined) return [];
  const deps = templateRefs(spec.input);
  for (const other of [...(spec.map === undefined ? [] : [spec.map]), ...(spec.after ?? [])])
    if (!deps.includes(other)) deps.push(other);
  return deps;
}

/**
 * A dependency cycle as a path that ends where it starts (`["a", "b", "a"]`), or undefined.
 * Steps are visited in definition order, so the same definition always names the same cycle.
 */
export function findCycle(def: WorkflowDef): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (step: string): string[] | undefined => {
    const seen = state.get(step);
    if (seen === 'done') return undefined;
    if (seen === 'visiting') return [...path.slice(path.indexOf(step)), step];
    state.set(step, 'visiting');
    path.push(step);
    for (const dep of dependencies(def, step)) {
      if (def.steps[dep] === undefined) continue;
      const cycle = visit(dep);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(step, 'done');
    return undefined;
  };
  for (const step of Object.keys(def.steps)) {
    const cycle = visit(step);
    // Reported in the direction of waiting reversed: "a → b" reads "a feeds b".
    if (cycle !== undefined) return cycle.reverse();
  }
  return undefined;
}

/** Steps ordered so that each comes after every step it waits for (definition order among equals). */
export function topologicalOrder(def: WorkflowDef): string[] {
  const names = Object.keys(def.steps);
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < names.length) {
    const ready = names.find(
      (name) =>
        !placed.has(name) && dependencies(def, name).every((dep) => placed.has(dep) || !(dep in def.steps)),
    );
    // A cycle (refused at config load): the rest keep definition order.
    if (ready === undefined) {
      for (const name of names) if (!placed.has(name)) order.push(name);
      break;
    }
    order.push(ready);
    placed.add(ready);
  }
  return order;
}

/** Steps no other step waits for: together they make the default workflow output. */
export function finalSteps(def: WorkflowDef): string[] {
  const needed = new Set(Object.keys(def.steps).flatMap((name) => dependencies(def, name)));
  return Object.keys(def.steps).filter((name) => !needed.has(name));
}
