/**
 * Collecting Sims that cannot hide a failed assertion.
 *
 * A Sim with `onReport: "collect"` turns an exception thrown inside a task
 * (a failed `expect` among them) into a `task-exception` report and goes
 * on, so an assertion inside a task could fail without failing the test.
 * The setup file (test/support/setup.ts) watches every Sim a test runs
 * (`run()` or `runAll()`) and, after the test, fails it if one of them
 * collected a `task-exception` report, unless the test said it expects them
 * (`expectTaskExceptions(sim)`, or `collectingSim(..., { taskExceptions:
 * "expected" })`).
 *
 * `collectingSim()` is the usual way to make one: collecting, round-robin,
 * with a fresh Lockdep, unless `options` says otherwise.
 */
import { Lockdep, Sim, type SimOptions, type TaskExceptionReport } from "../../src/index.js";

const watched = new Set<Sim>();
const expected = new WeakSet<Sim>();

/** What a collecting Sim may see. */
export interface CollectingOptions {
  /** `"expected"`: the test asserts its own task-exception reports. Default: any fails the test. */
  readonly taskExceptions?: "fail" | "expected";
}

/** A Sim with `onReport: "collect"`, round-robin scheduling and a fresh Lockdep, unless `options` says otherwise. */
export function collectingSim(options: SimOptions = {}, how: CollectingOptions = {}): Sim {
  const sim = new Sim({ lockdep: new Lockdep(), onReport: "collect", strategy: "round-robin", ...options });
  if (how.taskExceptions === "expected") expected.add(sim);
  watched.add(sim);
  return sim;
}

/** The test asserts `sim`'s task-exception reports itself: they do not fail it. */
export function expectTaskExceptions(sim: Sim): Sim {
  expected.add(sim);
  return sim;
}

/** @internal For the setup file: watch a Sim that ran. */
export function watchSim(sim: Sim): void {
  watched.add(sim);
}

/** @internal For the setup file: forget the Sims watched so far, and throw if one of them saw an unexpected task exception. */
export function checkCollectingSims(): void {
  const sims = [...watched];
  watched.clear();
  for (const sim of sims) {
    if (expected.has(sim)) continue;
    const r = sim.reports.find((x): x is TaskExceptionReport => x.kind === "task-exception");
    if (r !== undefined) {
      throw new Error(
        `a task of a collecting Sim threw (unexpected task-exception) in ${r.task ?? "(setup)"}: ${r.error}; ` +
          "if the test expects it, mark the Sim with expectTaskExceptions(sim) (test/support/collecting-sim.ts)",
      );
    }
  }
}
