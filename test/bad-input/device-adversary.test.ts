/**
 * Adversarial input to the device API (issue 11): each case is one way a
 * caller or a driver callback can misuse PhysMem, GpuPageTable, Iommu,
 * GpuTlb or Gpu; it asserts a typed error naming the argument with nothing
 * changed, or a report, never an untyped exception or a hang.
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, DmaFence, FenceContext, GFP_KERNEL, Gpu, GpuPageTable, GpuTlb, Iommu, IommuDomain, MAX_PAGES, PhysMem, PtPrealloc, Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

const RW = { read: true, write: true };

describe("adversary: PhysMem", () => {
  it("pin / markDirty of a free frame leave no flag for the next owner", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 2 });
    let pinned = true;
    let dirty = true;
    sim.run(function* () {
      yield* mem.pin(0);
      yield* mem.markDirty(0);
      const pfn = (yield* mem.allocPage({ label: "a" }, GFP_KERNEL)) as number;
      expect(pfn).toBe(0);
      pinned = mem.isPinned(pfn);
      dirty = mem.isDirty(pfn);
    });
    expect(pinned).toBe(false);
    expect(dirty).toBe(false);
  });

  it("pfn -0, NaN, Infinity, 2**53, a string: typed errors naming pfn", () => {
    const sim = new Sim();
    const mem = new PhysMem(sim, { pages: 2 });
    expect(mem.state(-0)).toBe("free");
    expectThrows(() => mem.state(NaN), ArgumentRangeError, "pfn");
    expectThrows(() => mem.state(Infinity), ArgumentRangeError, "pfn");
    expectThrows(() => mem.state(2 ** 53), ArgumentRangeError, "pfn");
    expectThrows(() => mem.state("0" as never), ArgumentError, "pfn");
    expectThrows(() => new PhysMem(sim, { pages: 2 ** 53 }), ArgumentRangeError, "pages");
    expectThrows(() => new PhysMem(sim, { pages: -0 }), ArgumentRangeError, "pages");
  });
});

describe("adversary: GpuPageTable", () => {
  it("mapPages copies pfns before checking them: an array changed by a getter cannot smuggle a bad frame", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem);
    let reads = 0;
    const sneaky = new Proxy([1], {
      get(t, k, r) {
        if (k === "0") return reads++ === 0 ? 1 : 10 ** 9;
        return Reflect.get(t, k, r) as unknown;
      },
    });
    sim.run(function* () {
      yield* pt.mapPages(0, sneaky, RW);
    });
    expect(pt.walk(0)?.pfn).toBe(1);
  });

  it("a pool from another Sim's table names prealloc", () => {
    const sim = collectingSim();
    const other = collectingSim();
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem);
    const omem = new PhysMem(other, { pages: 16 });
    const opt = new GpuPageTable(other, omem);
    let pool: PtPrealloc | null = null;
    other.run(function* () {
      pool = yield* opt.prealloc(1);
    });
    sim.run(function* () {
      expectThrows(() => pt.map(0, 0, 4096, RW, 1, { prealloc: pool as never }), ArgumentError, "prealloc");
      yield* mem.allocPage({ label: "x" }, GFP_KERNEL);
    });
    expect(pt.tablePages).toBe(0);
  });

  it("new PtPrealloc() with junk: typed errors", () => {
    const sim = new Sim();
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem);
    expectThrows(() => new PtPrealloc({} as never, []), ArgumentError, "pt");
    expectThrows(() => new PtPrealloc(pt, [1, 2]), ArgumentError, "frames");
  });

  it("a released pool released twice, and used after release: no exception, a pt-prealloc-short report", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem);
    let r: string | null = null;
    sim.run(function* () {
      const pool = (yield* pt.prealloc(2)) as PtPrealloc;
      yield* pool.release();
      yield* pool.release();
      r = yield* pt.map(0, 4, 4096, RW, 1, { prealloc: pool });
    });
    expect(r).toBe("nomem");
    expect(sim.reports.map((x) => x.kind)).toEqual(["pt-prealloc-short"]);
    expect(mem.freePages).toBe(16);
  });
});

describe("adversary: Iommu", () => {
  it("new IommuDomain() with junk names the argument", () => {
    expectThrows(() => new IommuDomain({} as never, ""), ArgumentError, "iommu");
    const sim = new Sim();
    expectThrows(() => new IommuDomain(new Iommu(sim), 5 as never), ArgumentError, "name");
  });

  it("flushIotlb past the aperture names size", () => {
    const sim = new Sim();
    const d = new Iommu(sim).domainAlloc();
    expectThrows(() => d.flushIotlb(2 ** 48, 4096), ArgumentRangeError, "iova");
    expectThrows(() => d.flushIotlb(0, 2 ** 53), ArgumentRangeError, "size");
  });
});

describe("adversary: GpuTlb", () => {
  it("fill with a frame not aligned to the page size names pte.pfn; nothing cached", () => {
    const sim = new Sim();
    const tlb = new GpuTlb(sim);
    expectThrows(() => { tlb.fill(0, { pfn: 3, write: true, size: 65536 }); }, ArgumentRangeError, "pte.pfn");
    expect(tlb.size).toBe(0);
  });
});

describe("adversary: Gpu", () => {
  it("a Gpu whose IOMMU maps another PhysMem names iommu", () => {
    const sim = new Sim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mem2 = new PhysMem(sim, { pages: 4 });
    const d = new Iommu(sim, { mem: mem2 }).domainAlloc();
    expectThrows(() => new Gpu(sim, { mem, iommu: d }), ArgumentError, "iommu");
  });

  it("tlb() of another Sim's page table names pt", () => {
    const sim = new Sim();
    const other = new Sim();
    const gpu = new Gpu(sim, { mem: new PhysMem(sim, { pages: 4 }) });
    const opt = new GpuPageTable(other, new PhysMem(other, { pages: 4 }));
    expectThrows(() => gpu.tlb(opt), ArgumentError, "pt");
    expect(gpu.tlbs.size).toBe(0);
  });

  it("a dependency of another Sim names spec.dependencies[0]; nothing is queued", () => {
    const sim = collectingSim();
    const other = new Sim();
    const mem = new PhysMem(sim, { pages: 4 });
    const pt = new GpuPageTable(sim, mem);
    const gpu = new Gpu(sim, { mem });
    const fence = new DmaFence(new FenceContext(other, "x"));
    sim.run(function* () {
      expectThrows(() => gpu.submit({ pageTable: pt, dependencies: [fence] }), ArgumentError, "spec.dependencies[0]");
      yield* mem.allocPage({ label: "x" }, GFP_KERNEL);
    });
    expect(gpu.submitted).toBe(0);
  });

  it("ranges mutated after submit do not reach the engine", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const pt = new GpuPageTable(sim, mem);
    const gpu = new Gpu(sim, { mem });
    sim.run(function* () {
      const reads = [{ va: 0, length: 4096 }];
      const job = yield* gpu.submit({ pageTable: pt, reads });
      (reads as unknown[]).push({ va: -5, length: "x" });
      (reads[0] as { va: number }).va = NaN;
      yield* job.finished.wait(false);
      yield* job.finished.put("submit");
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["gpu-page-fault"]);
    expect((sim.reports[0] as { va: number }).va).toBe(0);
  });

  it("a fault handler that throws a value with no toString is a task-exception report, and the job fails", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const mem = new PhysMem(sim, { pages: 4 });
    const pt = new GpuPageTable(sim, mem);
    const gpu = new Gpu(sim, {
      mem,
      faultHandler: () => {
        throw Object.create(null) as Error;
      },
    });
    let err = 0;
    sim.run(function* () {
      const job = yield* gpu.submit({ pageTable: pt, reads: [{ va: 0, length: 1 }] });
      yield* job.finished.wait(false);
      err = job.finished.error;
      yield* job.finished.put("submit");
    });
    expect(err).toBe(-22);
    expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception", "gpu-page-fault"]);
  });
});

describe("adversary: a machine of MAX_PAGES frames", () => {
  it("is made, allocated from and freed quickly", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: MAX_PAGES });
    const got: (number | null)[] = [];
    sim.run(function* () {
      got.push(yield* mem.allocPage({ label: "a" }, GFP_KERNEL));
      got.push(yield* mem.allocPage({ label: "b" }, GFP_KERNEL));
      yield* mem.freePage(0);
      got.push(yield* mem.allocPage({ label: "c" }, GFP_KERNEL));
      got.push(yield* mem.allocPage({ label: "d" }, GFP_KERNEL));
    });
    expect(got).toEqual([0, 1, 0, 2]);
    expect(mem.freePages).toBe(MAX_PAGES - 3);
    expect(mem.owner(MAX_PAGES - 1)).toBeNull();
    expect(mem.mappedBy(MAX_PAGES - 1)).toBeNull();
  });
});

describe("adversary: a fault handler's answer", () => {
  for (const [what, answer] of [["a junk string", "yes"], ["nothing", undefined], ["a number", 42]] as const) {
    it(`${what} is a task-exception report naming the handler; the job fails with a gpu-page-fault`, () => {
      const sim = collectingSim({}, { taskExceptions: "expected" });
      const mem = new PhysMem(sim, { pages: 4 });
      const pt = new GpuPageTable(sim, mem);
      const gpu = new Gpu(sim, { mem, faultHandler: () => answer as never });
      let err = 0;
      sim.run(function* () {
        const job = yield* gpu.submit({ pageTable: pt, reads: [{ va: 0, length: 1 }] });
        yield* job.finished.wait(false);
        err = job.finished.error;
        yield* job.finished.put("submit");
      });
      expect(err).toBe(-22);
      expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception", "gpu-page-fault"]);
      expect((sim.reports[0] as { error: string }).error).toContain("faultHandler of");
    });
  }
});

describe("adversary: maps too large to hold", () => {
  it("an IOMMU map of more than MAX_PAGES pages names size; nothing is mapped", () => {
    const sim = collectingSim();
    const d = new Iommu(sim).domainAlloc();
    sim.run(function* () {
      expectThrows(() => d.map(0, 0, 2 ** 47, RW), ArgumentRangeError, "size");
      yield* d.map(0, 0, 4096, RW);
    });
    expect(d.mappedBytes).toBe(4096);
  });

  it("an IOVA-mode page-table map of more than MAX_PAGES frames names count; nothing is mapped", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 16 });
    const pt = new GpuPageTable(sim, mem, { addresses: "iova" });
    sim.run(function* () {
      expectThrows(() => pt.map(0, 0, 4096, RW, 2 ** 35), ArgumentRangeError, "count");
      expectThrows(() => pt.map(0, 0, 2097152, RW, 2 ** 18), ArgumentRangeError, "count");
      yield* mem.allocPage({ label: "x" }, GFP_KERNEL);
    });
    expect(pt.tablePages).toBe(0);
  });
});
