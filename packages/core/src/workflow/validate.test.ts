import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.ts';
import type { WorkflowDef } from './definition.ts';
import { dependencies, finalSteps, findCycle, topologicalOrder } from './graph.ts';
import { parseArray, renderTemplate, templateRefs } from './template.ts';

const agent = { instructions: 'You help.', model: 'claude-sonnet-4-6' };
const agents = { researcher: agent, writer: agent };

/** The one-line config error for these workflows (agents researcher and writer exist). */
function errorOf(workflows: unknown): string {
  try {
    parseConfig({ agents, workflows }, 'spool.config.json');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the config was accepted');
}

const research = {
  steps: {
    plan: { agent: 'researcher', input: 'List subtopics of {{input}}' },
    dig: { agent: 'researcher', map: 'plan', input: 'Research {{item}} ({{index}})' },
    draft: { agent: 'writer', input: 'Write from {{steps.dig.output}}' },
  },
};

describe('config - workflows', () => {
  it('accepts a workflow and fills the step defaults', () => {
    const config = parseConfig({ agents, workflows: { research } });
    expect(config.workflows.research?.steps.dig).toEqual({
      agent: 'researcher',
      map: 'plan',
      input: 'Research {{item}} ({{index}})',
      retries: 0,
      optional: false,
    });
  });

  it('defaults to no workflows', () => {
    expect(parseConfig({ agents }).workflows).toEqual({});
  });

  it('names an unknown agent and lists the agents', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'ghost', input: 'x' } } } })).toBe(
      'spool.config.json: workflows.w.steps.a.agent: unknown agent "ghost"; agents: researcher, writer (got "ghost")',
    );
  });

  it('refuses a template naming an unknown step', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x {{steps.nope.output}}' } } } })).toContain(
      'workflows.w.steps.a.input: unknown step in {{steps.nope.output}}; steps: a',
    );
  });

  it('refuses an unknown template variable, with the ones that exist', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x {{stpes.a.output}}' } } } })).toContain(
      'workflows.w.steps.a.input: unknown template {{stpes.a.output}}: use {{input}}, {{steps.<step>.output}}',
    );
  });

  it('refuses {{item}} and {{index}} outside a map step', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x {{item}}' } } } })).toContain(
      'workflows.w.steps.a.input: {{item}} is only defined in a map step',
    );
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x' } }, output: '{{index}}' } })).toContain(
      'workflows.w.output: {{index}} is only defined in a map step',
    );
  });

  it('refuses a map over an unknown step', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: '{{item}}', map: 'b' } } } })).toContain(
      'workflows.w.steps.a.map: unknown step "b" to map over; steps: a',
    );
  });

  it('refuses `after` naming an unknown step', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x', after: ['zzz'] } } } })).toContain(
      'workflows.w.steps.a.after.0: unknown step "zzz"; steps: a',
    );
  });

  it('refuses a step that depends on itself', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x {{steps.a.output}}' } } } })).toContain(
      'workflows.w.steps.a.input: {{steps.a.output}}: a step cannot use its own output',
    );
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x', after: ['a'] } } } })).toContain(
      'workflows.w.steps.a.after.0: step "a" cannot wait for itself',
    );
  });

  it('names a cycle, at the field that closes it', () => {
    const message = errorOf({
      w: {
        steps: {
          a: { agent: 'writer', input: 'x {{steps.b.output}}' },
          b: { agent: 'writer', input: 'y', after: ['a'] },
        },
      },
    });
    expect(message).toMatch(
      /^spool\.config\.json: workflows\.w\.steps\.(a\.input|b\.after\.0): cycle: (a → b → a|b → a → b)/,
    );
  });

  it('lists the step fields for an unknown field in a step', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x', retry: 2 } } } })).toBe(
      'spool.config.json: workflows.w.steps.a: unknown field "retry": remove it (step fields are agent, input, map, after, retries, timeoutMs, optional)',
    );
  });

  it('lists the workflow fields for an unknown field in a workflow', () => {
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x' } }, outptu: 'y' } })).toBe(
      'spool.config.json: workflows.w: unknown field "outptu": remove it (workflow fields are description, steps, output)',
    );
  });

  it('refuses bad names, retries and timeouts with the rule', () => {
    expect(errorOf({ 'W:1': { steps: { a: { agent: 'writer', input: 'x' } } } })).toContain(
      'invalid workflow name: workflow names use 1-32 lower-case letters, digits and dashes',
    );
    expect(errorOf({ w: { steps: { 'a:b': { agent: 'writer', input: 'x' } } } })).toContain(
      'invalid step name: step names use 1-32 lower-case letters, digits and dashes',
    );
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x', retries: 11 } } } })).toBe(
      'spool.config.json: workflows.w.steps.a.retries: must be at most 10 (got 11)',
    );
    expect(errorOf({ w: { steps: { a: { agent: 'writer', input: 'x', timeoutMs: 10 } } } })).toBe(
      'spool.config.json: workflows.w.steps.a.timeoutMs: must be at least 1000 (ms) (got 10)',
    );
    expect(errorOf({ w: { steps: {} } })).toContain('workflows.w.steps: must define at least one step');
  });
});

describe('templates', () => {
  const values = { input: 'cats', steps: { plan: '["a"]', review: undefined } };

  it('renders input, step outputs, items and indexes in one pass', () => {
    expect(
      renderTemplate('{{input}} / {{ steps.plan.output }} / {{item}} #{{index}}', {
        ...values,
        item: '{{input}}',
        index: 2,
      }),
    ).toBe('cats / ["a"] / {{input}} #2');
  });

  it('renders a non-string item as JSON and a missing step output as ""', () => {
    expect(renderTemplate('{{item}}|{{steps.review.output}}|', { ...values, item: { a: 1 } })).toBe(
      '{"a":1}||',
    );
  });

  it('lists referenced steps once, and dependencies add map and after', () => {
    expect(templateRefs('{{steps.a.output}} {{steps.b.output}} {{steps.a.output}} {{input}}')).toEqual([
      'a',
      'b',
    ]);
    const def = parseConfig({ agents, workflows: { research } }).workflows.research as WorkflowDef;
    expect(dependencies(def, 'dig')).toEqual(['plan']);
    expect(dependencies(def, 'draft')).toEqual(['dig']);
    expect(topologicalOrder(def)).toEqual(['plan', 'dig', 'draft']);
    expect(finalSteps(def)).toEqual(['draft']);
    expect(findCycle(def)).toBeUndefined();
  });

  it('orders steps after what they wait for, whatever the definition order', () => {
    const def: WorkflowDef = {
      steps: {
        c: { agent: 'w', input: '{{steps.b.output}}', retries: 0, optional: false },
        b: { agent: 'w', input: 'x', after: ['a'], retries: 0, optional: false },
        a: { agent: 'w', input: 'x', retries: 0, optional: false },
      },
    };
    expect(topologicalOrder(def)).toEqual(['a', 'b', 'c']);
  });
});

describe('parseArray', () => {
  it('reads a bare array, a fenced block, and an array inside prose', () => {
    expect(parseArray(' ["a", "b"] ')).toEqual({ ok: true, items: ['a', 'b'] });
    expect(parseArray('Here you go:\n```json\n[1, {"x": "]"}]\n```\nDone.')).toEqual({
      ok: true,
      items: [1, { x: ']' }],
    });
    expect(parseArray('Subtopics [see below]: ["x", "y"] and more')).toEqual({ ok: true, items: ['x', 'y'] });
    expect(parseArray('[]')).toEqual({ ok: true, items: [] });
  });

  it('says what it expected when there is no array', () => {
    const parsed = parseArray('I could not find any subtopics.');
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.error).toBe(
      'expected a JSON array such as ["a", "b"] in the output, got "I could not find any subtopics."',
    );
    expect(parseArray('{"items": 1}').ok).toBe(false);
  });
});
