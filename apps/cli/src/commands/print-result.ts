import type { TaskResult } from '@spool/core';

/** A result for people (status line, then the output) or as one JSON line. */
export function printResult(result: TaskResult, json: boolean, outputShown = false): void {
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  const u = result.usage;
  const tokens = `${u.inputTokens} in / ${u.outputTokens} out, cache read ${u.cacheReadInputTokens}`;
  const cost = result.costUsd === undefined ? '' : `, $${result.costUsd.toFixed(4)}`;
  const tools = result.tools === undefined ? '' : `, tools: ${result.tools.join(', ')}`;
  console.log(
    `${result.taskId} ${result.status} (${result.agent}, ${result.steps} model call(s)${tools}, ${tokens}${cost})`,
  );
  // With --follow the output has already streamed by.
  if (result.output !== undefined && !outputShown) console.log(result.output);
  if (result.error !== undefined) console.log(`error ${result.error.code}: ${result.error.message}`);
}
