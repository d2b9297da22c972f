import type { z } from 'zod';
import type { WorkflowDef } from './definition.ts';
import { findCycle } from './graph.ts';
import { parseTemplate, templateRefs } from './template.ts';

/**
 * Config-wide checks of the workflows (ConfigSchema's superRefine): step agents exist,
 * templates name existing steps and variables, dependencies exist and have no cycle. Each
 * problem is one issue whose path points at the field to fix.
 */
export function validateWorkflows(
  config: {
    readonly agents: Readonly<Record<string, unknown>>;
    readonly workflows: Readonly<Record<string, WorkflowDef>>;
  },
  ctx: z.RefinementCtx,
): void {
  const agents = Object.keys(config.agents);
  for (const [name, def] of Object.entries(config.workflows)) {
    const at = (...path: (string | number)[]) => ['workflows', name, ...path];
    const steps = Object.keys(def.steps);
    const stepList = steps.join(', ');
    let broken = false;
    const issue = (path: (string | number)[], message: string) => {
      broken = true;
      ctx.addIssue({ code: 'custom', path, message });
    };
    for (const [stepName, step] of Object.entries(def.steps)) {
      if (!agents.includes(step.agent))
        issue(at('steps', stepName, 'agent'), `unknown agent "${step.agent}"; agents: ${agents.join(', ')}`);
      if (step.map !== undefined && !steps.includes(step.map))
        issue(at('steps', stepName, 'map'), `unknown step "${step.map}" to map over; steps: ${stepList}`);
      if (step.map === stepName)
        issue(at('steps', stepName, 'map'), `step "${stepName}" cannot map over its own output`);
      for (const [i, other] of (step.after ?? []).entries()) {
        if (!steps.includes(other))
          issue(at('steps', stepName, 'after', i), `unknown step "${other}"; steps: ${stepList}`);
        else if (other === stepName)
          issue(at('steps', stepName, 'after', i), `step "${stepName}" cannot wait for itself`);
      }
      checkTemplate(
        step.input,
        at('steps', stepName, 'input'),
        steps,
        stepName,
        step.map !== undefined,
        issue,
      );
    }
    if (def.output !== undefined) checkTemplate(def.output, at('output'), steps, undefined, false, issue);
    // A cycle is only meaningful once every name resolves.
    if (broken) continue;
    const cycle = findCycle(def);
    if (cycle !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: at('steps', ...edgeField(def, cycle[0] as string, cycle[1] as string)),
        message: `cycle: ${cycle.join(' → ')}; a step cannot wait, directly or not, for itself`,
      });
    }
  }
}

function checkTemplate(
  template: string,
  path: (string | number)[],
  steps: readonly string[],
  self: string | undefined,
  inMap: boolean,
  issue: (path: (string | number)[], message: string) => void,
): void {
  for (const part of parseTemplate(template)) {
    if (part.kind === 'text' || part.kind === 'input') continue;
    if (part.kind === 'step') {
      if (!steps.includes(part.step)) issue(path, `unknown step in ${part.raw}; steps: ${steps.join(', ')}`);
      else if (part.step === self) issue(path, `${part.raw}: a step cannot use its own output`);
    } else if (part.kind === 'item' || part.kind === 'index') {
      if (!inMap)
        issue(
          path,
          `${part.raw} is only defined in a map step (add "map": "<step>" to run one task per item of that step's output)`,
        );
    } else {
      issue(
        path,
        `unknown template ${part.raw}: use {{input}}, {{steps.<step>.output}}${inMap ? ', {{item}} or {{index}}' : ''}`,
      );
    }
  }
}

/** The field of `to` that makes it wait for `from`: where a cycle is fixed. */
function edgeField(def: WorkflowDef, from: string, to: string): (string | number)[] {
  const step = def.steps[to];
  if (step === undefined) return [to];
  if (templateRefs(step.input).includes(from)) return [to, 'input'];
  if (step.map === from) return [to, 'map'];
  const i = (step.after ?? []).indexOf(from);
  return i >= 0 ? [to, 'after', i] : [to];
}
