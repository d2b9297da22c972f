import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type CliEnv, type CliProcess, startCli } from '../support/cli.ts';
import { waitFor } from '../support/wait-for.ts';

/** One pino JSON line of a spool process (stderr). */
export interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The JSON log lines a process has written so far (other stderr lines are skipped). */
export function logLines(proc: CliProcess): LogLine[] {
  const out: LogLine[] = [];
  for (const line of proc.stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as Partial<LogLine>;
      if (typeof parsed.msg === 'string' && typeof parsed.time === 'number') out.push(parsed as LogLine);
    } catch {
      // a line still being written
    }
  }
  return out;
}

export interface Member {
  readonly label: string;
  readonly proc: CliProcess;
  readonly startedAt: number;
  /** Set just before this test sends a signal: an exit without it is a crash. */
  signalled?: NodeJS.Signals;
  exitCode?: number | null;
}

/**
 * The `spool agent <name>` processes of a chaos run: starts them, kills them, and notices
 * any that exits without having been told to (a crash of the product, not of the test).
 */
export class AgentFleet {
  readonly members: Member[] = [];
  readonly unexpectedExits: string[] = [];

  constructor(
    private readonly args: string[],
    private readonly env: CliEnv,
    private readonly t0: number,
  ) {}

  /**
   * Starts a process; `args` defaults to the fleet's own (a mixed fleet passes each command),
   * `env` to the fleet's.
   */
  start(label: string, args: readonly string[] = this.args, env: CliEnv = this.env): Member {
    const member: Member = { label, proc: startCli([...args], env), startedAt: Date.now() };
    this.members.push(member);
    void member.proc.exited.then((code) => {
      member.exitCode = code;
      if (member.signalled === undefined)
        this.unexpectedExits.push(
          `${label} exited on its own (code ${code}) at +${Date.now() - this.t0} ms:\n${member.proc.stderr.slice(-3000)}`,
        );
    });
    return member;
  }

  /** Sends `signal` and waits for the exit; resolves with the exit code (null after SIGKILL). */
  async signal(member: Member, signal: NodeJS.Signals): Promise<number | null> {
    member.signalled = signal;
    return member.proc.kill(signal);
  }

  /** The first log line of `member` that `match` accepts, waiting for it. */
  async waitForLine(
    member: Member,
    what: string,
    match: (line: LogLine) => boolean,
    timeoutMs: number,
  ): Promise<LogLine> {
    return waitFor(
      () => `${member.label} to log ${what} (stderr so far: ${member.proc.stderr.slice(-2000)})`,
      () => logLines(member.proc).find(match),
      timeoutMs,
      20,
    );
  }

  /** Every log line of every process, with the process label. */
  allLines(): { label: string; line: LogLine }[] {
    return this.members.flatMap((m) => logLines(m.proc).map((line) => ({ label: m.label, line })));
  }

  /** SIGKILLs whatever is still running (teardown). */
  async killAll(): Promise<void> {
    await Promise.all(
      this.members
        .filter((m) => m.proc.child.exitCode === null && m.proc.child.signalCode === null)
        .map((m) => this.signal(m, 'SIGKILL')),
    );
  }

  /** Writes each process's whole stderr to `<dir>/<label>.log`. */
  writeLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const m of this.members) writeFileSync(join(dir, `${m.label}.log`), m.proc.stderr);
  }

  /** The last log lines of each process, for a failure report. */
  describe(lines = 15): string {
    return this.members
      .map((m) => {
        const tail = m.proc.stderr.trimEnd().split('\n').slice(-lines).join('\n');
        return `--- ${m.label} (started +${m.startedAt - this.t0} ms, signal ${m.signalled ?? '-'}, exit ${m.exitCode ?? '-'})\n${tail}`;
      })
      .join('\n');
  }
}
