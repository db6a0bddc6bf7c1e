/**
 * The one way tests make a Sim that collects reports instead of throwing.
 *
 * A collecting Sim turns an exception thrown inside a task (a failed
 * `expect` among them) into a `task-exception` report and goes on, so an
 * assertion inside a task could fail without failing the test. Every Sim
 * made here is checked after the test (test/support/setup.ts, a vitest
 * setup file): a `task-exception` report fails the test, unless the test
 * said it expects them (`{ taskExceptions: "expected" }`).
 */
import { Lockdep, Sim, type SimOptions, type TaskExceptionReport } from "../../src/index.js";

interface Entry {
  readonly sim: Sim;
  readonly expected: boolean;
}
const made: Entry[] = [];

/** What a collecting Sim may see. */
export interface CollectingOptions {
  /** `"expected"`: the test asserts its own task-exception reports. Default: any fails the test. */
  readonly taskExceptions?: "fail" | "expected";
}

/**
 * A Sim with `onReport: "collect"`, round-robin scheduling and a fresh
 * Lockdep, unless `options` says otherwise.
 */
export function collectingSim(options: SimOptions = {}, how: CollectingOptions = {}): Sim {
  const sim = new Sim({ lockdep: new Lockdep(), onReport: "collect", strategy: "round-robin", ...options });
  made.push({ sim, expected: how.taskExceptions === "expected" });
  return sim;
}

/** @internal For the setup file: forget the Sims made so far, and throw if one of them saw an unexpected task exception. */
export function checkCollectingSims(): void {
  const entries = made.splice(0);
  for (const { sim, expected } of entries) {
    if (expected) continue;
    const r = sim.reports.find((x): x is TaskExceptionReport => x.kind === "task-exception");
    if (r !== undefined) {
      throw new Error(`a task of a collecting Sim threw (unexpected task-exception) in ${r.task ?? "(setup)"}: ${r.error}`);
    }
  }
}
