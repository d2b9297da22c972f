import type { AgentContext } from './context.ts';
import { publicName } from './context.ts';

/**
 * Where a model call's text goes as it streams: to `spool.stream.<agent>.<taskId>` when
 * someone follows the task now (`spool submit --follow`, the console), otherwise nowhere, and
 * the call is made without streaming (much cheaper for the agent). Asked before each call, so
 * a follower who arrives mid-call sees the task's next reply live.
 */
export async function liveReply(
  ctx: Pick<AgentContext, 'liveText' | 'name' | 'pool'>,
  taskId: string,
  step: number,
): Promise<((text: string) => void) | undefined> {
  const live = ctx.liveText;
  if (live === undefined) return undefined;
  const shownAs = publicName(ctx); // a pool's live text is the pool's
  if (!(await live.listening(shownAs, taskId))) return undefined;
  return (text: string) => live.publish(shownAs, taskId, { step, text });
}
