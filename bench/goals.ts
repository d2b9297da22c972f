/**
 * The goals the issues set for `pnpm bench`, checked where each is measured: a part calls
 * `checkGoal` with what it measured, which prints `goal … met|MISSED` in its output and, when
 * run.sh asked for it (SPOOL_BENCH_GOALS names a file), appends it there as one JSON line, so
 * the run ends with one table of every goal (`tsx bench/goals.ts <file>`).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export interface GoalCheck {
  /** What is measured, as the issue words it. */
  readonly goal: string;
  readonly measured: number;
  /** `at-least` or `at-most` the target. */
  readonly bound: 'at-least' | 'at-most';
  readonly target: number;
  /** How the figures read, e.g. `×`, `ms`, `% of raw`. */
  readonly unit: string;
  readonly part: string;
}

export interface GoalResult extends GoalCheck {
  readonly met: boolean;
}

const digits = (n: number) =>
  Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

export function describeGoal(g: GoalResult): string {
  const sign = g.bound === 'at-least' ? '≥' : '≤';
  return `goal ${g.met ? 'met   ' : 'MISSED'} ${g.goal}: ${digits(g.measured)}${g.unit} (${sign} ${digits(g.target)}${g.unit})`;
}

/** Says whether a goal is met (in the part's text output) and records it for the run's table. */
export function checkGoal(check: GoalCheck, say: (line: string) => void): GoalResult {
  const met = check.bound === 'at-least' ? check.measured >= check.target : check.measured <= check.target;
  const result = { ...check, met };
  say(describeGoal(result));
  const file = process.env.SPOOL_BENCH_GOALS;
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(result)}\n`);
  return result;
}

/** The run's table: every goal recorded in `file`, in the order measured. */
function summarize(file: string): void {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const goals = lines.map((line) => JSON.parse(line) as GoalResult);
  if (goals.length === 0) return;
  const missed = goals.filter((g) => !g.met).length;
  console.log(`\n== goals (${goals.length - missed} met, ${missed} missed) ==`);
  for (const g of goals) console.log(`[${g.part}] ${describeGoal(g)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: tsx bench/goals.ts <file written by the parts (SPOOL_BENCH_GOALS)>');
    process.exit(2);
  }
  summarize(file);
}
