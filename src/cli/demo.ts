/**
 * `gpuvm-sim demo`: run every catalog scenario, buggy and fixed variant and
 * then its further variants (`more`), print the report that caught each
 * buggy variant (and any report a clean variant should not have produced),
 * then a summary table. The exit code is 0 only when every buggy variant
 * (and every further variant expecting a kind) is caught with its expected
 * kind and every fixed variant (and every further variant expecting none)
 * passes its whole budget.
 */
import { ArgumentError } from "../errors.js";
import { explore, type ExploreResult } from "../explore/explore.js";
import { plural } from "../explore/format.js";
import type { Report, ReportKind } from "../report/report.js";
import { formatReport } from "../report/text.js";
import { catalog } from "../scenarios/catalog.js";
import type { CatalogScenario, Scenario, VariantName } from "../scenarios/scenario.js";
import { arg, checkOptions, describeValue, is } from "../validate.js";

/** Options of `gpuvm-sim demo`. */
export interface DemoOptions {
  /** Execution budget per variant (default 200); the exhaustive search may finish sooner. */
  readonly seeds?: number;
  /** Print a JSON array of results instead of text (default false). */
  readonly json?: boolean;
  /** Print only the table (default false). */
  readonly quiet?: boolean;
  /** Print every report of a caught (or failing) execution, not only the first (default false). */
  readonly allReports?: boolean;
  /** The scenarios to run (default: the built-in catalog). */
  readonly scenarios?: readonly CatalogScenario[];
}

/** `caught`/`MISSED` for a buggy variant, `pass`/`FAILED` for a fixed one. */
export type Verdict = "caught" | "MISSED" | "pass" | "FAILED";

/** One row of the demo: one variant of one scenario. */
export interface DemoResult {
  readonly scenario: string;
  /** `buggy`, `fixed`, or the name of one of the scenario's further variants (`more`). */
  readonly variant: VariantName | (string & {});
  readonly verdict: Verdict;
  /**
   * The kind the row must produce: the buggy variant's, or a further
   * variant's that expects one; for a row that must stay clean, the
   * scenario's (see `verdict`: `pass`/`FAILED` for those).
   */
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
  /** Every report that execution filed (empty if none). */
  readonly reports: readonly Report[];
}

/** Executions per variant unless `--seeds` says otherwise. */
export const DEFAULT_SEEDS = 200;

/** One variant to run: a scenario's buggy or fixed one, or one of its `more`. */
interface Row {
  readonly variant: string;
  readonly scenario: Scenario;
  /** The kind it must produce, or null: it must stay clean. */
  readonly expect: ReportKind | null;
}

/** A scenario's rows: buggy, fixed, then its further variants. */
function rowsOf(c: CatalogScenario): Row[] {
  return [
    { variant: "buggy", scenario: c.variants.buggy, expect: c.expect },
    { variant: "fixed", scenario: c.variants.fixed, expect: null },
    ...(c.more ?? []).map((m) => ({ variant: m.name, scenario: m.scenario, expect: m.expect })),
  ];
}

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A scenario's `more`, checked before anything runs: absent, or an array of well-formed further variants with unique names. */
function checkMore(argument: string, more: unknown): void {
  if (more === undefined) return;
  if (!Array.isArray(more)) throw new ArgumentError(argument, `must be an array of further variants, got ${describeValue(more)}`);
  const seen = new Set<string>(["buggy", "fixed"]);
  (more as unknown[]).forEach((m, j) => {
    const at = `${argument}[${j}]`;
    if (typeof m !== "object" || m === null) throw new ArgumentError(at, `must be { name, title, scenario, expect }, got ${describeValue(m)}`);
    const { name, title, scenario, expect } = m as Record<string, unknown>;
    if (typeof name !== "string" || !KEBAB.test(name)) throw new ArgumentError(`${at}.name`, `must be a kebab-case string, got ${describeValue(name)}`);
    if (seen.has(name)) throw new ArgumentError(`${at}.name`, `"${name}" names another variant of the scenario`);
    seen.add(name);
    if (typeof title !== "string") throw new ArgumentError(`${at}.title`, `must be a string, got ${describeValue(title)}`);
    if (typeof scenario !== "function") throw new ArgumentError(`${at}.scenario`, `must be a scenario function, got ${describeValue(scenario)}`);
    if (expect !== null && typeof expect !== "string") throw new ArgumentError(`${at}.expect`, `must be a report kind or null, got ${describeValue(expect)}`);
  });
}

/** Run one variant and judge it. */
function runVariant(c: CatalogScenario, row: Row, seeds: number): DemoResult {
  const run = explore(row.scenario, { name: `${c.name}.${row.variant}`, executions: seeds });
  const failure = run.failures[0] ?? null;
  const report = failure?.report ?? null;
  const verdict: Verdict =
    row.expect !== null ? (report?.kind === row.expect ? "caught" : "MISSED") : report === null ? "pass" : "FAILED";
  return {
    scenario: c.name,
    variant: row.variant,
    verdict,
    expected: row.expect ?? c.expect,
    kind: report?.kind ?? null,
    executions: run.executions,
    stoppedBy: run.stoppedBy,
    strategy: failure?.strategy ?? null,
    token: failure?.token ?? null,
    elapsedMs: run.timeMs,
    report,
    reports: failure?.reports ?? [],
  };
}

function isGood(r: DemoResult): boolean {
  return r.verdict === "caught" || r.verdict === "pass";
}

/** Why a row is bad, in one line. */
function complaint(r: DemoResult, seeds: number): string {
  const where = `${r.scenario} (${r.variant})`;
  if (r.verdict === "pass" || r.verdict === "FAILED") return `${where}: unexpected ${r.kind ?? "?"} report in execution ${r.executions}`;
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
 * `write` (each call is one chunk ending in a newline; one that throws, as
 * the command line's does once stdout's reader has gone, stops the demo).
 * Returns the exit code: 0 when every buggy variant is caught and every fixed
 * variant passes, else 1.
 *
 * @throws ArgumentError naming `options`, an option or `write` when one is
 *   not of its type, or `scenarios[i].more[j]` (or its `name`, `title`,
 *   `scenario`, `expect`) when a further variant is malformed or its name is
 *   not kebab-case or not unique in its scenario; ArgumentRangeError naming `options.seeds` (`seeds`) when
 *   it is not a positive integer.
 */
export function runDemo(options: DemoOptions, write: (s: string) => void): number {
  checkOptions<DemoOptions>("options", options, {
    seeds: is.positiveInteger,
    json: is.boolean,
    quiet: is.boolean,
    allReports: is.boolean,
    scenarios: (argument, v) => {
      if (!Array.isArray(v)) throw new ArgumentError(argument, "must be an array of catalog scenarios");
      (v as unknown[]).forEach((c, i) => {
        checkMore(`${argument}[${i}].more`, (c as Partial<CatalogScenario> | null)?.more);
      });
    },
  });
  arg("write", is.function, write);
  const seeds = options.seeds ?? DEFAULT_SEEDS;
  const scenarios = options.scenarios ?? catalog;
  const results: DemoResult[] = [];
  for (const scenario of scenarios) {
    for (const row of rowsOf(scenario)) {
      const r = runVariant(scenario, row, seeds);
      results.push(r);
      if (options.json === true || options.quiet === true || r.report === null) continue;
      // A caught bug shows the report that caught it; a failing clean variant shows what it should not have.
      const heading =
        row.expect !== null
          ? `${r.scenario} (${r.variant}): ${r.verdict === "caught" ? "caught" : "MISSED"} by ${r.strategy ?? "?"} in execution ${r.executions}`
          : `${r.scenario} (${r.variant}): FAILED, unexpected report in execution ${r.executions}`;
      const n = r.reports.length;
      const shown = options.allReports === true ? r.reports : [r.report];
      const more = options.allReports !== true && n > 1 ? `\n(1 of ${n} reports of this execution shown; --all-reports shows them all)` : "";
      write(`${heading}\n${shown.map((rep) => formatReport(rep)).join("\n")}${more}\n\n`);
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
      const fixed = results.filter((r) => r.variant === "fixed").length;
      const more = results.length - buggy - fixed;
      const moreCaught = results.filter((r) => r.variant !== "buggy" && r.variant !== "fixed" && r.verdict === "caught").length;
      const extra = more === 0 ? "" : `; ${plural(more, "further variant")} as expected (${moreCaught} caught, ${more - moreCaught} passed)`;
      write(
        `\nOK: ${plural(buggy, "buggy variant")} caught; ${plural(fixed, "fixed variant")} passed${extra} ` +
          `(every schedule, or ${plural(seeds, "execution")}, whichever came first).\n`,
      );
    } else {
      write(`\nFAILED:\n${bad.map((r) => `  ${complaint(r, seeds)}`).join("\n")}\n`);
    }
  }
  return bad.length === 0 ? 0 : 1;
}
