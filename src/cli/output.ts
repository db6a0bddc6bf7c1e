/**
 * The command line's exit statuses, and its output to streams whose reader
 * may go away (`gpuvm-sim demo | head -2`).
 *
 * A reader that stops reading is not a failure of the command: when stdout's
 * pipe closes (EPIPE), the command stops writing, stops working, and exits
 * 0, as `head` users expect, with nothing on stderr. When stderr's pipe
 * closes, what would go there is dropped and the command carries on with its
 * usual exit status.
 */
import { thrownText } from "../validate.js";

/** Exit statuses of every command. */
export const EXIT = {
  /** Everything passed (or stdout's reader closed the pipe). */
  ok: 0,
  /** A bug was found: explore found a failure, replay reproduced a report, a demo verdict is wrong. */
  bug: 1,
  /**
   * The command could not do its job: a bad argument, a module that cannot
   * be loaded, a scenario that threw, a replay that diverged from its token.
   * Wins over `bug`, as in grep: the result is incomplete.
   */
  error: 2,
  /** explore found nothing, but every execution of some scenario hit the step limit: nothing was checked to the end. */
  inconclusive: 3,
} as const;

/** Thrown by a stream writer once stdout's reader has gone: unwinds the command, which then exits 0. */
export class PipeClosed extends Error {
  override name = "PipeClosed";
  constructor() {
    super("the reader of stdout closed the pipe");
  }
}

/** Whether `e` is an EPIPE (the other end of a pipe closed). */
export function isEpipe(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "EPIPE";
}

/** A stream the command writes to: Node's stdout or stderr, or a test's stand-in. */
export interface OutStream {
  write(s: string): unknown;
  readonly destroyed: boolean;
  on(event: "error", listener: (e: unknown) => void): unknown;
}

/**
 * Where a command writes: stdout and stderr, each guarded against its reader
 * going away. `stdoutClosed` turns true at stdout's first EPIPE; from then on
 * `write` throws PipeClosed (to stop the work) and `exitCode()` maps every
 * status to 0. Writes to a closed stderr are dropped.
 */
export class Output {
  stdoutClosed = false;
  private stderrClosed = false;

  constructor(
    private readonly stdout: OutStream,
    private readonly stderr: OutStream,
  ) {
    // Without a listener, an EPIPE is an uncaught 'error' event: a stack trace and exit 1.
    stdout.on("error", (e) => {
      if (!isEpipe(e)) throw e;
      this.stdoutClosed = true;
    });
    stderr.on("error", (e) => {
      if (!isEpipe(e)) throw e;
      this.stderrClosed = true;
    });
  }

  /** Write to stdout; throws PipeClosed once its reader has gone. */
  readonly write = (s: string): void => {
    if (this.stdoutClosed || this.stdout.destroyed) {
      this.stdoutClosed = true;
      throw new PipeClosed();
    }
    this.stdout.write(s);
  };

  /** Write to stderr, unless its reader has gone. */
  readonly writeErr = (s: string): void => {
    if (this.stderrClosed || this.stderr.destroyed) {
      this.stderrClosed = true;
      return;
    }
    this.stderr.write(s);
  };

  /** The status to exit with: `code`, or 0 once stdout's reader has gone. */
  exitCode(code: number): number {
    return this.stdoutClosed || this.stdout.destroyed ? EXIT.ok : code;
  }
}

/**
 * The JSON document `--json` prints for a command that could not run (a
 * missing module or export, a module that throws while it loads, a bad
 * token): `{ module, error: { name, message, argument } }`, `argument` the
 * one at fault (`module`, `export`, `token`) or null. Never throws.
 */
export function jsonErrorDocument(module: string, e: unknown): string {
  const { name, message } = thrownText(e);
  let argument: unknown;
  try {
    argument = (e as { argument?: unknown } | null)?.argument ?? null;
  } catch {
    argument = null;
  }
  return `${JSON.stringify({ module, error: { name, message, argument: typeof argument === "string" ? argument : null } }, null, 2)}\n`;
}
