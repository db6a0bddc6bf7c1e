/**
 * Allocation-failure coverage: prove that an operation that allocates
 * either succeeds or leaves all state as it was, by failing each of its
 * allocations in turn.
 *
 * Mirrors: nothing in the kernel; it is what the kernel's fault injection
 *   (fail-nth) is used for by hand, run over every allocation of one
 *   operation.
 * Ownership: none; each run builds its own world with the caller's
 *   `setup()`, and the Sims stay the caller's.
 * Locking: none; call it outside tasks (it runs each world's tasks itself).
 *
 * `forEachAllocationFailure(testCase)` runs the operation once with no
 * fault to count the allocations it makes (kmalloc, kmallocObject and the
 * library's memory charges all count), then once per allocation n = 1 ..
 * count, each time in a fresh world with that one allocation failing (the
 * Sim's fail-nth, offset past whatever the setup allocated). Every run, the
 * clean one first, goes to `testCase.check(run)` with the state captured
 * before and after the operation, its result and its reports. It needs no
 * test framework; `expectUnchangedOnFailure()` of `gpuvm-sim/vitest` is
 * the usual check. See docs/memory.md "Proving an operation fails cleanly".
 */
import { ArgumentError } from "../errors.js";
import type { Report } from "../report/report.js";
import { checkOptions, describeValue, is, type Spec } from "../validate.js";
import type { Effect } from "./effect.js";
import { configureMemory, memoryStats, type MemoryOptions } from "./memory.js";
import { Sim } from "./sim.js";

/** One run of the operation under test. */
export interface AllocationRun<R> {
  /** Which allocation of the operation was made to fail (1-based), or null for the clean run. */
  readonly failed: number | null;
  /** What the body returned (undefined if it threw or did not finish). */
  readonly result: R | undefined;
  /** The body's exception, if it threw (else undefined). */
  readonly error: unknown;
  /** `snapshot()` before the body ran. */
  readonly before: unknown;
  /** `snapshot()` after the run ended. */
  readonly after: unknown;
  /** Reports filed by the run (the body's, and the setup's). */
  readonly reports: readonly Report[];
  /** The run's Sim. */
  readonly sim: Sim;
}

/** Memory options of an {@link AllocationFailureCase}: a Sim's, without `fault` (the runner sets `fault.failNth`). */
export type AllocationFailureMemory = Omit<MemoryOptions, "fault">;

/** The operation under test and how to look at the world. */
export interface AllocationFailureCase<W, R> {
  /**
   * Build a fresh Sim that collects reports (`onReport: "collect"`) and the
   * world the body works on; the same every time (it runs count + 1 times).
   * It may run tasks of its own.
   */
  readonly setup: () => { sim: Sim; world: W };
  /** Memory options besides the fault (a limit, kswapd), given to configureMemory() in each run. */
  readonly memory?: AllocationFailureMemory;
  /** The operation: a generator function, run as one task named `body`. */
  readonly body: (world: W) => Generator<Effect, R, unknown>;
  /** The state to compare: plain data (compared by value by the usual check). */
  readonly snapshot: (world: W, sim: Sim) => unknown;
  /** Called for every run, the clean one first; throws to fail. */
  readonly check: (run: AllocationRun<R>) => void;
}

const MEMORY_SPEC: Spec<AllocationFailureMemory> = { limitPages: is.count, kswapd: is.boolean, watermarkPages: is.count };

const CASE_SPEC: Spec<AllocationFailureCase<unknown, unknown>> = {
  setup: is.function,
  memory: is.options(MEMORY_SPEC),
  body: is.function,
  snapshot: is.function,
  check: is.function,
};

const REQUIRED = ["setup", "body", "snapshot", "check"] as const;

function setupWorld<W, R>(testCase: AllocationFailureCase<W, R>): { sim: Sim; world: W } {
  const built = testCase.setup() as unknown;
  const b = built as { sim?: unknown; world?: unknown } | null;
  if (typeof b !== "object" || b === null || !(b.sim instanceof Sim)) {
    throw new ArgumentError("testCase.setup", `must return { sim, world } with a Sim, got ${describeValue(built)}`);
  }
  if (b.sim.onReport !== "collect") {
    throw new ArgumentError("testCase.setup", `must build a Sim with onReport: "collect" (so a report of a run reaches check()), got onReport: ${describeValue(b.sim.onReport)}`);
  }
  return built as { sim: Sim; world: W };
}

function runOnce<W, R>(testCase: AllocationFailureCase<W, R>, failed: number | null): { run: AllocationRun<R>; allocations: number } {
  const { sim, world } = setupWorld(testCase);
  const base = memoryStats(sim).allocations;
  configureMemory(sim, { ...(testCase.memory ?? {}), ...(failed === null ? {} : { fault: { failNth: base + failed } }) });
  const before = testCase.snapshot(world, sim);
  const task = sim.spawn("body", "process", () => testCase.body(world));
  sim.runAll();
  const run: AllocationRun<R> = {
    failed,
    result: task.state === "done" && task.error === undefined ? (task.result as R) : undefined,
    error: task.error,
    before,
    after: testCase.snapshot(world, sim),
    reports: sim.reports,
    sim,
  };
  return { run, allocations: memoryStats(sim).allocations - base };
}

/**
 * Run `testCase.body` cleanly, then once per allocation it made with that
 * one allocation failing, each in a fresh world from `testCase.setup()`;
 * hand every run to `testCase.check`.
 *
 * ```ts
 * const n = forEachAllocationFailure({
 *   setup: () => { const sim = new Sim({ onReport: "collect" }); return { sim, world: new DmaResv(sim) }; },
 *   *body(resv) { yield* resv.lock(null); const r = yield* resv.reserveFences(4); yield* resv.unlock(); return r; },
 *   snapshot: (resv) => resv.reservedSlots,
 *   check: expectUnchangedOnFailure((r) => r === "ok"),
 * });
 * ```
 *
 * A body that allocates a different number of times after an earlier
 * allocation failed is fine: only the clean run's count matters.
 *
 * @returns how many allocations the clean run made.
 * @throws ArgumentError naming `testCase` (not an object),
 *   `testCase.<key>` (an unknown key, or `setup`, `body`, `snapshot` or
 *   `check` missing or no function), `testCase.memory` or one of its keys
 *   (not memory options; `fault` is the runner's), `testCase.setup` when it
 *   returns no `{ sim, world }` or a Sim that does not collect reports.
 *   configureMemory()'s errors for a bad combination of memory options
 *   (before any body ran). Whatever `check` throws, at once.
 */
export function forEachAllocationFailure<W, R>(testCase: AllocationFailureCase<W, R>): number {
  if ((testCase as AllocationFailureCase<W, R> | undefined) === undefined) throw new ArgumentError("testCase", "must be an object with setup, body, snapshot and check, got undefined");
  checkOptions("testCase", testCase, CASE_SPEC as Spec<AllocationFailureCase<W, R>>);
  for (const key of REQUIRED) {
    if ((testCase as Partial<AllocationFailureCase<W, R>>)[key] === undefined) throw new ArgumentError(`testCase.${key}`, "is required: a function");
  }
  const clean = runOnce(testCase, null);
  testCase.check(clean.run);
  for (let n = 1; n <= clean.allocations; n++) testCase.check(runOnce(testCase, n).run);
  return clean.allocations;
}
