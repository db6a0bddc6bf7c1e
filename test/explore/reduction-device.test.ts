/**
 * The reduction is sound for the device effects of PhysMem (phys-alloc,
 * phys-free, phys-flags) and GpuPageTable (gpu-pt-map, gpu-pt-unmap, and
 * walk()'s noted read): in small programs DFS with DPOR reaches the same
 * outcomes as the unreduced search.
 */
import { describe, expect, it } from "vitest";
import { configureMemory, GFP_KERNEL, GFP_NOWAIT, Mutex } from "../../src/index.js";
import { PhysMem } from "../../src/device/phys-mem.js";
import { GpuPageTable } from "../../src/device/page-table.js";
import { reached, type ReductionProgram } from "../support/reduction.js";

const RW = { read: true, write: true };

const PROGRAMS: Record<string, ReductionProgram> = {
  "two tasks allocate from a one-frame PhysMem and free: who gets it depends on the order": (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 1 });
    const got: Record<string, string> = {};
    for (const name of ["a", "b"]) {
      sim.spawn(name, "process", function* () {
        const pfn = yield* mem.allocPage({ label: name }, GFP_NOWAIT);
        got[name] = pfn === null ? "null" : String(pfn);
        if (pfn !== null) yield* mem.freePage(pfn);
        if (Object.keys(got).length === 2) seen(`a=${got["a"]} b=${got["b"]}`);
      });
    }
  },
  "a map under a mutex against a walk after a flag step: the walk sees the entry or not": (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem);
    const m = new Mutex(sim, "vm_lock", { static: true });
    sim.spawn("bind", "process", function* () {
      yield* m.lock();
      yield* pt.map(0, 8, 4096, RW);
      yield* m.unlock();
    });
    sim.spawn("gpu", "process", function* () {
      yield* mem.markDirty(15);
      seen(`walk=${pt.walk(0)?.pfn ?? "none"} dirty=${mem.isDirty(15)}`);
    });
  },
  "a one-page limit: a map needing table pages against a task taking the page": (sim, seen) => {
    configureMemory(sim, { limitPages: 4 });
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem, { gfp: GFP_NOWAIT });
    let map = "";
    let page = "";
    const done = (): void => {
      if (map !== "" && page !== "") seen(`map=${map} page=${page} tables=${pt.tablePages}`);
    };
    sim.spawn("bind", "process", function* () {
      map = yield* pt.map(0, 8, 4096, RW);
      done();
    });
    sim.spawn("bo", "process", function* () {
      const pfn = yield* mem.allocPage({ label: "bo" }, GFP_NOWAIT);
      page = pfn === null ? "null" : "ok";
      done();
    });
  },
  "unmap with freeTables against a free of the mapped frame: still-mapped or not": (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem);
    const m = new Mutex(sim, "vm_lock", { static: true });
    let pfn = -1;
    sim.spawn("setup", "process", function* () {
      pfn = (yield* mem.allocPage({ label: "bo" }, GFP_KERNEL)) as number;
      yield* pt.map(0x20_0000, pfn, 4096, RW);
      sim.spawn("unbind", "process", function* () {
        yield* m.lock();
        yield* pt.unmap(0x20_0000, 4096, { freeTables: true });
        yield* m.unlock();
        seen(`unbind tables=${pt.tablePages}`);
      });
      sim.spawn("close", "process", function* () {
        yield* mem.freePage(pfn);
        seen(`close free=${mem.freePages}`);
      });
    });
  },
};

describe("reduction soundness: device (PhysMem, GpuPageTable)", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const dpor = reached(build, "dpor");
      expect(dpor.length).toBeGreaterThan(1);
      expect(dpor).toEqual(reached(build, "none"));
    });
  }
});

