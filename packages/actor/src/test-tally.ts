import type { ActorLogic, Decider } from './decider.ts';

/**
 * A tiny actor for the kernel's unit tests: items are added, worked on (one `work` effect
 * each, from `due` on when it has one) and finished with a result.
 */
export interface TallyState {
  seq: number;
  items: Map<string, { n: number; due?: number | undefined; result?: string | undefined }>;
}
export type TallyCommand =
  | {
      readonly type: 'Add';
      readonly item: string;
      readonly n: number;
      readonly due?: number;
      readonly pad?: number;
    }
  | { readonly type: 'Finish'; readonly item: string; readonly result: string };
export type TallyEvent =
  | {
      readonly id: string;
      readonly type: 'added';
      readonly item: string;
      readonly n: number;
      readonly due?: number | undefined;
      readonly pad?: string | undefined;
    }
  | { readonly id: string; readonly type: 'finished'; readonly item: string; readonly result: string };
export type TallyEffect = { readonly type: 'work'; readonly item: string };

export const tallyDecider: Decider<TallyState, TallyCommand, TallyEvent, TallyEffect> = {
  initialState: () => ({ seq: 0, items: new Map() }),
  decide(state, command) {
    const item = state.items.get(command.item);
    if (command.type === 'Add') {
      if (item !== undefined) return [];
      const pad = command.pad === undefined ? {} : { pad: 'x'.repeat(command.pad) };
      return [
        {
          id: `${command.item}:added`,
          type: 'added',
          item: command.item,
          n: command.n,
          due: command.due,
          ...pad,
        },
      ];
    }
    if (item === undefined || item.result !== undefined) return [];
    return [{ id: `${command.item}:finished`, type: 'finished', item: command.item, result: command.result }];
  },
  evolve(state, event) {
    if (event.type === 'added') state.items.set(event.item, { n: event.n, due: event.due });
    else {
      const item = state.items.get(event.item);
      if (item !== undefined) item.result = event.result;
    }
    return state;
  },
  next(state, now) {
    const effects: TallyEffect[] = [];
    let wakeAt: number | undefined;
    for (const [name, item] of state.items) {
      if (item.result !== undefined) continue;
      if (item.due !== undefined && item.due > now.getTime()) wakeAt = Math.min(wakeAt ?? item.due, item.due);
      else effects.push({ type: 'work', item: name });
    }
    return { effects, wakeAt };
  },
};

export const tallyLogic = (group = true): ActorLogic<TallyState, TallyCommand, TallyEvent, TallyEffect> => ({
  decider: tallyDecider,
  commits: { group, scopeOf: (event) => event.item },
});
