import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, GFP_KERNEL, Gpu, GpuPageTable, Iommu, PhysMem, PtPrealloc, Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("bad input: Gpu", () => {
  it("new Gpu(): bad options name the argument; nothing is made", () => {
    const sim = new Sim();
    const mem = new PhysMem(sim, { pages: 4 });
    const other = new PhysMem(new Sim(), { pages: 4 });
    const before = sim.liveObjects().length;
    expectThrows(() => new Gpu(sim, undefined as never), ArgumentError, "options");
    expectThrows(() => new Gpu(sim, null as never), ArgumentError, "options");
    expectThrows(() => new Gpu(sim, {} as never), ArgumentError, "mem");
    expectThrows(() => new Gpu(sim, { mem: {} as never }), ArgumentError, "mem");
    expectThrows(() => new Gpu(sim, { mem: other }), ArgumentError, "mem");
    expectThrows(() => new Gpu(sim, { mem, tlbEntrys: 4 } as never), ArgumentError, "tlbEntrys");
    expectThrows(() => new Gpu(sim, { mem, tlbEntries: 0 }), ArgumentRangeError, "tlbEntries");
    expectThrows(() => new Gpu(sim, { mem, name: 3 as never }), ArgumentError, "name");
    expectThrows(() => new Gpu(sim, { mem, iommu: mem as never }), ArgumentError, "iommu");
    expectThrows(() => new Gpu(sim, { mem, faultHandler: "retry" as never }), ArgumentError, "faultHandler");
    expect(sim.liveObjects().length).toBe(before);
  });

  it("submit(): a bad spec names the key at the call; nothing is queued", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem);
    const iovaPt = new GpuPageTable(sim, mem, { addresses: "iova" });
    const gpu = new Gpu(sim, { mem });
    const viaIommu = new Gpu(sim, { mem, name: "gpu1", iommu: new Iommu(sim).domainAlloc("d") });
    sim.run(function* () {
      expectThrows(() => gpu.submit(null as never), ArgumentError, "spec");
      expectThrows(() => gpu.submit({} as never), ArgumentError, "spec.pageTable");
      expectThrows(() => gpu.submit({ pageTable: pt, raeds: [] } as never), ArgumentError, "spec.raeds");
      expectThrows(() => gpu.submit({ pageTable: iovaPt }), ArgumentError, "spec.pageTable");
      expectThrows(() => viaIommu.submit({ pageTable: pt }), ArgumentError, "spec.pageTable");
      expectThrows(() => gpu.submit({ pageTable: pt, reads: [{ va: -1, length: 4 }] }), ArgumentRangeError, "spec.reads[0].va");
      expectThrows(() => gpu.submit({ pageTable: pt, writes: [{ va: 0, length: 0 }] }), ArgumentRangeError, "spec.writes[0].length");
      expectThrows(() => gpu.submit({ pageTable: pt, writes: [{ va: 2 ** 48 - 4096, length: 8192 }] }), ArgumentRangeError, "spec.writes[0]");
      expectThrows(() => gpu.submit({ pageTable: pt, writes: {} as never }), ArgumentError, "spec.writes");
      expectThrows(() => gpu.submit({ pageTable: pt, dependencies: [null as never] }), ArgumentError, "spec.dependencies[0]");
      expectThrows(() => gpu.submit({ pageTable: pt, runJob: 1 as never }), ArgumentError, "spec.runJob");
      expectThrows(() => gpu.tlb(mem as never), ArgumentError, "pt");
      expect(gpu.queued).toBe(0);
      expect(gpu.engine).toBeNull();
      yield* mem.allocPage({ label: "x" }, GFP_KERNEL);
    });
    expect(sim.reports).toEqual([]);
  });

  it("GpuPageTable mapPages / tablesNeeded / prealloc: bad input names the argument; the table is unchanged", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem);
    const pt2 = new GpuPageTable(sim, mem);
    const RW = { read: true, write: true };
    sim.run(function* () {
      const pool = (yield* pt2.prealloc(1)) as PtPrealloc;
      expectThrows(() => pt.mapPages(0, [], RW), ArgumentError, "pfns");
      expectThrows(() => pt.mapPages(0, [1.5], RW), ArgumentRangeError, "pfns[0]");
      expectThrows(() => pt.mapPages(0, [16], RW), ArgumentRangeError, "pfns[0]");
      expectThrows(() => pt.mapPages(1, [1], RW), ArgumentError, "va");
      expectThrows(() => pt.mapPages(0, [1], { read: true } as never), ArgumentError, "prot.write");
      expectThrows(() => pt.mapPages(0, [1], RW, { prealloc: pool }), ArgumentError, "prealloc");
      expectThrows(() => pt.map(0, 1, 4096, RW, 1, { prealloc: {} as never }), ArgumentError, "prealloc");
      expectThrows(() => pt.map(0, 1, 4096, RW, 1, { prelloc: pool } as never), ArgumentError, "prelloc");
      expectThrows(() => pt.tablesNeeded(0, 100, 4096), ArgumentError, "range");
      expectThrows(() => pt.tablesNeeded(0, 4096, 8192 as never), ArgumentError, "size");
      expectThrows(() => pt.prealloc(-1), ArgumentRangeError, "count");
      expectThrows(() => pt.prealloc(1, "GFP_FOO" as never), ArgumentError, "gfp");
      expectThrows(() => new GpuPageTable(sim, mem, { addresses: "virtual" as never }), ArgumentError, "addresses");
      expect(pt.tablePages).toBe(0);
      yield* pool.release();
    });
    expect(sim.reports).toEqual([]);
  });
});
