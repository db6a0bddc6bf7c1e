import { describe, expect, it } from "vitest";
import { explore, Lockdep } from "../../src/index.js";
import { allocInFenceSignalling } from "../../src/scenarios/alloc-in-fence-signalling.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = allocInFenceSignalling.variants;

describe("alloc-in-fence-signalling, buggy", () => {
  it("follows the drawn schedule under round-robin: the allocation at step 4 closes a cycle through fs_reclaim", () => {
    const sim = runOnce(buggy, { strategy: "round-robin", lockdep: new Lockdep() });
    // Nothing deadlocks in a run: lockdep reports what a schedule with reclaim could do.
    expect(sim.outcome).toBe("done");
    expect(sim.reports.map((r) => r.kind)).toEqual(["lock-order-cycle", "lock-order-cycle"]);
    const r = expectKind(sim.reports[0], "lock-order-cycle");
    expect(r.task).toBe("sched/1");
    expect(r.step).toBe(4);
    // 4. kmalloc in the section: dma_fence_map held since step 2, fs_reclaim asked for.
    expect(r.cycle[0]).toMatchObject({ from: "dma_fence_map", to: "fs_reclaim" });
    expect(r.cycle.map((e) => e.from)).toEqual(["dma_fence_map", "fs_reclaim", "mmu_notifier_invalidate_range_start"]);
    // The other direction is the kernel's boot order.
    expect(r.cycle.slice(1).every((e) => e.toSite.replay === "boot")).toBe(true);
    expect(r.held.map((h) => [h.lock, h.read, h.acquired.step])).toEqual([["dma_fence_map", true, 2]]);
    expect(r.schedule.rows.map((row) => [row.step, row.column, row.effect])).toEqual([
      [1, 0, "start"],
      [2, 0, 'kref-get DmaFence#1 "job0"'],
      [3, 1, "start"],
      [4, 0, "kmalloc"],
    ]);
    // The second report is the mmu notifier map, taken by the same might_alloc().
    const second = expectKind(sim.reports[1], "lock-order-cycle");
    expect(second.cycle[0]).toMatchObject({ from: "dma_fence_map", to: "mmu_notifier_invalidate_range_start" });
  });

  it("is reported on every seed: the other order is primed at boot", () => {
    for (let seed = 0; seed < 20; seed++) {
      const sim = runOnce(buggy, { seed, lockdep: new Lockdep() });
      const r = expectKind(sim.reports[0], "lock-order-cycle");
      expect([r.task, r.cycle[0]?.from, r.cycle[0]?.to]).toEqual(["sched/1", "dma_fence_map", "fs_reclaim"]);
    }
  });

  it("is caught by the first execution of the seed loop", () => {
    const run = runSeeds(buggy, { seeds: 10 });
    expect(run.executions).toBe(1);
    expect(run.firstFailure?.report.kind).toBe("lock-order-cycle");
  });
});

describe("alloc-in-fence-signalling, fixed", () => {
  it("passes the whole seed budget", () => {
    const run = runSeeds(fixed, { seeds: 200 });
    expect(run.firstFailure).toBeNull();
    expect(run.executions).toBe(200);
  });

  it("passes every schedule", () => {
    const r = explore(fixed, { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false });
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
  });

  it("signals the fence; both references are dropped; the record and the fence are freed", () => {
    const sim = runOnce(fixed, { strategy: "round-robin", lockdep: new Lockdep() });
    expect(sim.reports).toEqual([]);
    expect(sim.tasks.map((t) => [t.label, t.state])).toEqual([
      ["sched/1", "done"],
      ["waiter/2", "done"],
      ["rcu_gp/3", "done"],
    ]);
    expect(sim.liveObjects()).toEqual([]);
  });
});
