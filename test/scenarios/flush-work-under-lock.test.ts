import { describe, expect, it } from "vitest";
import { flushWorkUnderLock } from "../../src/scenarios/flush-work-under-lock.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { explore, Lockdep } from "../../src/index.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = flushWorkUnderLock.variants;

describe("flush-work-under-lock, buggy", () => {
  it("is caught by the first execution, with the cycle through the work's map", () => {
    const run = runSeeds(buggy, { seeds: 10 });
    expect(run.executions).toBe(1);
    const r = expectKind(run.firstFailure?.report, "lock-order-cycle");
    expect(r.cycle.map((e) => e.from).sort()).toEqual(["(work_completion)recover", "dev->lock"]);
  });

  it("reports the order on every seed, deadlocking only where the work was still pending", () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const sim = runOnce(buggy, { seed, lockdep: new Lockdep() });
      expect(sim.reports[0]?.kind).toBe("lock-order-cycle");
      outcomes.add(sim.outcome);
    }
    expect([...outcomes].sort()).toEqual(["deadlock", "done"]);
  });
});

describe("flush-work-under-lock, fixed", () => {
  it("passes the whole seed budget", () => {
    const run = runSeeds(fixed, { seeds: 200 });
    expect(run.firstFailure).toBeNull();
  });

  it("passes every schedule", () => {
    const r = explore(fixed, { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false });
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
  }, 60_000);
});
