/**
 * Allocation-failure coverage: prove that a library function that allocates
 * either succeeds or leaves all state as it was, by failing each of its
 * allocations in turn.
 *
 * `forEachAllocationFailure(c)` runs the operation under test once with no
 * fault to count the allocations it makes (kmalloc, kmallocObject and the
 * library's memCharge all count), then once per allocation n = 1 .. count,
 * each time in a fresh world with that one allocation failing (the Sim's
 * fail-nth, offset past whatever the setup allocated). Every run, the
 * clean one included, goes to `c.check(run)` with the state captured
 * before and after the operation, and its result; the usual check is "if
 * the operation failed, `after` equals `before`" (`expectUnchangedOnFailure`
 * does that). It returns the number of allocations.
 *
 * How to use it for a library function (dma_resv_reserve_fences, drm_exec's
 * object array, ...):
 *
 *   const n = forEachAllocationFailure({
 *     setup: () => { const sim = collectingSim(); return { sim, world: { resv: new DmaResv(sim) } }; },
 *     *body({ resv }) { yield* resv.lock(null); const r = yield* resv.reserveFences(4); yield* resv.unlock(); return r; },
 *     snapshot: ({ resv }) => ({ slots: resv.reservedSlots }),
 *     check: expectUnchangedOnFailure((r) => r === "ok"),
 *   });
 *   expect(n).toBeGreaterThan(0);
 *
 * `setup` must build the same world each time (it runs count + 1 times) and
 * may run tasks of its own; `body` runs as one task named `body`; the Sim
 * must collect reports (collectingSim) so a report in the body is seen by
 * `check` rather than thrown. A body that allocates a different number of
 * times when an earlier allocation failed is fine: only the clean run's
 * count matters, and each later run fails one of its allocations.
 */
import { expect } from "vitest";
import { configureMemory, memoryStats, type Effect, type MemoryOptions, type Report, type Sim } from "../../src/index.js";

/** One run of the operation under test. */
export interface AllocationRun<R> {
  /** Which allocation of the operation was made to fail (1-based), or null for the clean run. */
  readonly failed: number | null;
  /** What the body returned (undefined if it threw or did not finish). */
  readonly result: R | undefined;
  /** The body's exception, if it threw. */
  readonly error: unknown;
  /** snapshot() before the body ran, and after. */
  readonly before: unknown;
  readonly after: unknown;
  /** Reports filed by the run (the body's, and the setup's). */
  readonly reports: readonly Report[];
  readonly sim: Sim;
}

/** The operation under test and how to look at the world. */
export interface AllocationFailureCase<W, R> {
  /** Build a fresh Sim (collecting reports) and world; the same every time. */
  setup(): { sim: Sim; world: W };
  /** Memory options besides the fault (a limit, kswapd); the helper adds `fault.failNth`. */
  readonly memory?: Omit<MemoryOptions, "fault">;
  /** The operation, run as a task. */
  body(world: W): Generator<Effect, R, unknown>;
  /** The state to compare: plain data (compared with toEqual). */
  snapshot(world: W, sim: Sim): unknown;
  /** Called for every run, the clean one first. */
  check(run: AllocationRun<R>): void;
}

function runOnce<W, R>(c: AllocationFailureCase<W, R>, failed: number | null): { run: AllocationRun<R>; allocations: number } {
  const { sim, world } = c.setup();
  const base = memoryStats(sim).allocations;
  configureMemory(sim, { ...(c.memory ?? {}), ...(failed === null ? {} : { fault: { failNth: base + failed } }) });
  const before = c.snapshot(world, sim);
  const task = sim.spawn("body", "process", () => c.body(world));
  sim.runAll();
  const run: AllocationRun<R> = {
    failed,
    result: task.state === "done" && task.error === undefined ? (task.result as R) : undefined,
    error: task.error,
    before,
    after: c.snapshot(world, sim),
    reports: sim.reports,
    sim,
  };
  return { run, allocations: memoryStats(sim).allocations - base };
}

/** Run `c` cleanly, then once per allocation with that one failing; returns how many allocations the clean run made. */
export function forEachAllocationFailure<W, R>(c: AllocationFailureCase<W, R>): number {
  const clean = runOnce(c, null);
  c.check(clean.run);
  for (let n = 1; n <= clean.allocations; n++) c.check(runOnce(c, n).run);
  return clean.allocations;
}

/**
 * The usual check: no report and no exception in any run; a run whose
 * result `succeeded` does not accept left the state exactly as before.
 */
export function expectUnchangedOnFailure<R>(succeeded: (result: R) => boolean): (run: AllocationRun<R>) => void {
  return (run) => {
    const what = run.failed === null ? "the clean run" : `the run failing allocation ${run.failed}`;
    expect(run.reports.map((r) => r.kind), `reports in ${what}`).toEqual([]);
    expect(run.error, `exception in ${what}`).toBeUndefined();
    if (run.failed === null) expect(succeeded(run.result as R), "the clean run must succeed").toBe(true);
    else if (!succeeded(run.result as R)) expect(run.after, `state after ${what}`).toEqual(run.before);
  };
}
