/**
 * The toy driver (examples/toy-driver/) under exploration: two processes
 * binding (sync and async), executing, unbinding and closing in parallel,
 * eviction under a memory limit, a userptr unmapped (or reclaimed) while it
 * is pinned and read, with no report and nothing leaked, under PCT and
 * random walks with fixed budgets, with and without an IOMMU.
 */
import { describe, expect, it } from "vitest";
import "../../src/vitest.js";
import { explore, formatReport, type ExploreResult } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { toyWorkload, type ToyWorkloadOptions } from "../../examples/toy-driver/workload.js";
import type { ToyDevice } from "../../examples/toy-driver/device.js";

type Stats = ToyDevice["stats"];

/** Explore the workload; return the result and the driver's counters summed over the executions. */
function run(options: ToyWorkloadOptions, strategy: "pct" | "random", executions: number, seed = 1): { result: ExploreResult; stats: Stats } {
  const devs: ToyDevice[] = [];
  const result = explore(toyWorkload({ ...options, onDevice: (d) => devs.push(d) }), { name: "toy-driver", strategy, executions, seed, shrink: false });
  const stats = { evicted: 0, busy: 0, validated: 0, userptrRetries: 0, userptrZaps: 0, userptrGone: 0, execRetries: 0 };
  for (const d of devs) for (const k of Object.keys(stats) as (keyof Stats)[]) stats[k] += d.stats[k];
  return { result, stats };
}

function clean(result: ExploreResult): string {
  return result.failures.map((f) => formatReport(f.report)).join("\n");
}

describe("toy driver: the correct driver", { timeout: 20_000 }, () => {
  it("one round-robin run files nothing and leaks nothing", () => {
    const sim = collectingSim();
    toyWorkload()(sim);
    sim.runAll();
    expect(sim.reports.map((r) => r.kind)).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });

  it("PCT, 40 executions behind an IOMMU: no report, and eviction, revalidation and userptr invalidation all happen", () => {
    const { result, stats } = run({}, "pct", 40);
    expect(clean(result)).toBe("");
    expect(result.executions).toBe(40);
    expect(stats.evicted).toBeGreaterThan(0);
    expect(stats.validated).toBeGreaterThan(0);
    expect(stats.userptrZaps).toBeGreaterThan(0);
    expect(stats.userptrGone).toBeGreaterThan(0);
  });

  it("random, 40 executions without an IOMMU (physical PTEs): no report", () => {
    const { result, stats } = run({ iommu: false }, "random", 40);
    expect(clean(result)).toBe("");
    expect(stats.evicted).toBeGreaterThan(0);
  });

  it("random, 40 executions, the userptr taken by the OOM reaper (non-blockable callbacks): no report", () => {
    const { result } = run({ userptrEnd: "reclaim" }, "random", 40);
    expect(clean(result)).toBe("");
  });
});

describe("toy driver: the tour (docs/toy-driver.md)", { timeout: 20_000 }, () => {
  it("runs ioctl by ioctl, then finds the bug in the explored workload", async () => {
    const { main } = await import("../../examples/toy-driver/tour.js");
    const text = main();
    expect(text).toContain("evicted: 4 pages freed; PTE cleared; VmBo evicted: true");
    expect(text).toContain("EXEC again: revalidated 1, PTE rewritten, job error 0");
    expect(text).toContain("GEM_CLOSE: true, BO freed: true");
    expect(text).toContain("reports: 0, leaks: 0");
    expect(text).toContain("workload, correct: 10 executions, 0 failures");
    expect(text).toMatch(/workload, skipFenceWaitBeforeEvict: gpu-page-fault in execution \d+/);
  });
});
