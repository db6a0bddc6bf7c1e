/**
 * `gpuvm-sim explore <module> [export]`: import a user's scenario module and
 * explore one exported scenario (or, with `--all`, every one), printing each
 * failure's report and the `gpuvm-sim replay` line that reproduces it.
 */
import { explore, type ExploreOptions, type ExploreResult } from "../explore/explore.js";
import type { Failure } from "../explore/failure.js";
import { failureHeading, plural } from "../explore/format.js";
import { findScenarios } from "../explore/load.js";
import { DEFAULTS } from "../explore/options.js";
import { formatReport } from "../report/text.js";
import { ArgumentError } from "../errors.js";
import { arg, checkOptions, is, isInstance, thrownText } from "../validate.js";
import { EXIT, jsonErrorDocument, PipeClosed } from "./output.js";

/** The strategies `--strategy` accepts. */
export const STRATEGIES = ["random", "pct", "dfs", "portfolio"] as const;

/** Options of `gpuvm-sim explore`; unset fields take explore()'s defaults. */
export interface ExploreCommandOptions {
  /** Path of the scenario module, resolved from `cwd`. */
  readonly module: string;
  /** The exported scenario to explore (default `"default"`). */
  readonly export?: string | undefined;
  /**
   * Explore every scenario export instead (default false): plain functions of
   * one parameter and catalog-shaped objects' variants; the rest is skipped,
   * with a note (see findScenarios()).
   */
  readonly all?: boolean | undefined;
  /** As explore()'s `strategy` (default `"portfolio"`). */
  readonly strategy?: (typeof STRATEGIES)[number] | undefined;
  readonly executions?: number | undefined;
  readonly seed?: number | undefined;
  readonly maxSteps?: number | undefined;
  readonly timeMs?: number | undefined;
  /** Run only shard `index` of `count` (default: everything); see docs/exploration.md. */
  readonly shard?: readonly [number, number] | undefined;
  /** Collect every distinct failure instead of stopping at the first (default false). */
  readonly allFailures?: boolean | undefined;
  /** Print every report of a failing execution, not only the first (default false). */
  readonly allReports?: boolean | undefined;
  /** Shrink failing schedules (default true). */
  readonly shrink?: boolean | undefined;
  /** Print one JSON document instead of text (default false). */
  readonly json?: boolean | undefined;
  /** Where `module` is resolved from (default: the working directory). */
  readonly cwd?: string | undefined;
  /**
   * The command the printed replay lines start with (default `gpuvm-sim`);
   * the command line passes the way it was invoked (`npm run cli --`,
   * `npx tsx src/cli/main.ts`), so the line can be pasted where the
   * `gpuvm-sim` command is not installed.
   */
  readonly command?: string | undefined;
  /**
   * Shows which scenario is being explored while it runs; called with "" when
   * it is done (default: nothing). The command passes a terminal's stderr.
   */
  readonly progress?: ((line: string) => void) | null | undefined;
}

/** Quote `s` for a POSIX shell, when it needs it. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * The command line that replays a token (which records the step limit it ran
 * under). `command` is how the CLI is run (default `gpuvm-sim`; main.ts
 * passes the way it was itself invoked, such as `npm run cli --`: see
 * invokedAs()).
 */
export function replayCommand(module: string, exportName: string, token: string, command = "gpuvm-sim"): string {
  return `${command} replay ${shellQuote(module)} ${shellQuote(exportName)} ${shellQuote(token)}`;
}

function exploreOptionsOf(o: ExploreCommandOptions): ExploreOptions {
  return {
    ...(o.strategy === undefined ? {} : { strategy: o.strategy }),
    ...(o.executions === undefined ? {} : { executions: o.executions }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.maxSteps === undefined ? {} : { maxSteps: o.maxSteps }),
    ...(o.timeMs === undefined ? {} : { timeMs: o.timeMs }),
    ...(o.shard === undefined ? {} : { shard: o.shard }),
    stopAtFirst: o.allFailures !== true,
    shrink: o.shrink !== false,
  };
}

/** How one export's exploration ended: a failure found, passed, every execution cut by the step limit, or the scenario threw. */
export type ExploreVerdict = "failed" | "passed" | "inconclusive" | "error";

/** One export's run: its result, or the error it threw. */
type Run =
  | { readonly exportName: string; readonly verdict: Exclude<ExploreVerdict, "error">; readonly result: ExploreResult; readonly replay: string[] }
  | { readonly exportName: string; readonly verdict: "error"; readonly error: { readonly name: string; readonly message: string } };

function verdictOf(r: ExploreResult): Exclude<ExploreVerdict, "error"> {
  if (r.failures.length > 0) return "failed";
  return r.executions > 0 && r.stepBoundHits === r.executions ? "inconclusive" : "passed";
}

/**
 * The statistics of one export's exploration: a verdict line, then a line
 * per limit that cut the run short, naming the flag to raise.
 */
function summary(name: string, r: ExploreResult, strategy: string, maxSteps: number): string {
  const limit = `the step limit of ${maxSteps} (--max-steps)`;
  const verdict =
    r.failures.length > 0
      ? `FAILED, ${plural(r.failures.length, "distinct failure")} in ${plural(r.executions, "execution")} (${r.failed} failed)`
      : r.executions > 0 && r.stepBoundHits === r.executions
        ? `INCONCLUSIVE, every execution (${r.executions}) hit ${limit}: none was checked to its end`
        : `passed ${plural(r.executions, "execution")}`;
  const steps = `steps min ${r.steps.min}, mean ${r.steps.mean.toFixed(1)}, max ${r.steps.max}; ${r.timeMs.toFixed(0)} ms`;
  const lines = [`${name}: ${verdict}; strategy ${strategy}; stopped by ${r.stoppedBy}${r.exhausted ? " (DFS explored every schedule)" : ""}; ${steps}`];
  if (r.stoppedBy === "time") lines.push("  the time budget ran out first: raise --time-ms to run every execution");
  if (r.stepBoundHits > 0) {
    lines.push(
      r.stepBoundHits === r.executions
        ? "  raise --max-steps (or make the scenario's tasks finish sooner)"
        : `  ${r.stepBoundHits} of ${plural(r.executions, "execution")} hit ${limit} and ${r.stepBoundHits === 1 ? "was" : "were"} not checked to the end: raise --max-steps`,
    );
  }
  return lines.join("\n");
}

/** One failure's text: its report (every report with `allReports`, else the first and how many there are). */
function failureText(f: Failure, i: number, count: number, replay: string, allReports: boolean): string {
  const n = f.reports.length;
  const shown = allReports ? f.reports : [f.report];
  const parts = shown.map((r) => `${failureHeading(f, i, count, r)}\n${formatReport(r)}`);
  if (!allReports && n > 1) parts.push(`(1 of ${n} reports of this execution shown; --all-reports shows them all)`);
  return `${parts.join("\n")}\nReplay from a shell: ${replay}\n\n`;
}

/** The message of something a scenario threw, with its class (never throws, whatever was thrown). */
function thrown(e: unknown): { name: string; message: string } {
  const { name, message } = thrownText(e);
  return { name, message };
}

/**
 * A scenario that threw and does not take one parameter may be a factory
 * called with the Sim as its options (`explore workload.ts toyWorkload`):
 * the message then says how to wrap it.
 */
function withFactoryHint(error: { name: string; message: string }, exportName: string, scenario: (sim: never) => unknown): { name: string; message: string } {
  let n: unknown;
  try {
    n = scenario.length;
  } catch {
    return error;
  }
  if (n === 1) return error;
  const hint = ` (${exportName} is a function of ${n === 0 ? "no parameters" : `${String(n)} parameters`}: if it makes a scenario, a factory, export one that calls it: export const myScenario = (sim) => ${exportName}(/* its options */)(sim))`;
  return { ...error, message: `${error.message}${hint}` };
}

/**
 * Run `gpuvm-sim explore`: import the module, explore each chosen scenario,
 * and write each failure's report with its replay command, then statistics.
 * A scenario that throws (while building its world, or because explore()
 * refuses it) is marked as errored with the error's message; the others
 * still run. Returns the exit code (see EXIT): 2 if a scenario threw, else 1
 * if one failed, else 3 if every execution of one hit the step limit, else
 * 0. Throws an ArgumentError (or ArgumentRangeError) naming `module` or
 * `export` for a missing module or export or a module that loads a second
 * copy of gpuvm-sim, or naming the option at fault.
 */
export async function runExplore(options: ExploreCommandOptions, write: (s: string) => void): Promise<number> {
  checkOptions<ExploreCommandOptions>("options", options, {
    module: is.nonEmptyString,
    export: is.nonEmptyString,
    all: is.boolean,
    strategy: is.oneOf(...STRATEGIES),
    executions: is.positiveInteger,
    seed: is.safeInteger,
    maxSteps: is.positiveInteger,
    timeMs: is.positiveInteger,
    shard: is.any, // explore() checks it
    allFailures: is.boolean,
    allReports: is.boolean,
    shrink: is.boolean,
    json: is.boolean,
    cwd: is.nonEmptyString,
    command: is.nonEmptyString,
    progress: (argument, v) => {
      if (v !== null) is.function(argument, v);
    },
  });
  if ((options.module as string | undefined) === undefined) throw new ArgumentError("module", "is required: the path of the scenario module");
  arg("write", is.function, write);
  let found: Awaited<ReturnType<typeof findScenarios>>;
  try {
    found = await findScenarios(options.module, options.export, options.all === true, options.cwd);
  } catch (e) {
    // With --json, stdout still gets one document, saying what went wrong; the error goes on (stderr, exit 2).
    if (options.json === true) write(jsonErrorDocument(options.module, e));
    throw e;
  }
  const { scenarios, skipped } = found;
  const exploreOptions = exploreOptionsOf(options);
  const strategy = options.strategy ?? "portfolio";
  const maxSteps = options.maxSteps ?? DEFAULTS.maxSteps;
  const json = options.json === true;
  if (!json && skipped.length > 0) {
    write(`note: --all skipped ${plural(skipped.length, "export")} that ${skipped.length === 1 ? "is" : "are"} not a scenario function (sim) => void: ${skipped.map((s) => `${s.exportName} (${s.why})`).join(", ")}\n\n`);
  }
  const runs: Run[] = [];
  for (const { exportName, scenario } of scenarios) {
    // explore() runs synchronously without progress callbacks: the line says what runs, not how far it got.
    options.progress?.(`exploring ${exportName} (strategy ${strategy})...`);
    let result: ExploreResult;
    try {
      // A catalog variant's function is named `buggy` or `scenario`: its tokens name the variant's path instead.
      result = explore(scenario, exportName.includes(".") ? { ...exploreOptions, name: exportName } : exploreOptions);
    } catch (e) {
      if (isInstance(e, PipeClosed)) throw e;
      const error = withFactoryHint(thrown(e), exportName, scenario);
      runs.push({ exportName, verdict: "error", error });
      if (!json) write(`${exportName}: ERROR, the scenario threw ${error.name}: ${error.message}\n`);
      continue;
    } finally {
      options.progress?.("");
    }
    const replay = result.failures.map((f) => replayCommand(options.module, exportName, f.token, options.command));
    runs.push({ exportName, verdict: verdictOf(result), result, replay });
    if (json) continue;
    const count = result.failures.length;
    for (const [i, f] of result.failures.entries()) write(failureText(f, i, count, replay[i] ?? "", options.allReports === true));
    write(`${summary(exportName, result, strategy, maxSteps)}\n`);
  }
  const which = (v: ExploreVerdict) => runs.filter((r) => r.verdict === v).map((r) => r.exportName);
  const [failed, errored, inconclusive] = [which("failed"), which("error"), which("inconclusive")];
  if (json) {
    const scenariosJson = runs.map((r) =>
      r.verdict === "error"
        ? { export: r.exportName, verdict: r.verdict, error: r.error }
        : { export: r.exportName, verdict: r.verdict, ...r.result, failures: r.result.failures.map((f, i) => ({ ...f, replayCommand: r.replay[i] })) },
    );
    const skippedJson = skipped.map((s) => ({ export: s.exportName, why: s.why }));
    write(`${JSON.stringify({ module: options.module, maxSteps, scenarios: scenariosJson, skipped: skippedJson }, null, 2)}\n`);
  } else if (runs.length > 1) {
    const of = (names: string[]) => `${names.length} of ${plural(runs.length, "scenario")} (${names.join(", ")})`;
    const lines: string[] = [];
    if (failed.length > 0) lines.push(`FAILED: ${of(failed)}.`);
    if (errored.length > 0) lines.push(`ERROR: ${of(errored)} threw.`);
    if (inconclusive.length > 0) lines.push(`INCONCLUSIVE: ${of(inconclusive)}: every execution hit the step limit of ${maxSteps}.`);
    if (lines.length === 0) lines.push(`OK: ${plural(runs.length, "scenario")} passed.`);
    write(`\n${lines.join("\n")}\n`);
  }
  if (errored.length > 0) return EXIT.error;
  if (failed.length > 0) return EXIT.bug;
  return inconclusive.length > 0 ? EXIT.inconclusive : EXIT.ok;
}
