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

  it("follows the drawn schedule under round-robin: the worker's lock at step 8 closes the cycle", () => {
    const sim = runOnce(buggy, { strategy: "round-robin", lockdep: new Lockdep() });
    expect(sim.outcome).toBe("deadlock");
    const r = expectKind(sim.reports[0], "lock-order-cycle");
    expect([r.task, r.step, r.actual]).toEqual(["kworker/u:1/3", 8, true]);
    expect(r.cycle.map((e) => [e.from, e.to])).toEqual([
      ["(work_completion)recover", "dev->lock"],
      ["dev->lock", "(work_completion)recover"],
    ]);
    // 6. close/2 flushed under dev->lock; lockdep names the site as "after its step 4" (the lock).
    expect(r.cycle[1]?.toSite).toMatchObject({ task: "close/2", step: 4, op: "flush_work" });
    expect(r.schedule.rows.map((row) => [row.step, row.column, row.effect])).toEqual([
      [1, 0, "start"],
      [2, 1, "start"],
      [3, 0, 'queue-work Work#3 "recover"'],
      [4, 1, 'lock Mutex#1 "dev->lock"'],
      [5, 2, "start"],
      [6, 1, 'flush-work Work#3 "recover"'],
      [7, 2, 'worker-pick Workqueue#2 "dev_wq"'],
      [8, 2, 'work-start Work#3 "recover"'],
    ]);
    expect(sim.reports.map((x) => x.kind)).toEqual(["lock-order-cycle", "deadlock"]);
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
