import type { TaskResult } from '@spool/core';

/** A result for people (status line, then the output) or as one JSON line. */
export function printResult(result: TaskResult, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  const u = result.usage;
  const tokens = `${u.inputTokens} in / ${u.outputTokens} out, cache read ${u.cacheReadInputTokens}`;
  console.log(
    `${result.taskId} ${result.status} (${result.agent}, ${result.steps} model call(s), ${tokens})`,
  );
  if (result.output !== undefined) console.log(result.output);
  if (result.error !== undefined) console.log(`error ${result.error.code}: ${result.error.message}`);
}
