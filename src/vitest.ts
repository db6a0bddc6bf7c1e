/**
 * gpuvm-sim/vitest: exploration as one line of a Vitest suite.
 *
 *   import { exploreTest } from "gpuvm-sim/vitest";
 *
 *   exploreTest("unlink under the resv lock is safe", fixedScenario);
 *   exploreTest("the naive walk is caught", buggyScenario, { expect: "use-after-free" });
 *
 * Importing this module (`import "gpuvm-sim/vitest"`, in a test file or in a
 * Vitest `setupFiles` entry) registers two matchers with Vitest's `expect`;
 * `expect.extend(matchers)` or `installMatchers()` registers them explicitly.
 * Both take a scenario, which they explore, or the result of `explore()`, so
 * one exploration can be asserted on twice:
 *
 *   expect(scenario).toPassExploration({ executions: 500 });
 *   expect(scenario).toFindReport("deadlock", { checks: { lockdep: false } });
 *   const result = explore(scenario, { stopAtFirst: false });
 *   expect(result).not.toPassExploration();
 *   expect(result).toFindReport("lock-order-cycle");
 *
 * A failing assertion prints each failure's report (which ends with the
 * `replay(scenario, "<token>")` line that reproduces it) and the
 * exploration's statistics: executions, strategy, and what stopped it.
 *
 * Vitest is an optional peer dependency: only this entry point imports it.
 * It is ESM-only, so this entry point is too in practice.
 */
import { expect, test, type MatcherState } from "vitest";
import { ArgumentError } from "./errors.js";
import { explore, type ExploreOptions, type ExploreResult, type ExploreStrategy, type Failure, type Scenario } from "./explore/explore.js";
import { formatFailure, formatFailures, formatStatistics, plural } from "./explore/format.js";
import type { Report, ReportKind } from "./report/report.js";
import { EXPLORE_OPTIONS, resolveOptions } from "./explore/options.js";
import { scenarioName } from "./explore/execution.js";
import { registeredReportKinds } from "./report/registry.js";
import "./report/kinds.js";
import { arg, describeValue, is, type Spec } from "./validate.js";
import type { AllocationRun } from "./kernel/alloc-failure.js";

export { formatStatistics } from "./explore/format.js";

/** Options of exploreTest(): explore()'s, and what the test expects. */
export type ExploreTestOptions = ExploreOptions & {
  /**
   * The report kind exploration must find (default: none, and then the
   * scenario must pass its whole budget without a report).
   */
  readonly expect?: ReportKind;
  /**
   * Vitest's timeout for the test, in milliseconds (default: Vitest's
   * `testTimeout`, or `timeMs` plus 10 seconds when `timeMs` is set, since
   * shrinking a failure runs after the exploration budget).
   */
  readonly timeout?: number;
};

/** The result of a matcher, as Vitest reads it. */
export interface MatcherResult {
  readonly pass: boolean;
  readonly message: () => string;
}

/** What the matchers accept: a scenario to explore, or what explore() returned. */
export type ExplorationSubject = Scenario | ExploreResult;

/** The rules of exploreTest()'s options: explore()'s, `expect` and `timeout`. */
const EXPLORE_TEST_OPTIONS: Spec<ExploreTestOptions> = {
  ...EXPLORE_OPTIONS,
  expect: (argument, v) => {
    if (typeof v !== "string" || !registeredReportKinds().includes(v)) {
      throw new ArgumentError(argument, `must be the name of a report kind (such as "deadlock"), got ${describeValue(v)}`);
    }
  },
  timeout: is.positiveInteger,
};

/** Slack on top of `timeMs` for the test's timeout: the last execution and shrinking. */
const TIMEOUT_SLACK_MS = 10_000;

/**
 * Register a Vitest test that explores `scenario`: it passes when no
 * execution files a report or, with `expect: kind`, when exploration finds a
 * report of that kind.
 *
 * Its arguments are checked when it is called (when the test file is
 * collected), not when the test runs: a bad one is an error of the file.
 *
 * @throws ArgumentError naming `name` (not a non-empty string), `scenario`
 *   (not a function), `options` (not an object), or the option at fault, as
 *   explore() names them; `expect` when it is not a report kind's name;
 *   ArgumentRangeError naming `timeout` when it is not a positive integer.
 *   A scenario that returns a promise or spawns no task fails the test with
 *   explore()'s ArgumentError naming `scenario`.
 */
export function exploreTest(name: string, scenario: Scenario, options: ExploreTestOptions = {}): void {
  is.nonEmptyString("name", name);
  if (typeof scenario !== "function") throw new ArgumentError("scenario", `must be a function (sim) => void, got ${describeValue(scenario)}`);
  resolveOptions(options, EXPLORE_TEST_OPTIONS);
  const { expect: kind, timeout, ...exploreOptions } = options;
  const ms = timeout ?? (exploreOptions.timeMs === undefined ? undefined : exploreOptions.timeMs + TIMEOUT_SLACK_MS);
  // The test body runs later, from Vitest: a failure's stack points here instead, at the exploreTest() line.
  const site = new Error("exploreTest");
  test(
    name,
    () => {
      installMatchers();
      try {
        if (kind === undefined) expect(scenario).toPassExploration(exploreOptions);
        else expect(scenario).toFindReport(kind, exploreOptions);
      } catch (e) {
        if (e instanceof Error && site.stack !== undefined) e.stack = [`${e.name}: ${e.message}`, ...site.stack.split("\n").slice(2)].join("\n");
        throw e;
      }
    },
    ms,
  );
}

function isExploreResult(x: unknown): x is ExploreResult {
  if (typeof x !== "object" || x === null) return false;
  const r = x as Partial<Record<keyof ExploreResult, unknown>>;
  return typeof r.executions === "number" && Array.isArray(r.failures) && typeof r.stoppedBy === "string";
}

/** The strategy as the user wrote it: `portfolio`, `pct`, `dfs {"preemptionBound":2}`. */
function describeStrategy(s: ExploreStrategy | undefined): string {
  if (s === undefined) return "portfolio";
  if (typeof s === "string") return s;
  const { name, ...rest } = s;
  return Object.keys(rest).length === 0 ? name : `${name} ${JSON.stringify(rest)}`;
}

/** What a matcher explored, and how to name it in messages. */
interface Explored {
  readonly result: ExploreResult;
  /** `scenario abba`, or `the exploration result`. */
  readonly subject: string;
  /** The strategy, when the matcher ran explore() itself (an ExploreResult does not record it). */
  readonly strategy: string | null;
}

function exploreSubject(received: unknown, options: ExploreOptions | undefined, defaults: ExploreOptions): Explored {
  if (isExploreResult(received)) {
    if (options !== undefined) {
      throw new ArgumentError("options", "apply only when the received value is a scenario; an ExploreResult has already been explored");
    }
    return { result: received, subject: "the exploration result", strategy: null };
  }
  if (typeof received !== "function") {
    throw new ArgumentError("received", `expect() must be given a scenario (sim) => void or an ExploreResult, got ${received === null ? "null" : typeof received}`);
  }
  const scenario = received as Scenario;
  const opts: ExploreOptions = { ...defaults, ...options };
  const name = scenarioName(scenario, opts.name);
  return { result: explore(scenario, opts), subject: `scenario ${name}`, strategy: describeStrategy(opts.strategy) };
}

/** The first report of `kind` among the failures, with its failure. */
function findKind(result: ExploreResult, kind: ReportKind): { failure: Failure; index: number; report: Report } | null {
  for (const [index, failure] of result.failures.entries()) {
    const report = failure.reports.find((r) => r.kind === kind);
    if (report !== undefined) return { failure, index, report };
  }
  return null;
}

/**
 * `expect(scenario).toPassExploration(options?)`: explore (or take an
 * ExploreResult) and pass when no execution filed a report.
 */
function toPassExploration(this: MatcherState, received: unknown, options?: ExploreOptions): MatcherResult {
  const x = exploreSubject(received, options, {});
  const { failures } = x.result;
  const pass = failures.length === 0;
  const stats = formatStatistics(x.result, x.strategy);
  return {
    pass,
    message: () =>
      pass
        ? `expected ${x.subject} to fail exploration, but no execution filed a report.\n\n${stats}`
        : `expected ${x.subject} to pass exploration, but it found ${plural(failures.length, "distinct failure")}:\n\n${formatFailures(failures)}\n\n${stats}`,
  };
}

/**
 * `expect(scenario).toFindReport(kind, options?)`: explore (stopping at the
 * first failure unless `stopAtFirst: false`), or take an ExploreResult, and
 * pass when a failing execution filed a report of `kind`.
 */
function toFindReport(this: MatcherState, received: unknown, kind: ReportKind, options?: ExploreOptions): MatcherResult {
  if (typeof (kind as unknown) !== "string") throw new ArgumentError("kind", 'must be a report kind such as "deadlock"');
  const x = exploreSubject(received, options, { stopAtFirst: true });
  const found = findKind(x.result, kind);
  const stats = formatStatistics(x.result, x.strategy);
  const { failures } = x.result;
  const message = (): string => {
    if (found !== null) {
      return `expected ${x.subject} not to find a ${kind} report, but it did:\n\n${formatFailure(found.failure, found.index, failures.length, found.report)}\n\n${stats}`;
    }
    if (failures.length === 0) return `expected ${x.subject} to find a ${kind} report, but no execution filed a report.\n\n${stats}`;
    const kinds = [...new Set(failures.map((f) => f.report.kind))].join(", ");
    const hint =
      x.result.stoppedBy === "failure"
        ? `\nExploration stopped at the first failure; pass { stopAtFirst: false } to keep looking for a ${kind} report.`
        : "";
    return `expected ${x.subject} to find a ${kind} report, but it found ${kinds} instead:\n\n${formatFailures(failures)}\n\n${stats}${hint}`;
  };
  return { pass: found !== null, message };
}

/**
 * The usual check of `forEachAllocationFailure()` (from `gpuvm-sim`), for
 * its `check`: no run filed a report or threw; the clean run's result is
 * one `succeeded` accepts; a run with a failed allocation whose result
 * `succeeded` does not accept left `snapshot()` exactly as before (Vitest's
 * `toEqual`). A run whose failed allocation was absorbed (the result still
 * succeeded) may change the state as the clean run does.
 *
 * ```ts
 * forEachAllocationFailure({ ..., check: expectUnchangedOnFailure((r) => r === "ok") });
 * ```
 *
 * @throws ArgumentError naming `succeeded` (not a function). The check it
 *   returns fails through Vitest's `expect`, naming the run.
 */
export function expectUnchangedOnFailure<R>(succeeded: (result: R) => boolean): (run: AllocationRun<R>) => void {
  arg("succeeded", is.function, succeeded);
  return (run) => {
    const what = run.failed === null ? "the clean run" : `the run failing allocation ${run.failed}`;
    expect(
      run.reports.map((r) => r.kind),
      `reports in ${what}`,
    ).toEqual([]);
    expect(run.error, `exception in ${what}`).toBeUndefined();
    if (run.failed === null) expect(succeeded(run.result as R), "the clean run must succeed").toBe(true);
    else if (!succeeded(run.result as R)) expect(run.after, `state after ${what}`).toEqual(run.before);
  };
}

/** The matchers, for `expect.extend(matchers)`. */
export const matchers = { toPassExploration, toFindReport };

/** Register the matchers with Vitest's `expect`. Idempotent; importing this module already does it. */
export function installMatchers(): void {
  expect.extend(matchers);
}

installMatchers();

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a merged declaration repeats Vitest's type parameter
  interface Assertion<T> {
    /**
     * Explore the scenario (or take an ExploreResult) and pass when no
     * execution filed a report. Options are explore()'s, for a scenario only.
     */
    toPassExploration(options?: ExploreOptions): void;
    /**
     * Explore the scenario, stopping at the first failure unless
     * `stopAtFirst: false` (or take an ExploreResult), and pass when a failing
     * execution filed a report of `kind`.
     */
    toFindReport(kind: ReportKind, options?: ExploreOptions): void;
  }
  interface AsymmetricMatchersContaining {
    toPassExploration(options?: ExploreOptions): unknown;
    toFindReport(kind: ReportKind, options?: ExploreOptions): unknown;
  }
}
