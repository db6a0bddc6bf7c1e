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
 * The work is done by `runDemo`, which writes through a callback and returns
 * the exit code, so tests call it in-process. The commander wiring runs only
 * when this module is the program's entry point; the module is also bundled
 * to dist/cli.js (ESM) and dist/cli.cjs (CJS, where `import.meta.url` is
 * empty), so the check falls back to the file name there.
 */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import type { Report, ReportKind } from "../report/report.js";
import { formatReport } from "../report/text.js";
import { catalog } from "../scenarios/catalog.js";
import { runSeeds, type CatalogScenario, type VariantName } from "../scenarios/scenario.js";

/** Options of `gpuvm-sim demo`. */
export interface DemoOptions {
  /** Executions per variant (default 200). */
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
  /** Executions up to and including the first failure, or the whole budget. */
  readonly executions: number;
  /** Seed of the first failing execution, or null. */
  readonly seed: number | null;
  readonly elapsedMs: number;
  /** The first report filed, or null. */
  readonly report: Report | null;
}

const DEFAULT_SEEDS = 200;
const VARIANTS: readonly VariantName[] = ["buggy", "fixed"];

/** Run one variant and judge it. */
function runVariant(scenario: CatalogScenario, variant: VariantName, seeds: number): DemoResult {
  const run = runSeeds(scenario.variants[variant], { seeds });
  const failure = run.firstFailure;
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
    seed: failure?.seed ?? null,
    elapsedMs: run.elapsedMs,
    report,
  };
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function isGood(r: DemoResult): boolean {
  return r.verdict === "caught" || r.verdict === "pass";
}

/** Why a row is bad, in one line. */
function complaint(r: DemoResult, seeds: number): string {
  const where = `${r.scenario} (${r.variant})`;
  if (r.variant === "fixed") return `${where}: unexpected ${r.kind ?? "?"} report at seed ${r.seed ?? "?"}`;
  if (r.kind === null) return `${where}: no ${r.expected} report in ${seeds} executions`;
  return `${where}: expected ${r.expected}, but the first report was ${r.kind} at seed ${r.seed ?? "?"}`;
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
          ? `${r.scenario} (buggy): ${r.verdict === "caught" ? "caught" : "MISSED"} at seed ${r.seed ?? "?"}, execution ${r.executions}`
          : `${r.scenario} (fixed): FAILED, unexpected report at seed ${r.seed ?? "?"}`;
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
      write(`\nOK: ${plural(buggy, "buggy variant")} caught; ${plural(fixed, "fixed variant")} passed ${plural(seeds, "execution")} each.\n`);
    } else {
      write(`\nFAILED:\n${bad.map((r) => `  ${complaint(r, seeds)}`).join("\n")}\n`);
    }
  }
  return bad.length === 0 ? 0 : 1;
}

function parseSeeds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer.");
  return n;
}

/**
 * The commander program. `write`/`writeErr` receive its output, and
 * `setExitCode` the demo's exit code; commander's own errors (unknown
 * option, bad value) still exit the process unless `exitOverride()` is set.
 */
export function createProgram(
  write: (s: string) => void = (s) => process.stdout.write(s),
  setExitCode: (code: number) => void = (code) => {
    process.exitCode = code;
  },
): Command {
  const program = new Command("gpuvm-sim");
  program.description("Deterministic simulator of Linux kernel GPU memory objects, with lifetime and deadlock checks.");
  program
    .command("demo")
    .description("run the built-in scenario catalog, buggy and fixed variants, and print a verdict table")
    .option("--seeds <n>", "executions per variant", parseSeeds, DEFAULT_SEEDS)
    .option("--json", "print a JSON array of results instead of text", false)
    .option("--quiet", "print only the table", false)
    .action((opts: { seeds: number; json: boolean; quiet: boolean }) => {
      setExitCode(runDemo(opts, write));
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

if (isEntryPoint()) createProgram().parse();
