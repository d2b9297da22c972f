import {
  keyedApprovals,
  keyedCensus,
  keyedInstances,
  poolReplicas,
  type SpoolConnection,
  taskOwner,
} from '@spool/jetstream';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { askWorkflows, fetchDeadLetters, fetchStatus } from '../operator/coordinator-api.ts';
import { keyedDeadLetters, mergeDeadLetters } from '../operator/keyed-dead-letters.ts';
import { actorsOf } from '../operator/task-owner.ts';
import { performAction } from './actions.ts';
import { ApiError } from './api-error.ts';
import {
  ActionSchema,
  AgentNameSchema,
  firstIssue,
  KeySchema,
  TaskIdSchema,
  TaskListQuerySchema,
  WorkflowIdSchema,
} from './schemas.ts';
import type { TaskHistories } from './task-history.ts';
import { historyName, type TaskIndex } from './task-index.ts';

/** What a route gets: the path's parts after /api/, the query, a parsed JSON body for POSTs. */
export interface RouteInput {
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
  readonly body: unknown;
}

export interface RouteContext {
  readonly connection: SpoolConnection;
  readonly tasks: TaskIndex;
  readonly histories: TaskHistories;
  readonly logger: Logger;
}

/**
 * A pool's task, asked for by the pool's name (a workflow step's or a submit's): its history is
 * the replica's that claimed it, answered under that replica's name.
 */
async function ofPoolReplica(
  connection: SpoolConnection,
  context: RouteContext,
  pool: string,
  taskId: string,
) {
  if ((await poolReplicas(connection, pool)).length === 0) return undefined;
  const owner = await taskOwner(connection, pool, taskId);
  return owner === pool ? undefined : context.histories.read(owner, taskId);
}

function parsed<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError(400, 'invalid_request', firstIssue(result.error, what));
  return result.data;
}

/**
 * The console's JSON API: each GET reads what the CLI reads (the coordinator's APIs, the
 * histories), each POST /api/actions acts as the CLI acts (control messages).
 */
export async function route(
  method: string,
  input: RouteInput,
  context: RouteContext,
): Promise<unknown | undefined> {
  const { connection } = context;
  const [head, ...rest] = input.parts;
  if (method === 'POST') {
    if (head === 'actions' && rest.length === 0)
      return performAction(connection, parsed(ActionSchema, input.body, 'action'), context.logger);
    return undefined;
  }
  switch (head) {
    case 'status':
      return fetchStatus(connection);
    case 'dlq': {
      // The coordinator folds agents' dead letters; keyed instances' are read here (as spool dlq).
      const [report, keyed] = await Promise.all([
        fetchDeadLetters(connection),
        keyedDeadLetters(connection, context.logger),
      ]);
      return { ...report, entries: mergeDeadLetters(report.entries, keyed) };
    }
    case 'keyed': {
      // A keyed agent's census and its known instances (no history read: see keyed-census.ts).
      if (rest.length !== 1) return undefined;
      const agent = parsed(AgentNameSchema, rest[0], 'agent');
      const [census, listed] = await Promise.all([
        keyedCensus(connection, agent),
        keyedInstances(connection, agent),
      ]);
      return { agent, hosts: census.hosts, counts: census.instances, ...listed };
    }
    case 'approvals': {
      const report = await fetchStatus(connection);
      // A keyed agent's instances are counted in the report, not folded: their wake records list
      // what their passivated tasks wait for.
      const keyed = await Promise.all(
        (report.keyed ?? []).map(async (k) =>
          (await keyedApprovals(connection, k.name)).map((w) => ({ agent: k.name, ...w })),
        ),
      );
      return {
        approvals: [
          ...actorsOf(report).flatMap((a) => a.approvals.map((w) => ({ agent: a.name, ...w }))),
          ...keyed.flat(),
        ],
      };
    }
    case 'tasks': {
      if (rest.length === 0)
        return context.tasks.list(parsed(TaskListQuerySchema, Object.fromEntries(input.query), 'query'));
      // `<agent>/<taskId>`, or `<agent>/<key>/<taskId>` for a keyed agent's instance.
      if (rest.length !== 2 && rest.length !== 3) return undefined;
      const agent = parsed(AgentNameSchema, rest[0], 'agent');
      const key = rest.length === 3 ? parsed(KeySchema, rest[1], 'key') : undefined;
      const taskId = parsed(TaskIdSchema, rest.at(-1), 'task id');
      const history =
        (await context.histories.read(historyName(agent, key), taskId)) ??
        (key === undefined ? await ofPoolReplica(connection, context, agent, taskId) : undefined);
      if (history === undefined)
        throw new ApiError(
          404,
          'unknown_task',
          key === undefined
            ? `no task "${taskId}" in the history of agent "${agent}": check the id, or find the task in the task list`
            : `no task "${taskId}" in the history of instance "${agent}/${key}": check the id and the key, or find the task in the instance's task list`,
        );
      return history;
    }
    case 'workflows': {
      if (rest.length > 1) return undefined;
      const id = rest[0] === undefined ? undefined : parsed(WorkflowIdSchema, rest[0], 'workflow id');
      const answer = await askWorkflows(connection, id, 3_000);
      if ('error' in answer) throw new ApiError(400, answer.error.code, answer.error.message);
      if ('workflow' in answer && answer.workflow === null)
        throw new ApiError(404, 'unknown_workflow', `no workflow "${id}" is known to the coordinator`);
      return answer;
    }
    default:
      return undefined;
  }
}
