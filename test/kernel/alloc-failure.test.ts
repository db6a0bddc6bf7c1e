/**
 * forEachAllocationFailure (gpuvm-sim) and expectUnchangedOnFailure
 * (gpuvm-sim/vitest): docs/memory.md's example, the runs the runner hands
 * to the check, and a check that fails naming the run.
 */
import { describe, expect, it } from "vitest";
import { forEachAllocationFailure, KmallocBuffer, memoryStats, type AllocationRun } from "../../src/index.js";
import { expectUnchangedOnFailure } from "../../src/vitest.js";
import { insert, main as allocFailureExample } from "../../examples/memory-alloc-failure.js";
import { collectingSim } from "../support/collecting-sim.js";

describe("forEachAllocationFailure", () => {
  it("docs/memory.md example: insert makes two allocations, and fails cleanly at each", () => {
    expect(allocFailureExample()).toBe(2);
  });

  it("hands the clean run, then one run per allocation failing, to check", () => {
    const runs: AllocationRun<string>[] = [];
    const n = forEachAllocationFailure({
      setup: () => ({ sim: collectingSim(), world: [] as KmallocBuffer[] }),
      body: insert,
      snapshot: (table, sim) => ({ entries: table.length, usage: memoryStats(sim).usageBytes }),
      check: (run) => runs.push(run),
    });
    expect(n).toBe(2);
    expect(runs.map((r) => [r.failed, r.result, r.after])).toEqual([
      [null, "ok", { entries: 1, usage: 32 }],
      [1, "nomem", { entries: 0, usage: 0 }],
      [2, "nomem", { entries: 0, usage: 0 }],
    ]);
    expect(runs.every((r) => r.error === undefined && r.reports.length === 0)).toBe(true);
    expect(new Set(runs.map((r) => r.sim)).size).toBe(3);
  });

  it("expectUnchangedOnFailure fails on the run whose failure left state behind, naming it", () => {
    expect(() =>
      forEachAllocationFailure({
        setup: () => ({ sim: collectingSim(), world: [] as string[] }),
        *body(table) {
          table.push("entry");
          return (yield* insert([])) === "ok" ? "ok" : "nomem";
        },
        snapshot: (table) => table.length,
        check: expectUnchangedOnFailure((r) => r === "ok"),
      }),
    ).toThrow(/state after the run failing allocation 1/);
  });
});
