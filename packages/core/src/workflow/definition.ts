import { z } from 'zod';

/**
 * A workflow's definition as the config gives it (and as `workflow.started` records it): its
 * steps, each with an agent and an input template. The config-wide checks are in validate.ts.
 */

/** Workflow and step names: one token of a task id (`<workflowId>:<step>:<index>:<attempt>`), so no `:`. */
export const WORKFLOW_NAME_PATTERN = /^[a-z0-9-]{1,32}$/;
/** Workflow ids: a prefix of their task ids and a subject token of their result, so no `:` or `.`. */
export const WORKFLOW_ID_PATTERN = /^[A-Za-z0-9_=@+-]{1,64}$/;

export const DEFAULT_STEP_RETRIES = 0;

const NameSchema = (what: string) =>
  z.string().regex(WORKFLOW_NAME_PATTERN, `${what} names use 1-32 lower-case letters, digits and dashes`);

export const WorkflowStepSchema = z.strictObject({
  /** The agent (or pool) that runs this step's task(s). */
  agent: z.string().min(1, 'must name an agent of the config'),
  /** The task input: `{{input}}`, `{{steps.<name>.output}}`, and in a map step `{{item}}`, `{{index}}`. */
  input: z.string().min(1, 'must be a non-empty template, for example "Summarize {{input}}"'),
  /** One task per item of this step's output (a JSON array). */
  map: z.string().optional(),
  /** Steps to wait for besides those the input references. */
  after: z.array(z.string()).optional(),
  /** Extra attempts of a failed or timed-out task. */
  retries: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 or more')
    .max(10, 'must be at most 10')
    .default(DEFAULT_STEP_RETRIES),
  /** A task without a result this long after dispatch is cancelled and counts as failed (`timeout`). */
  timeoutMs: z.number().int('must be a whole number').min(1_000, 'must be at least 1000 (ms)').optional(),
  /** A failed optional step does not fail the workflow; dependents see its output as "". */
  optional: z.boolean().default(false),
});
export type WorkflowStep = z.infer<typeof WorkflowStepSchema>;

export const WorkflowSchema = z.strictObject({
  description: z.string().optional(),
  steps: z
    .record(NameSchema('step'), WorkflowStepSchema)
    .refine((steps) => Object.keys(steps).length > 0, 'must define at least one step'),
  /** The workflow's output; default: the output of the one step nothing depends on (several: a JSON object). */
  output: z.string().optional(),
});
export type WorkflowDef = z.infer<typeof WorkflowSchema>;
export type WorkflowDefInput = z.input<typeof WorkflowSchema>;

export const WorkflowNameSchema = NameSchema('workflow');

/** What a workflow definition lists, for the "unknown field" message of formatIssues. */
export const WORKFLOW_FIELDS = 'description, steps, output';
export const STEP_FIELDS = 'agent, input, map, after, retries, timeoutMs, optional';
