/**
 * Teardown checks: what `sim.teardown()` checks once a run is over.
 *
 * Mirrors: the end-of-test checks of a debug kernel — kmemleak's scan for
 *   objects nobody freed, and what later layers add (fences never signalled,
 *   pages still mapped for the device).
 * Ownership: one process-wide registry, in registration order. A layer
 *   registers its check once, when its module loads; the check walks the
 *   objects of the Sim it is given, so it needs no per-Sim bookkeeping of its
 *   own (a fence check keeps, or finds among `sim.liveObjects()`, the fences
 *   of that Sim).
 * Locking: none; registration happens at module load, checks run from
 *   `sim.teardown()` outside any task.
 * Invariants: names are unique; checks run in registration order, and a
 *   module that registers a check is loaded after the kernel's, so the
 *   kernel's own checks (`leaks`) come first.
 */
import { ArgumentError } from "../errors.js";
import type { ReportBody } from "../report/report.js";
import type { Checks, Sim } from "./sim.js";

/** One end-of-run check, run by `sim.teardown()`. */
export interface TeardownCheck {
  /** A unique name (`"leaks"`, `"unsignalled-fences"`). */
  readonly name: string;
  /** The Sim check that switches this one off when false (`"lifetimes"` for leaks); omit to always run. */
  readonly gate?: keyof Checks;
  /**
   * Look at `sim` and return the reports to file, in order (an empty array
   * if all is well). It must not change the Sim; the Sim files what it
   * returns and fills in the base fields.
   */
  run(sim: Sim): readonly ReportBody[];
}

const registry: TeardownCheck[] = [];

/**
 * Add a check that every later `sim.teardown()` runs, after the checks
 * registered before it. Returns a function that removes it again (for
 * tests). Throws an ArgumentError if a check of that name is registered.
 */
export function registerTeardownCheck(check: TeardownCheck): () => void {
  if (typeof check.name !== "string" || check.name === "") throw new ArgumentError("name", "must be a non-empty string");
  if (typeof check.run !== "function") throw new ArgumentError("run", "must be a function");
  if (registry.some((c) => c.name === check.name)) throw new ArgumentError("name", `a teardown check named "${check.name}" is already registered`);
  registry.push(check);
  return () => {
    const i = registry.indexOf(check);
    if (i >= 0) registry.splice(i, 1);
  };
}

/** @internal The registered checks, in registration order. */
export function teardownChecks(): readonly TeardownCheck[] {
  return registry;
}
