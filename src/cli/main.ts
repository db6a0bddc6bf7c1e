#!/usr/bin/env node
/**
 * The `gpuvm-sim` command.
 *
 * `gpuvm-sim demo` runs every catalog scenario, buggy and fixed variant, with
 * the seed loop of scenarios/scenario.ts, prints the report that caught each
 * buggy variant (and any report a fixed variant should not have produced),
 * then a summary table. It exits 0 only when every buggy variant is caught
 * with its expected kind and every fixed variant passes its whole budget.
 *
 * `gpuvm-sim explore <module> [export]` imports a user's scenario module and
 * explores one exported scenario (or, with `--all`, every one), printing each
 * failure's report and the `gpuvm-sim replay` line that reproduces it; it
 * exits 1 if it found a failure. `gpuvm-sim replay <module> [export] <token>`
 * replays one execution with stacks; it exits 1 if the execution filed a
 * report, 2 if the replay diverged from the token (the scenario changed).
 * A missing module or export, or a bad option, is a one-line error and exit 2.
 *
 * The work is done by `runDemo`, `runExplore` and `runReplay`, which write
 * through a callback and return the exit code, so tests call them in-process.
 * The commander wiring runs only when this module is the program's entry
 * point; the module is also bundled to dist/cli.js (ESM) and dist/cli.cjs
 * (CJS, where `import.meta.url` is empty), so the check falls back to the
 * file name there.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { explore, type ExploreOptions, type ExploreResult } from "../explore/explore.js";
import { failureHeading, formatSummary, plural } from "../explore/format.js";
import { loadScenarios, type ModuleScenario } from "../explore/load.js";
import { replay } from "../explore/replay.js";
import { decodeToken } from "../kernel/token.js";
import type { Report, ReportKind } from "../report/report.js";
import { formatReport } from "../report/text.js";
import { catalog } from "../scenarios/catalog.js";
import type { CatalogScenario, VariantName } from "../scenarios/scenario.js";

/** Options of `gpuvm-sim demo`. */
export interface DemoOptions {
  /** Execution budget per variant (default 200); the exhaustive search may finish sooner. */
  readonly seeds?: number;
  /** Print a JSON array of results instead of text (default false). */
  readonly json?: boolean;
  /** Print only the table (default false). */
  readonly quiet?: boolean;
  /** The scenarios to run (default: the built-in catalog). */
  readonly scenarios?: readonly CatalogScenario[];
}

/** `caught`/`MISSED` for a buggy variant, `pass`/`FAILED` for a fixed one. */
export type Verdict = "caught" | "MISSED" | "pass" | "FAILED";

/** One row of the demo: one variant of one scenario. */
export interface DemoResult {
  readonly scenario: string;
  readonly variant: VariantName;
  readonly verdict: Verdict;
  /** The kind the buggy variant must produce. */
  readonly expected: ReportKind;
  /** The kind of the first report filed, or null if none was. */
  readonly kind: ReportKind | null;
  /** Executions up to and including the first failure, or all that ran. */
  readonly executions: number;
  /** How the exploration ended: the first failure, the budget, or every schedule run. */
  readonly stoppedBy: ExploreResult["stoppedBy"];
  /** The strategy that found the first failure, or null. */
  readonly strategy: string | null;
  /** The replay token of the first failure, or null. */
  readonly token: string | null;
  readonly elapsedMs: number;
  /** The first report filed, or null. */
  readonly report: Report | null;
}

const DEFAULT_SEEDS = 200;
const VARIANTS: readonly VariantName[] = ["buggy", "fixed"];

/** Run one variant and judge it. */
function runVariant(scenario: CatalogScenario, variant: VariantName, seeds: number): DemoResult {
  const run = explore(scenario.variants[variant], { name: `${scenario.name}.${variant}`, executions: seeds });
  const failure = run.failures[0] ?? null;
  const report = failure?.report ?? null;
  const verdict: Verdict =
    variant === "buggy" ? (report?.kind === scenario.expect ? "caught" : "MISSED") : report === null ? "pass" : "FAILED";
  return {
    scenario: scenario.name,
    variant,
    verdict,
    expected: scenario.expect,
    kind: report?.kind ?? null,
    executions: run.executions,
    stoppedBy: run.stoppedBy,
    strategy: failure?.strategy ?? null,
    token: failure?.token ?? null,
    elapsedMs: run.timeMs,
    report,
  };
}

function isGood(r: DemoResult): boolean {
  return r.verdict === "caught" || r.verdict === "pass";
}

/** Why a row is bad, in one line. */
function complaint(r: DemoResult, seeds: number): string {
  const where = `${r.scenario} (${r.variant})`;
  if (r.variant === "fixed") return `${where}: unexpected ${r.kind ?? "?"} report in execution ${r.executions}`;
  if (r.kind === null) return `${where}: no ${r.expected} report in ${r.executions} executions (budget ${seeds})`;
  return `${where}: expected ${r.expected}, but the first report was ${r.kind} in execution ${r.executions}`;
}

/** The summary table, columns aligned, with a header and a rule. */
export function formatTable(results: readonly DemoResult[]): string {
  const header = ["scenario", "variant", "verdict", "report", "executions", "time (ms)"];
  const rows = results.map((r) => [r.scenario, r.variant, r.verdict, r.kind ?? "-", String(r.executions), r.elapsedMs.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  // Text columns align left, numbers right.
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i >= 4 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/**
 * Run `gpuvm-sim demo`: every variant of every scenario, output through
 * `write` (each call is one chunk ending in a newline). Returns the exit code:
 * 0 when every buggy variant is caught and every fixed variant passes, else 1.
 */
export function runDemo(options: DemoOptions, write: (s: string) => void): number {
  const seeds = options.seeds ?? DEFAULT_SEEDS;
  if (!Number.isSafeInteger(seeds) || seeds < 1) throw new RangeError(`--seeds must be a positive integer, got ${seeds}`);
  const scenarios = options.scenarios ?? catalog;
  const results: DemoResult[] = [];
  for (const scenario of scenarios) {
    for (const variant of VARIANTS) {
      const r = runVariant(scenario, variant, seeds);
      results.push(r);
      if (options.json === true || options.quiet === true || r.report === null) continue;
      // A caught bug shows the report that caught it; a failing fixed variant shows what it should not have.
      const heading =
        r.variant === "buggy"
          ? `${r.scenario} (buggy): ${r.verdict === "caught" ? "caught" : "MISSED"} by ${r.strategy ?? "?"} in execution ${r.executions}`
          : `${r.scenario} (fixed): FAILED, unexpected report in execution ${r.executions}`;
      write(`${heading}\n${formatReport(r.report)}\n\n`);
    }
  }
  const bad = results.filter((r) => !isGood(r));
  if (options.json === true) {
    write(`${JSON.stringify(results, null, 2)}\n`);
    return bad.length === 0 ? 0 : 1;
  }
  write(`${formatTable(results)}\n`);
  if (options.quiet !== true) {
    if (bad.length === 0) {
      const buggy = results.filter((r) => r.variant === "buggy").length;
      const fixed = results.length - buggy;
      write(
        `\nOK: ${plural(buggy, "buggy variant")} caught; ${plural(fixed, "fixed variant")} passed ` +
          `(every schedule, or ${plural(seeds, "execution")}, whichever came first).\n`,
      );
    } else {
      write(`\nFAILED:\n${bad.map((r) => `  ${complaint(r, seeds)}`).join("\n")}\n`);
    }
  }
  return bad.length === 0 ? 0 : 1;
}

/** The strategies `--strategy` accepts. */
const STRATEGIES = ["random", "pct", "dfs", "portfolio"] as const;

/** Options of `gpuvm-sim explore`; unset fields take explore()'s defaults. */
export interface ExploreCommandOptions {
  /** Path of the scenario module, resolved from `cwd`. */
  readonly module: string;
  /** The exported scenario to explore (default `"default"`). */
  readonly export?: string | undefined;
  /** Explore every exported scenario function instead (default false). */
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
  /** Shrink failing schedules (default true). */
  readonly shrink?: boolean | undefined;
  /** Print one JSON document instead of text (default false). */
  readonly json?: boolean | undefined;
  /** Where `module` is resolved from (default: the working directory). */
  readonly cwd?: string | undefined;
  /**
   * Shows which scenario is being explored while it runs; called with "" when
   * it is done (default: nothing). The command passes a terminal's stderr.
   */
  readonly progress?: ((line: string) => void) | null | undefined;
}

/** Options of `gpuvm-sim replay`. */
export interface ReplayCommandOptions {
  /** Path of the scenario module, resolved from `cwd`. */
  readonly module: string;
  /** The exported scenario (default `"default"`). */
  readonly export?: string | undefined;
  /** The token from `explore`. */
  readonly token: string;
  /** As in the explore run that made the token (default 10,000). */
  readonly maxSteps?: number | undefined;
  /** Record a JavaScript stack at every site (default true). */
  readonly stacks?: boolean | undefined;
  /** Print one JSON document instead of text (default false). */
  readonly json?: boolean | undefined;
  readonly cwd?: string | undefined;
}

export { loadScenarios, type ModuleScenario } from "../explore/load.js";

/** Quote `s` for a POSIX shell, when it needs it. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** The command line that replays a token. */
export function replayCommand(module: string, exportName: string, token: string, maxSteps?: number): string {
  const steps = maxSteps === undefined ? "" : ` --max-steps ${maxSteps}`;
  return `gpuvm-sim replay ${shellQuote(module)} ${shellQuote(exportName)} ${shellQuote(token)}${steps}`;
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

/**
 * Run `gpuvm-sim explore`: import the module, explore each chosen scenario,
 * and write each failure's report with its replay command, then statistics.
 * Returns the exit code: 1 if any scenario failed, else 0. Throws an
 * ArgumentError for a missing module or export, or a bad option.
 */
export async function runExplore(options: ExploreCommandOptions, write: (s: string) => void): Promise<number> {
  const scenarios = await loadScenarios(options.module, options.export, options.all === true, options.cwd);
  const exploreOptions = exploreOptionsOf(options);
  const strategy = options.strategy ?? "portfolio";
  const runs: { exportName: string; result: ExploreResult; replay: string[] }[] = [];
  for (const { exportName, scenario } of scenarios) {
    // explore() runs synchronously without progress callbacks: the line says what runs, not how far it got.
    options.progress?.(`exploring ${exportName} (strategy ${strategy})...`);
    let result: ExploreResult;
    try {
      result = explore(scenario, exploreOptions);
    } finally {
      options.progress?.("");
    }
    const replay = result.failures.map((f) => replayCommand(options.module, exportName, f.token, options.maxSteps));
    runs.push({ exportName, result, replay });
    if (options.json === true) continue;
    const count = result.failures.length;
    for (const [i, f] of result.failures.entries()) {
      write(`${failureHeading(f, i, count)}\n${formatReport(f.report)}\nReplay from a shell: ${replay[i] ?? ""}\n\n`);
    }
    write(`${formatSummary(exportName, result, strategy)}\n`);
  }
  const failed = runs.filter((r) => r.result.failures.length > 0);
  if (options.json === true) {
    const scenariosJson = runs.map((r) => ({
      export: r.exportName,
      ...r.result,
      failures: r.result.failures.map((f, i) => ({ ...f, replayCommand: r.replay[i] })),
    }));
    write(`${JSON.stringify({ module: options.module, scenarios: scenariosJson }, null, 2)}\n`);
  } else if (runs.length > 1) {
    write(
      failed.length === 0
        ? `\nOK: ${plural(runs.length, "scenario")} passed.\n`
        : `\nFAILED: ${failed.length} of ${plural(runs.length, "scenario")} (${failed.map((r) => r.exportName).join(", ")}).\n`,
    );
  }
  return failed.length === 0 ? 0 : 1;
}

/**
 * Run `gpuvm-sim replay`: replay one execution of the module's scenario from
 * its token, with stacks, and write its reports and any divergence. Returns
 * the exit code: 2 if the replay diverged from the token, else 1 if the
 * execution filed a report, else 0. Throws an ArgumentError for a bad token,
 * a missing module or export.
 */
export async function runReplay(options: ReplayCommandOptions, write: (s: string) => void): Promise<number> {
  const data = decodeToken(options.token);
  const [loaded] = await loadScenarios(options.module, options.export, false, options.cwd);
  const { exportName, scenario } = loaded as ModuleScenario;
  const result = replay(scenario, options.token, {
    stacks: options.stacks !== false,
    ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }),
  });
  const code = result.divergence !== null ? 2 : result.report !== null ? 1 : 0;
  if (options.json === true) {
    write(`${JSON.stringify({ module: options.module, export: exportName, token: options.token, reports: result.reports, divergence: result.divergence }, null, 2)}\n`);
    return code;
  }
  const out: string[] = [];
  if (data.scenario !== exportName && data.scenario !== scenario.name) {
    out.push(`note: the token was made for scenario "${data.scenario}"; replaying export "${exportName}" of ${options.module}`, "");
  }
  const n = result.reports.length;
  for (const [i, r] of result.reports.entries()) out.push(...(n > 1 ? [`Report ${i + 1} of ${n}:`] : []), formatReport(r), "");
  const d = result.divergence;
  if (d !== null) {
    out.push(
      `DIVERGED at choice ${d.choice} (step ${d.step}): ${d.reason}.`,
      "The scenario (or gpuvm-sim) changed since the token was made; the run above followed the token only up to that choice.",
    );
  }
  const what = n === 0 ? "no report" : plural(n, "report");
  out.push(`${exportName}: replayed seed ${data.seed} (${plural(data.choices.length, "choice")}, found by ${data.strategy}): ${what}${d === null ? "" : ", diverged"}`);
  write(`${out.join("\n")}\n`);
  return code;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer.");
  return n;
}

/** `i/n`: shard i (from 0) of n. */
function parseShard(value: string): readonly [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || !(count >= 1) || !(index < count)) throw new InvalidArgumentError("must be i/n with 0 <= i < n, such as 0/4.");
  return [index, count];
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("must be an integer.");
  return n;
}

/** Run a command; a typed argument error becomes one line on stderr and exit code 2. */
async function exitCodeOf(run: () => Promise<number>, writeErr: (s: string) => void): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof ArgumentError || e instanceof ArgumentRangeError) {
      writeErr(`gpuvm-sim: error: ${e.message}\n`);
    } else {
      // Not a usage error: the scenario itself threw, for instance. Show where.
      writeErr(`gpuvm-sim: error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    }
    return 2;
  }
}

/** On a terminal, a status line on stderr, rewritten in place; elsewhere nothing. */
function terminalProgress(): ((line: string) => void) | null {
  if (!process.stdout.isTTY || !process.stderr.isTTY) return null;
  return (line) => process.stderr.write(`\r\x1b[K${line}`);
}

/**
 * The commander program. `write` and `writeErr` receive its output,
 * `setExitCode` each command's exit code, and `progress` a status line while
 * a scenario is explored (default: on a terminal only). Commander's own
 * errors (unknown option, bad value) still exit the process unless
 * `exitOverride()` is set. `explore` and `replay` are asynchronous (they
 * import a module): use `parseAsync()`.
 */
export function createProgram(
  write: (s: string) => void = (s) => process.stdout.write(s),
  setExitCode: (code: number) => void = (code) => {
    process.exitCode = code;
  },
  writeErr: (s: string) => void = (s) => process.stderr.write(s),
  progress: ((line: string) => void) | null = terminalProgress(),
): Command {
  const program = new Command("gpuvm-sim");
  program.description("Deterministic simulator of Linux kernel GPU memory objects, with lifetime and deadlock checks.");
  program
    .command("demo")
    .description("run the built-in scenario catalog, buggy and fixed variants, and print a verdict table")
    .option("--seeds <n>", "executions per variant", parsePositive, DEFAULT_SEEDS)
    .option("--json", "print a JSON array of results instead of text", false)
    .option("--quiet", "print only the table", false)
    .action((opts: { seeds: number; json: boolean; quiet: boolean }) => {
      setExitCode(runDemo(opts, write));
    });
  program
    .command("explore")
    .description("explore the interleavings of a scenario module's export; print each failure's report and how to replay it")
    .argument("<module>", "the scenario module, a path from the current directory")
    .argument("[export]", 'the exported scenario function (default: "default")')
    .option("--all", "explore every exported function (classes, generators and async functions are skipped)", false)
    .addOption(new Option("--strategy <name>", "exploration strategy (default: portfolio)").choices(STRATEGIES))
    .option("--executions <n>", "executions to run (default: 1000)", parsePositive)
    .option("--seed <n>", "the run's seed (default: 0)", parseInteger)
    .option("--max-steps <n>", "steps per execution before it counts as hitting the bound (default: 10000)", parsePositive)
    .option("--time-ms <n>", "wall-clock budget in milliseconds (default: none)", parsePositive)
    .option("--shard <i/n>", "run only shard i of n (from 0), to spread one exploration over machines", parseShard)
    .option("--all-failures", "collect every distinct failure instead of stopping at the first", false)
    .option("--no-shrink", "do not shrink failing schedules to the fewest context switches")
    .option("--json", "print one JSON document instead of text", false)
    .action(async (module: string, exportName: string | undefined, opts: Omit<ExploreCommandOptions, "module" | "export">) => {
      setExitCode(await exitCodeOf(() => runExplore({ ...opts, module, export: exportName, progress }, write), writeErr));
    });
  program
    .command("replay")
    .description("replay one explored execution from its token, with stacks (exit 1: a report, 2: the replay diverged)")
    .usage("[options] <module> [export] <token>")
    .argument("<module>", "the scenario module, a path from the current directory")
    .argument("<export>", 'the exported scenario function (may be left out for "default")')
    .argument("[token]", "the replay token printed by explore")
    .option("--max-steps <n>", "as in the explore run that made the token (default: 10000)", parsePositive)
    .option("--no-stacks", "do not record JavaScript stacks")
    .option("--json", "print one JSON document instead of text", false)
    .action(async (module: string, exportOrToken: string, token: string | undefined, opts: { maxSteps?: number; stacks: boolean; json: boolean }) => {
      // `replay <module> <token>` replays the default export.
      const [exportName, tok] = token === undefined ? [undefined, exportOrToken] : [exportOrToken, token];
      setExitCode(await exitCodeOf(() => runReplay({ ...opts, module, export: exportName, token: tok }, write), writeErr));
    });
  return program;
}

/** `import.meta.url`, or null where a bundler left it empty (the CJS build). */
function moduleUrl(): string | null {
  const url: unknown = (import.meta as { url?: unknown }).url;
  return typeof url === "string" ? url : null;
}

/**
 * Whether this module is the program being run (`node dist/cli.js`, the
 * `gpuvm-sim` bin link, `tsx src/cli/main.ts`), rather than imported.
 */
export function isEntryPoint(argv1: string | undefined = process.argv[1], url: string | null = moduleUrl()): boolean {
  if (argv1 === undefined) return false;
  let path = argv1;
  try {
    // The bin link in node_modules/.bin is a symlink; the module URL is the real path.
    path = realpathSync(argv1);
  } catch {
    // Not a file we can resolve: compare the name as given.
  }
  if (url !== null) return pathToFileURL(path).href === url;
  return /(?:^|[\\/])(?:cli\.c?js|main\.ts)$/.test(path);
}

if (isEntryPoint()) {
  const program = createProgram();
  // A usage error exits 2, like a missing module: exit code 1 means "found a failure".
  for (const cmd of [program, ...program.commands]) {
    cmd.exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));
  }
  program
    .parseAsync()
    .catch((e: unknown) => {
      process.stderr.write(`gpuvm-sim: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 2;
    });
}
