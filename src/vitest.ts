/**
 * gpuvm-sim/vitest: exploration as one line of a Vitest suite.
 *
 *   import { exploreTest } from "gpuvm-sim/vitest";
 *
 *   exploreTest("unlink under the resv lock is safe", fixedScenario);
 *   exploreTest("the naive walk is caught", buggyScenario, { expect: "use-after-free" });
 *
 * Importing this module (`import "gpuvm-sim/vitest"`, in a test file or in a
 * Vitest `setupFiles` entry) registers two exploration matchers with Vitest's `expect`;
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
 * It registers five lifetime matchers too, for the state a driver model's
 * unit test checks after a run (docs/lifetimes.md):
 *
 *   expect(bo).toHaveRefcount(2);      // a Kref, `obj.refcount`, or a SimObject's only Kref
 *   expect(bo).toBeFreed();            // or toBeAlive()
 *   expect(vm).toSatisfyInvariants();  // anything with checkInvariants(): readonly unknown[]
 *   expect(sim).toHaveNoLeaks();       // sim.teardown() files nothing
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
import "./report/kinds.js";
import { arg, describeValue, is, isInstance, type Spec } from "./validate.js";
import type { AllocationRun } from "./kernel/alloc-failure.js";
import { Kref, REFCOUNT_SATURATED } from "./kernel/kref.js";
import { noteTouched, siteRef, SimObject, type Site } from "./kernel/heap.js";
import { Sim } from "./kernel/sim.js";
import { formatReport } from "./report/text.js";
import { definitionOf, registeredReportKinds } from "./report/registry.js";
import { siteRow, taskName } from "./report/frame.js";
import type { RefEvent, SiteRef } from "./report/report.js";

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

// ---------------------------------------------------------------------------
// Lifetime matchers: refcounts, frees, invariants and leaks, for the unit
// tests of a driver model. Each reads the simulated state without changing
// it and without filing a report (a matcher is an observer: asking whether
// a freed object is freed is not a use-after-free), and refuses a value of
// the wrong shape with an ArgumentError naming `received` and what it got,
// whether or not the assertion is negated.
// ---------------------------------------------------------------------------

/** What `toSatisfyInvariants` accepts: anything with a `checkInvariants()` that returns its violations. */
export interface InvariantSubject {
  /** The violations found, as strings or reports; empty when all hold. */
  checkInvariants(): readonly unknown[];
  /** Optional: the same violations, with no side effect (no report filed); preferred when present. */
  invariantViolations?(): readonly unknown[];
}

/** A value as the lifetime matchers name it: `Bo#3 "bo0"`, `the refcount of Bo#3 "bo0"`, `Sim#2 (seed 0)`, `a VaTree`. */
function subjectName(x: unknown): string {
  if (isInstance(x, SimObject)) return x.label;
  if (isInstance<Kref>(x, Kref)) return `the refcount of ${x.owner.label}`;
  if (isInstance(x, Sim)) return x.label;
  return describeValue(x);
}

/** An own data property of `x` (a getter is not run: on a freed object it would be a use-after-free). */
function ownValue(x: object, key: string): unknown {
  const d = Object.getOwnPropertyDescriptor(x, key);
  return d !== undefined && "value" in d ? (d.value as unknown) : undefined;
}

/** The Kref toHaveRefcount() reads: a Kref, the `refcount` field, or a SimObject's one embedded Kref. */
function krefOf(received: unknown): Kref {
  if (isInstance<Kref>(received, Kref)) return received;
  const got = describeValue(received);
  if (typeof received !== "object" || received === null) {
    throw new ArgumentError("received", `expect() must be given a Kref or an object with a 'refcount' Kref, got ${got}`);
  }
  const own = ownValue(received, "refcount");
  if (isInstance<Kref>(own, Kref)) return own;
  if (isInstance(received, SimObject)) {
    const krefs = received.krefs ?? [];
    if (krefs.length === 1) return krefs[0] as Kref;
    throw new ArgumentError(
      "received",
      `${received.label} has no 'refcount' Kref field and ${krefs.length === 0 ? "no Kref at all" : `${krefs.length} Krefs`}: pass the Kref itself (expect(obj.someKref).toHaveRefcount(n))`,
    );
  }
  // Not a SimObject: a plain wrapper may expose its refcount through a getter.
  const field = (received as { refcount?: unknown }).refcount;
  if (isInstance<Kref>(field, Kref)) return field;
  throw new ArgumentError("received", `expect() must be given a Kref or an object with a 'refcount' Kref, got ${got} whose 'refcount' is ${describeValue(field)}`);
}

/** The SimObject toBeFreed()/toBeAlive() look at: a SimObject, or a Kref's owner. */
function simObjectOf(received: unknown): SimObject {
  if (isInstance(received, SimObject)) return received;
  if (isInstance<Kref>(received, Kref)) return received.owner;
  throw new ArgumentError("received", `expect() must be given a SimObject (or a Kref, for its owner), got ${describeValue(received)}`);
}

/** `(setup) at step 0 (kref_init)`. */
function siteText(site: SiteRef): string {
  return `${taskName(site.task)} at step ${site.step} (${site.op})`;
}

/** The count as a message shows it: `2`, or `saturated`. */
function countText(count: number): string {
  return count === REFCOUNT_SATURATED ? "saturated" : String(count);
}

/**
 * The holders of `kref`'s references, one indented line each:
 * `"vm" x2, first taken by t/1 at step 3 (kref_get)`, `1 untagged reference`.
 */
function holderLines(kref: Kref): string[] {
  if (!kref.owner.sim.checks.refcounts) return ["    (holders not tracked: the Sim's refcounts check is off)"];
  if (kref.count <= 0) return [];
  return kref.holderRefs().map((h) => {
    if (h.holder === null) return `    ${plural(h.count, "untagged reference")}`;
    const who = h.count === 1 ? `"${h.holder}"` : `"${h.holder}" x${h.count}`;
    if (h.site === null) return `    ${who}`;
    return `    ${who}, ${h.count === 1 ? "taken" : "first taken"} by ${siteText(h.site)}`;
  });
}

/** `refcount 2, held by:` and the holder lines. */
function refcountLines(kref: Kref): string[] {
  const holders = holderLines(kref);
  const head = `refcount ${countText(kref.count)}`;
  return holders.length === 0 ? [head] : [`${head}, held by:`, ...holders];
}

/** Note a read of `obj` in the running task's footprint (a matcher called inside a task under DFS). */
function noteRead(obj: SimObject | Kref): void {
  const sim = isInstance<Kref>(obj, Kref) ? obj.owner.sim : obj.sim;
  noteTouched(sim, obj, false);
}

/**
 * `expect(obj).toHaveRefcount(n)`: pass when the reference count is `n`.
 * `obj` is a Kref, an object with a `refcount: Kref` field, or a SimObject
 * with exactly one Kref. The message lists the holders by tag, with where
 * each took its reference (Kref's holder tracking, checks.refcounts).
 *
 * @throws ArgumentError naming `received` for a value of another shape;
 *   ArgumentError / ArgumentRangeError naming `count` when it is not a
 *   non-negative safe integer.
 */
function toHaveRefcount(this: MatcherState, received: unknown, count: number): MatcherResult {
  const kref = krefOf(received);
  arg("count", is.count, count);
  noteRead(kref);
  const actual = kref.count;
  const pass = actual === count;
  const name = subjectName(received);
  const owner = kref.owner;
  const freed = owner.life.freeSite === null ? "" : `\n${owner.label} was freed by ${siteText(siteRef(owner.life.freeSite))}.`;
  return {
    pass,
    message: () => {
      const lines = refcountLines(kref);
      const head = pass ? `expected ${name} not to have refcount ${count}, but it does` : `expected ${name} to have refcount ${count}, but it has ${countText(actual)}`;
      const rest = lines.length > 1 ? `:\n${lines.slice(1).join("\n")}` : ".";
      return `${head}${rest}${freed}`;
    },
  };
}

/** Where `obj` was allocated and freed, as report rows. */
function lifeRows(obj: SimObject): string[] {
  const rows = [siteRow("allocated", siteRef(obj.allocSite))];
  const free = obj.life.freeSite;
  if (free !== null) rows.push(siteRow("freed", siteRef(free)));
  return rows;
}

/** Who dropped `obj`'s last reference, from the refcount history (null if it is not in the history). */
function lastPut(obj: SimObject): string | null {
  const events = obj.sim.refHistory(obj);
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as RefEvent;
    if (e.op !== "put-release") continue;
    return `its last reference was dropped by ${taskName(e.task)} at step ${e.step}${e.holder === undefined ? "" : ` (holder "${e.holder}")`}`;
  }
  return null;
}

/** Why a live object is still live: static, embedded, or its refcounts and their holders. */
function whyAlive(obj: SimObject): string[] {
  if (obj.isStatic) return ["It is statically allocated: never freed."];
  const out: string[] = [];
  const container = obj.life.owner;
  if (container !== obj) out.push(`It is embedded in ${container.label}, which is live.`);
  for (const k of container.krefs ?? []) out.push(...refcountLines(k).map((l, i) => (i === 0 ? `${container.label}: ${l}` : l)));
  return out;
}

/**
 * `expect(obj).toBeFreed()`: pass when the SimObject (or its container,
 * for an embedded one) was freed with kfree(). Failing, the message says
 * where it was allocated and who holds it; negated, who freed it and where.
 *
 * @throws ArgumentError naming `received` when it is not a SimObject or a Kref.
 */
function toBeFreed(this: MatcherState, received: unknown): MatcherResult {
  const obj = simObjectOf(received);
  noteRead(obj);
  const pass = obj.life.freeSite !== null;
  return {
    pass,
    message: () => (pass ? freedMessage(obj, `expected ${obj.label} not to be freed, but it was`) : aliveMessage(obj, `expected ${obj.label} to be freed, but it is live`)),
  };
}

/**
 * `expect(obj).toBeAlive()`: pass while the SimObject is not freed. Failing,
 * the message says who freed it and where (and who dropped its last
 * reference, from the refcount history).
 *
 * @throws ArgumentError naming `received` when it is not a SimObject or a Kref.
 */
function toBeAlive(this: MatcherState, received: unknown): MatcherResult {
  const obj = simObjectOf(received);
  noteRead(obj);
  const pass = obj.life.freeSite === null;
  return {
    pass,
    message: () => (pass ? aliveMessage(obj, `expected ${obj.label} not to be alive, but it is`) : freedMessage(obj, `expected ${obj.label} to be alive, but it was freed`)),
  };
}

function freedMessage(obj: SimObject, head: string): string {
  const free = obj.life.freeSite as Site;
  const container = obj.life.owner;
  const via = container === obj ? "" : ` with ${container.label}, which it is embedded in,`;
  const last = lastPut(container);
  return [`${head}${via} by ${siteText(siteRef(free))}${last === null ? "" : `; ${last}`}.`, "", ...lifeRows(obj)].join("\n");
}

function aliveMessage(obj: SimObject, head: string): string {
  return [`${head}.`, "", ...lifeRows(obj), ...whyAlive(obj).map((l) => `  ${l}`)].join("\n");
}

/** One violation as text: a string as it is, a report formatted, anything else as JSON. */
function violationText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null && typeof (v as { kind?: unknown }).kind === "string") {
    try {
      return formatReport(v as Report);
    } catch {
      // A report body without the base fields (step, schedule, replay): its headline, if its kind can draw one.
      try {
        return `${definitionOf(v as Report).headline(v as Report)}\n${jsonText(v)}`;
      } catch {
        return jsonText(v);
      }
    }
  }
  return jsonText(v);
}

function jsonText(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    if (typeof s === "string") return s;
  } catch {
    // fall through: a cycle, a BigInt
  }
  return describeValue(v);
}

/** `  1. text`, continuation lines indented under it. */
function numbered(items: readonly string[]): string {
  return items.map((t, i) => `  ${i + 1}. ${t.split("\n").map((l, j) => (j === 0 || l === "" ? l : `     ${l}`)).join("\n")}`).join("\n");
}

/**
 * `expect(x).toSatisfyInvariants()`: call `x.invariantViolations()` when
 * it has one (a GpuVm: it files no report, so asserting never changes the
 * run), else `x.checkInvariants()` (a VaTree, a driver's own structure),
 * and pass when it returns no violation. The message lists them, numbered: strings as they are,
 * reports in their text form.
 *
 * @throws ArgumentError naming `received` when it has no `checkInvariants`
 *   method, when it is a freed SimObject (checking it would be a
 *   use-after-free), or when `checkInvariants()` returns something other
 *   than an array. An exception thrown by `checkInvariants()` propagates.
 */
function toSatisfyInvariants(this: MatcherState, received: unknown): MatcherResult {
  const name = subjectName(received);
  // Before reading the method: on a freed object, even the lookup goes through the use-after-free trap.
  if (isInstance(received, SimObject) && received.life.freeSite !== null) {
    throw new ArgumentError("received", `${name} was freed by ${siteText(siteRef(received.life.freeSite))}: its invariants cannot be checked (that would be a use-after-free)`);
  }
  // An observer must not change the run it observes: a subject that can list
  // its violations without filing reports (GpuVm.invariantViolations()) is asked that way.
  const subject = typeof received === "object" && received !== null ? (received as Partial<InvariantSubject>) : undefined;
  const check = typeof subject?.invariantViolations === "function" ? subject.invariantViolations : subject?.checkInvariants;
  if (typeof check !== "function") {
    throw new ArgumentError("received", `expect() must be given an object with a checkInvariants() method, got ${name}${typeof received === "object" && received !== null ? " without one" : ""}`);
  }
  const violations = check.call(received) as unknown;
  if (!Array.isArray(violations)) {
    throw new ArgumentError("received", `checkInvariants() of ${name} must return an array of violations, returned ${describeValue(violations)}`);
  }
  const list = violations as readonly unknown[];
  const pass = list.length === 0;
  return {
    pass,
    message: () =>
      pass
        ? `expected ${name} to violate its invariants, but checkInvariants() found none.`
        : `expected ${name} to satisfy its invariants, but checkInvariants() found ${plural(list.length, "violation")}:\n${numbered(list.map(violationText))}`,
  };
}

/**
 * `expect(sim).toHaveNoLeaks()`: run the Sim's end-of-run checks
 * (`sim.teardown()`: the leak scan and those later layers add, such as
 * fences never signalled) and pass when they file no report. The message
 * lists each report in its text form. teardown() runs once per Sim, so a
 * second assertion sees the first one's reports.
 *
 * @throws ArgumentError naming `received` when it is not a Sim, or when
 *   its `checks.lifetimes` is off (the leak scan does not run, so the
 *   matcher could not tell); UsageError from teardown() when called inside
 *   a simulated task.
 */
function toHaveNoLeaks(this: MatcherState, received: unknown): MatcherResult {
  if (!isInstance(received, Sim)) throw new ArgumentError("received", `expect() must be given a Sim, got ${describeValue(received)}`);
  const sim = received;
  if (!sim.checks.lifetimes) {
    throw new ArgumentError("received", `${sim.label} runs with checks.lifetimes off: its teardown does not scan for leaks, so toHaveNoLeaks() cannot tell`);
  }
  const reports = sim.teardown();
  const pass = reports.length === 0;
  const outcome = sim.outcome;
  const hint =
    outcome === "done" ? "" : `\nThe run ended "${outcome}", not "done": what its stuck or stopped tasks still hold is a consequence, not necessarily a second bug.`;
  return {
    pass,
    message: () => {
      if (pass) return `expected ${sim.label} to leak at teardown, but teardown filed no report.`;
      const kinds = [...new Set(reports.map((r) => r.kind))].join(", ");
      return `expected ${sim.label} to have no leaks at teardown, but teardown filed ${plural(reports.length, "report")} (${kinds}):\n\n${reports.map((r) => formatReport(r)).join("\n\n")}${hint}`;
    },
  };
}

/** The matchers, for `expect.extend(matchers)`. */
export const matchers = { toPassExploration, toFindReport, toHaveRefcount, toBeFreed, toBeAlive, toSatisfyInvariants, toHaveNoLeaks };

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
    /**
     * Pass when the reference count of a Kref, of an object's `refcount`
     * Kref, or of a SimObject's only Kref is `count`. The message names the
     * holders by tag and where each took its reference.
     */
    toHaveRefcount(count: number): void;
    /** Pass when the SimObject (or a Kref's owner) was freed; the message says where it was allocated and who holds it. */
    toBeFreed(): void;
    /** Pass while the SimObject (or a Kref's owner) is not freed; the message says who freed it and where. */
    toBeAlive(): void;
    /** Pass when `checkInvariants()` returns no violation; the message lists them. */
    toSatisfyInvariants(): void;
    /** Run the Sim's teardown() and pass when it files no report (no leak, no fence left unsignalled); the message lists the reports. */
    toHaveNoLeaks(): void;
  }
  interface AsymmetricMatchersContaining {
    toPassExploration(options?: ExploreOptions): unknown;
    toFindReport(kind: ReportKind, options?: ExploreOptions): unknown;
    toHaveRefcount(count: number): unknown;
    toBeFreed(): unknown;
    toBeAlive(): unknown;
    toSatisfyInvariants(): unknown;
    toHaveNoLeaks(): unknown;
  }
}
