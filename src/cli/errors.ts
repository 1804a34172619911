// What the CLI tells a developer when something goes wrong: one line, what happened and
// what to do, and an exit code. Never a stack trace.

/** Exit codes: 0 done (Ready), 1 failed or refused, 2 bad input, 3 timed out. */
export const EXIT = { ok: 0, failed: 1, usage: 2, timeout: 3 } as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failed) {
    super(message);
  }
}
