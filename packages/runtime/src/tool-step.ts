import { type Effect, openToolCall } from '@spool/core/internal';
import type { Logger } from 'pino';
import { endToolSpan, startToolSpan } from './call-spans.ts';
import { type AgentContext, observedName } from './context.ts';
import { runMcpTool } from './mcp-runner.ts';
import { runTool } from './tool-runner.ts';

/**
 * A `run-tool` effect: runs a journaled tool call (again, after a crash: same key) and
 * journals its outcome. A tool that needs an operator's approval journals the request and
 * waits; a non-idempotent one is journaled as started before it runs.
 */
export async function toolStep(
  ctx: AgentContext,
  effect: Extract<Effect, { type: 'run-tool' }>,
  log: Logger,
): Promise<void> {
  const { spec, name, term } = ctx;
  const started = performance.now();
  // A defineTool tool, else one from an MCP server (same journaling, safety from its annotations).
  const mcp = spec.tools.some((t) => t.name === effect.name) ? undefined : ctx.mcp.find(effect.name);
  const tool = spec.tools.find((t) => t.name === effect.name) ?? mcp;
  const call = openToolCall(term.state, effect.taskId, effect.step, effect.toolUseId);
  const at = ctx.now();
  const where = { taskId: effect.taskId, step: effect.step, toolUseId: effect.toolUseId };
  if (tool?.requiresApproval === true && call?.approval?.state !== 'approved') {
    const reason = `${tool.name} requires an operator's approval: spool approve ${effect.taskId}, or spool deny ${effect.taskId} --reason "…"`;
    await term.commit({ type: 'RequestApproval', ...where, reason, at });
    log.warn({ tool: tool.name, input: effect.input }, 'tool call waits for approval');
    return;
  }
  // Journaled before it runs, so a crash in the middle is known and never re-run blindly.
  if (tool?.idempotent === false) await term.commit({ type: 'StartTool', ...where, at });
  const signal = ctx.stopSignal(effect.taskId);
  const span = startToolSpan(
    ctx.spans.context(effect.taskId),
    { ...effect, mcp: mcp !== undefined },
    ctx.traceContent,
  );
  const outcome =
    mcp === undefined
      ? await runTool(spec.tools, effect, {
          agent: name,
          taskId: effect.taskId,
          signal,
          ...(ctx.keyed === undefined ? {} : { keyed: ctx.keyed }),
        })
      : await runMcpTool(mcp, effect, signal);
  endToolSpan(span, 'lost' in outcome || signal.aborted ? undefined : outcome, ctx.traceContent);
  if ('lost' in outcome) {
    if (signal.aborted) return;
    // Its server died during a non-idempotent call: it may have taken effect, so ask, do not guess.
    const reason = `${outcome.reason}, so it may have taken effect; approve to run it again, deny to tell the model it failed`;
    await term.commit({ type: 'RequestApproval', ...where, reason, at: ctx.now() });
    log.warn(
      { tool: effect.name, key: effect.key },
      'interrupted non-idempotent MCP call waits for an operator',
    );
    return;
  }
  if (signal.aborted) return; // cancelled or stopping: it runs again (same key) if the task goes on
  await term.commit({
    type: 'RecordToolResult',
    ...where,
    content: outcome.content,
    isError: outcome.isError,
    images: outcome.images,
    at: ctx.now(),
  });
  ctx.observer.toolCalled(observedName(ctx), effect.name, outcome.isError ? 'error' : 'ok');
  const fields = {
    tool: effect.name,
    step: effect.step,
    key: effect.key,
    ms: Math.round(performance.now() - started),
  };
  if (outcome.isError)
    log.warn({ ...fields, err: outcome.content.slice(0, 300) }, 'tool call failed; the model is told');
  else log.info(fields, 'tool result journaled');
}
