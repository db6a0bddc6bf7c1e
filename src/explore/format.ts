/**
 * Text for an ExploreResult: the one formatter shared by the CLI and the
 * Vitest integration (gpuvm-sim/vitest). Reports themselves are formatted by
 * src/report/text.ts; this adds the lines around them.
 */
import type { Report } from "../report/report.js";
import { formatReport } from "../report/text.js";
import type { ExploreResult } from "./explore.js";
import type { Failure } from "./failure.js";

/** `n noun`, with an `s` unless n is 1. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * One line naming a failure: the report's kind, which strategy found it in
 * which execution, and what shrinking did. `index` is 0-based; `report` is
 * one of the failure's reports (default its first).
 */
export function failureHeading(f: Failure, index: number, count: number, report: Report = f.report): string {
  const switches = (n: number) => `${n} context switch${n === 1 ? "" : "es"}`;
  const shrunk =
    f.shrunk === null
      ? ""
      : f.shrunk.from === f.shrunk.to
        ? `, ${switches(f.shrunk.to)} (shrinking found no fewer)`
        : `, shrunk from ${switches(f.shrunk.from)} to ${f.shrunk.to}`;
  const which = f.reports.length > 1 && report !== f.report ? ` (report ${f.reports.indexOf(report) + 1} of ${f.reports.length} in that execution)` : "";
  return `Failure ${index + 1} of ${count}: ${report.kind}, found by ${f.strategy} at execution ${f.execution}${shrunk}${which}`;
}

/** One failure: its heading, then its report (which ends with its replay line). */
export function formatFailure(f: Failure, index: number, count: number, report: Report = f.report): string {
  return `${failureHeading(f, index, count, report)}\n${formatReport(report)}`;
}

/** Every failure, separated by a blank line. */
export function formatFailures(failures: readonly Failure[]): string {
  return failures.map((f, i) => formatFailure(f, i, failures.length)).join("\n\n");
}

const STOPPED_BY: Record<ExploreResult["stoppedBy"], string> = {
  failure: "stopped at the first failure",
  executions: "used its whole budget of executions",
  time: "ran out of time (timeMs)",
  exhausted: "explored every schedule (DFS exhausted)",
  "step-bound": "DFS ran out of schedules, but some executions reached maxSteps: not a proof (raise maxSteps)",
};

function stepsText(r: ExploreResult): string {
  return `steps min ${r.steps.min}, mean ${r.steps.mean.toFixed(1)}, max ${r.steps.max}; ${r.timeMs.toFixed(0)} ms`;
}

/**
 * The statistics of an exploration, in one paragraph (for test messages):
 * executions, strategy, what stopped it, and which option to raise when a
 * limit cut it short. `strategy` is the strategy as the user wrote it, or
 * null when not known (an ExploreResult does not record how it was asked).
 */
export function formatStatistics(result: ExploreResult, strategy: string | null = null): string {
  const lines = [
    `Exploration: ${plural(result.executions, "execution")}, ${result.failed} failed, ${plural(result.failures.length, "distinct failure")}; ` +
      `strategy ${strategy ?? "(not recorded in an ExploreResult)"}; stopped by ${result.stoppedBy} (${STOPPED_BY[result.stoppedBy]}); ` +
      `${stepsText(result)}.`,
  ];
  if (result.stoppedBy === "time") lines.push("The time budget ran out first: raise timeMs (or lower executions) to explore the whole budget.");
  if (result.stepBoundHits > 0) {
    lines.push(`${plural(result.stepBoundHits, "execution")} hit maxSteps before finishing and ${result.stepBoundHits === 1 ? "was" : "were"} not checked to the end: raise maxSteps.`);
  }
  return lines.join("\n");
}

/**
 * The statistics of an exploration of one named scenario, for the command
 * line: a verdict line, then a line per limit that cut the run short, naming
 * the command-line flag to raise.
 */
export function formatSummary(name: string, r: ExploreResult, strategy: string): string {
  const verdict =
    r.failures.length === 0
      ? `passed ${plural(r.executions, "execution")}`
      : `FAILED, ${plural(r.failures.length, "distinct failure")} in ${plural(r.executions, "execution")} (${r.failed} failed)`;
  const lines = [`${name}: ${verdict}; strategy ${strategy}; stopped by ${r.stoppedBy}${r.exhausted ? " (DFS explored every schedule)" : ""}; ${stepsText(r)}`];
  if (r.stoppedBy === "time") lines.push("  the time budget ran out first: raise --time-ms to run every execution");
  if (r.stepBoundHits > 0) lines.push(`  ${plural(r.stepBoundHits, "execution")} hit --max-steps before finishing: raise --max-steps`);
  return lines.join("\n");
}
