/**
 * The reduction is sound for the GPU engine's effects (gpu-submit,
 * gpu-sched-pop, gpu-access) and its blocking waits (the engine waiting for
 * a job's dependency, a submitter waiting for the finished fence): DFS with
 * DPOR reaches the same outcomes as the unreduced search when a job's
 * accesses race a driver task that unmaps, invalidates and frees (in the
 * right order, and in a wrong one), and when a job waits for a dependency
 * another task signals.
 */
import { describe, expect, it } from "vitest";
import { DmaFence, FenceContext, GFP_KERNEL, Gpu, GpuPageTable, PhysMem, type Sim } from "../../src/index.js";
import { reached } from "../support/reduction.js";

const RW = { read: true, write: true };

function world(sim: Sim) {
  const mem = new PhysMem(sim, { name: "ram", pages: 16 });
  const pt = new GpuPageTable(sim, mem, { name: "vm0" });
  const gpu = new Gpu(sim, { mem, tlbEntries: 4 });
  return { mem, pt, gpu };
}

function racing(order: "right" | "free-before-invalidate") {
  return (sim: Sim, seen: (s: string) => void): void => {
    const { mem, pt, gpu } = world(sim);
    sim.spawn("driver", "process", function* () {
      const a = (yield* mem.allocPage({ label: "bo0" }, GFP_KERNEL)) as number;
      yield* pt.map(0x10000, a, 4096, RW);
      const job = yield* gpu.submit({ name: "j", pageTable: pt, reads: [{ va: 0x10000, length: 4096 }], writes: [{ va: 0x10000, length: 4096 }] });
      yield* pt.unmap(0x10000, 4096);
      if (order === "right") yield* gpu.tlb(pt).invalidate(0x10000, 4096);
      yield* mem.freePage(a);
      if (order !== "right") yield* gpu.tlb(pt).invalidate(0x10000, 4096);
      yield* job.finished.wait(false);
      seen(`status=${job.finished.getStatus()}`);
      yield* job.finished.put("submit");
    });
  };
}

const PROGRAMS: Record<string, (sim: Sim, seen: (s: string) => void) => void> = {
  "a job's accesses against unmap, invalidate, free (the right order): done, or a page fault": racing("right"),
  "a job's accesses against unmap, free, invalidate (wrong): a stale-TLB use-after-free in some orders": racing("free-before-invalidate"),
  "a job waiting for a dependency another task signals": (sim, seen) => {
    const { pt, gpu } = world(sim);
    const dep = new DmaFence(new FenceContext(sim, "other"), { name: "dep", static: true });
    sim.spawn("signaller", "process", function* () {
      seen(`at signal: queued=${gpu.queued}`);
      yield* dep.signal();
    });
    sim.spawn("submitter", "process", function* () {
      const job = yield* gpu.submit({ name: "j", pageTable: pt, dependencies: [dep], runJob: function* () { seen(`run: dep signalled=${dep.isSignaled()}`); } });
      yield* job.finished.put("submit");
    });
  },
};

describe("reduction soundness: the GPU engine", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const dpor = reached(build, "dpor");
      expect(dpor.length).toBeGreaterThan(1);
      expect(dpor).toEqual(reached(build, "none"));
      if (name.includes("(wrong)")) expect(dpor).toContain("failure:dma-use-after-free");
    });
  }
});
