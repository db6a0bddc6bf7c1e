/**
 * The one catalog of errors the library throws.
 *
 * Errors are for misuse of the API by the code driving the simulation (bad
 * arguments, calling an op outside a task). Bugs in the simulated kernel code
 * (a use-after-free, a deadlock) are reports, not errors; in the default
 * `onReport: "throw"` mode a report ends the run by throwing a
 * ReportError that carries it (defined with the reports, in
 * src/report/report-error.ts, so that this file imports nothing).
 */

/** Base class of every error gpuvm-sim throws. */
export class GpuvmSimError extends Error {
  override name = "GpuvmSimError";
}

/** An argument has the wrong type or shape. `argument` names it. */
export class ArgumentError extends GpuvmSimError {
  override name = "ArgumentError";
  constructor(
    readonly argument: string,
    detail: string,
  ) {
    super(`invalid argument '${argument}': ${detail}`);
  }
}

/**
 * A replay token is malformed: not one this library makes (see
 * src/kernel/token.ts for the grammar). `argument` names the argument that
 * carried it (`token`, or `replay` for a Sim's option); `reason` says what is
 * wrong, in a few words. The message shows at most the token's first 96
 * characters.
 */
export class TokenError extends ArgumentError {
  override name = "TokenError";
  constructor(
    argument: string,
    readonly reason: string,
    token: unknown,
    /** What the token should have been: `explore token` or `replay token`. */
    what = "replay token",
  ) {
    const text = typeof token === "string" ? (token.length > 96 ? `${token.slice(0, 96)}... (${token.length} characters)` : token) : typeof token;
    super(argument, `not a gpuvm-sim ${what} (${reason}): ${text}`);
  }
}

/**
 * A numeric argument is out of range (for example not a safe integer, or
 * negative where a size is expected). `argument` names it.
 */
export class ArgumentRangeError extends RangeError {
  override name = "ArgumentRangeError";
  constructor(
    readonly argument: string,
    detail: string,
  ) {
    super(`argument '${argument}' out of range: ${detail}`);
  }
}

/**
 * The API was used in a state where the call makes no sense: an op started
 * twice, `current()` outside a task, `run()` while the simulation runs.
 */
export class UsageError extends GpuvmSimError {
  override name = "UsageError";
}

/**
 * A report names a kind no layer has defined: `formatReport()` or
 * `reportsFromJson()` was given a report of an unknown `kind` (from a newer
 * version, or a layer whose report file is not registered). `kind` names it.
 */
export class UnknownReportKindError extends GpuvmSimError {
  override name = "UnknownReportKindError";
  constructor(readonly kind: string) {
    super(`unknown report kind '${kind}': no layer defines it`);
  }
}

/**
 * An object of one Sim was used by a task of another (or given to another
 * Sim's API). Objects belong to the Sim they were made in. `argument` names
 * the argument that carried it (`this` for the object a method was called
 * on); the message names the object and both Sims (`Sim#3 (seed 7)`).
 * Nothing was changed in either Sim.
 */
export class ForeignSimError extends ArgumentError {
  override name = "ForeignSimError";
  constructor(
    argument: string,
    /** The operation refused (`kfree`, `kref_get`, `spawn`). */
    readonly op: string,
    /** The object's label, as reports print it. */
    readonly object: string,
    /** The Sim the object belongs to. */
    readonly objectSim: string,
    /** The Sim of the task (or the call) that used it. */
    readonly usedIn: string,
  ) {
    super(argument, `${op}: ${object} belongs to ${objectSim} but is used in ${usedIn}; objects must not cross Sims`);
  }
}
