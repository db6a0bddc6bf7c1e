import { describe, expect, it } from "vitest";
import { DmaFence, FenceContext, GFP_KERNEL, Gpu, GpuPageTable, Iommu, kmalloc, PhysMem, PtPrealloc, type Report, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { main as gpuExample } from "../../examples/device-gpu.js";

const RW = { read: true, write: true };
const BO = { label: "bo0 backing store", process: "p1" };

function setup(sim: Sim, options: { tlbEntries?: number } = {}) {
  const mem = new PhysMem(sim, { name: "ram", pages: 64 });
  const pt = new GpuPageTable(sim, mem, { name: "vm0" });
  const gpu = new Gpu(sim, { mem, ...options });
  return { mem, pt, gpu };
}

function kinds(sim: Sim): string[] {
  return sim.reports.map((r: Report) => r.kind);
}

describe("Gpu", () => {
  it("a job reading and writing mapped memory is clean and signals its finished fence; the engine task exits", () => {
    const sim = collectingSim();
    const { mem, pt, gpu } = setup(sim);
    let status = -1;
    sim.run(function* () {
      const a = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      const b = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      expect(yield* pt.mapPages(0x10000, [a, b], RW)).toBe("ok");
      const job = yield* gpu.submit({ name: "draw", pageTable: pt, process: "p1", reads: [{ va: 0x10000, length: 4096 }], writes: [{ va: 0x10800, length: 4096 }] });
      yield* job.finished.wait(false);
      status = job.finished.getStatus();
      yield* job.finished.put("submit");
    });
    expect(sim.reports).toEqual([]);
    expect(status).toBe(1);
    expect(gpu.engine).toBeNull();
    expect(sim.tasks.map((t) => t.name)).toContain("gpu0-sched");
  });

  it("dependencies order jobs: the engine waits for an unsignalled fence before running the job", () => {
    const sim = collectingSim();
    const { pt, gpu } = setup(sim);
    const order: string[] = [];
    sim.run(function* () {
      const ctx = new FenceContext(sim, "other");
      const dep = new DmaFence(ctx, { name: "dep" });
      const job = yield* gpu.submit({ name: "j", pageTable: pt, dependencies: [dep], runJob: function* () { order.push("run"); } });
      yield* dep.get("x");
      order.push("signal dep");
      yield* dep.signal();
      yield* job.finished.wait(false);
      order.push("finished");
      yield* dep.put();
      yield* dep.put("x");
      yield* job.finished.put("submit");
    });
    expect(sim.reports).toEqual([]);
    expect(order).toEqual(["signal dep", "run", "finished"]);
  });

  it("runJob allocating GFP_KERNEL inside the signalling section is reported by the existing check", () => {
    const sim = collectingSim();
    const { pt, gpu } = setup(sim);
    sim.run(function* () {
      const job = yield* gpu.submit({ name: "bind", pageTable: pt, runJob: function* () { yield* kmalloc(64, GFP_KERNEL, { name: "pt-update" }); } });
      yield* job.finished.wait(false);
      yield* job.finished.put("submit");
    });
    expect(kinds(sim)).toContain("lock-order-cycle");
  });

  it("gpu-page-fault with no PTE: the job fails with -EINVAL and the engine goes on with the next job", () => {
    const sim = collectingSim();
    const { pt, gpu } = setup(sim);
    const statuses: number[] = [];
    sim.run(function* () {
      const j1 = yield* gpu.submit({ name: "bad", pageTable: pt, writes: [{ va: 0x200000, length: 8192 }] });
      const j2 = yield* gpu.submit({ name: "next", pageTable: pt });
      yield* j2.finished.wait(false);
      statuses.push(j1.finished.getStatus(), j2.finished.getStatus());
      yield* j1.finished.put("submit");
      yield* j2.finished.put("submit");
    });
    expect(statuses).toEqual([-22, 1]);
    expect(sim.reports).toHaveLength(1);
    expect(sim.reports[0]).toMatchObject({ kind: "gpu-page-fault", job: "bad", va: 0x200000, access: "write", reason: "not-present", path: ["pte"] });
  });

  it("a fault handler installing the PTE and retrying lets the job complete", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 64 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    let faults = 0;
    let frame = -1;
    let pool: PtPrealloc | null = null;
    const gpu = new Gpu(sim, {
      mem,
      *faultHandler(f) {
        faults++;
        expect(f.reason).toBe("not-present");
        yield* pt.map(f.va - (f.va % 4096), frame, 4096, RW, 1, { prealloc: pool as PtPrealloc });
        return "retry";
      },
    });
    let status = 0;
    sim.run(function* () {
      frame = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      // The handler's map must not allocate in the signalling section: its table pages are preallocated.
      pool = yield* pt.prealloc(pt.tablesNeeded(0x3000, 4096, 4096));
      const job = yield* gpu.submit({ name: "j", pageTable: pt, reads: [{ va: 0x3000, length: 16 }] });
      yield* job.finished.wait(false);
      status = job.finished.getStatus();
      yield* job.finished.put("submit");
    });
    expect(faults).toBe(1);
    expect(status).toBe(1);
    expect(sim.reports).toEqual([]);
    expect(pool).not.toBeNull();
    expect((pool as unknown as PtPrealloc).remaining).toBe(0);
  });

  it("stale TLB: PTE cleared and frame freed without a TLB invalidate → dma-use-after-free via stale-tlb", () => {
    const sim = collectingSim();
    const { mem, pt, gpu } = setup(sim);
    sim.run(function* () {
      const a = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      yield* pt.map(0x10000, a, 4096, RW);
      const j1 = yield* gpu.submit({ name: "warm", pageTable: pt, reads: [{ va: 0x10000, length: 4096 }] });
      yield* j1.finished.wait(false);
      yield* pt.unmap(0x10000, 4096);
      yield* mem.freePage(a); // BUG: no gpu.tlb(pt).invalidate()
      const j2 = yield* gpu.submit({ name: "late", pageTable: pt, writes: [{ va: 0x10000, length: 4096 }] });
      yield* j2.finished.wait(false);
      yield* j1.finished.put("submit");
      yield* j2.finished.put("submit");
    });
    expect(sim.reports).toHaveLength(1);
    expect(sim.reports[0]).toMatchObject({ kind: "dma-use-after-free", job: "late", va: 0x10000, access: "write", bytes: 4096, path: ["stale-tlb"], owner: null, mappedBy: pt.label });
    expect(sim.reports[0]).toHaveProperty("freedBy.op", "__free_page");
  });

  it("stale TLB, frame reallocated to another owner → dma-cross-owner (reallocated); invalidating first is clean", () => {
    for (const invalidate of [false, true]) {
      const sim = collectingSim();
      const { mem, pt, gpu } = setup(sim);
      sim.run(function* () {
        const a = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
        yield* pt.map(0x10000, a, 4096, RW);
        const j1 = yield* gpu.submit({ name: "warm", pageTable: pt, reads: [{ va: 0x10000, length: 4096 }] });
        yield* j1.finished.wait(false);
        yield* pt.unmap(0x10000, 4096);
        if (invalidate) yield* gpu.tlb(pt).invalidate(0x10000, 4096);
        yield* mem.freePage(a);
        const again = yield* mem.allocPage({ label: "p2 anon", process: "p2" }, GFP_KERNEL);
        expect(again).toBe(a);
        const j2 = yield* gpu.submit({ name: "late", pageTable: pt, process: "p1", reads: [{ va: 0x10000, length: 64 }] });
        yield* j2.finished.wait(false);
        yield* j1.finished.put("submit");
        yield* j2.finished.put("submit");
      });
      if (invalidate) {
        expect(sim.reports).toHaveLength(1);
        expect(sim.reports[0]).toMatchObject({ kind: "gpu-page-fault", reason: "not-present" });
      } else {
        expect(sim.reports).toHaveLength(1);
        expect(sim.reports[0]).toMatchObject({ kind: "dma-cross-owner", why: "reallocated", path: ["stale-tlb"], owner: "p2 anon", ownerProcess: "p2", process: "p1", bytes: 64 });
      }
    }
  });

  it("a job of one process touching another process's frame through a valid PTE → dma-cross-owner (other-process)", () => {
    const sim = collectingSim();
    const { mem, pt, gpu } = setup(sim);
    sim.run(function* () {
      const a = (yield* mem.allocPage({ label: "p2 anon", process: "p2" }, GFP_KERNEL)) as number;
      yield* pt.map(0x10000, a, 4096, RW);
      const j = yield* gpu.submit({ pageTable: pt, process: "p1", reads: [{ va: 0x10000, length: 4096 }] });
      yield* j.finished.wait(false);
      yield* j.finished.put("submit");
    });
    expect(sim.reports).toHaveLength(1);
    expect(sim.reports[0]).toMatchObject({ kind: "dma-cross-owner", why: "other-process", path: ["pte"], job: "job1" });
  });

  it("with an IOMMU: unmapped without an IOTLB flush and the frame freed → dma-use-after-free via stale-iotlb", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 64 });
    const iommu = new Iommu(sim, { name: "smmu" });
    const domain = iommu.domainAlloc("gpu0");
    const pt = new GpuPageTable(sim, mem, { name: "vm0", addresses: "iova" });
    const gpu = new Gpu(sim, { mem, iommu: domain });
    sim.run(function* () {
      const a = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      yield* domain.map(0x100000, a, 4096, { read: true, write: true });
      yield* pt.map(0x10000, 0x100, 4096, RW);
      const j1 = yield* gpu.submit({ name: "warm", pageTable: pt, reads: [{ va: 0x10000, length: 4096 }] });
      yield* j1.finished.wait(false);
      yield* domain.unmap(0x100000, 4096);
      yield* mem.freePage(a); // BUG: no flushIotlb()
      const j2 = yield* gpu.submit({ name: "late", pageTable: pt, writes: [{ va: 0x10000, length: 4096 }] });
      yield* j2.finished.wait(false);
      yield* j1.finished.put("submit");
      yield* j2.finished.put("submit");
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["dma-use-after-free"]);
    expect(sim.reports[0]).toMatchObject({ kind: "dma-use-after-free", job: "late", path: ["tlb", "stale-iotlb"] });
  });
});

describe("Gpu: misbehaving driver callbacks", () => {
  it("a runJob that throws is a task-exception report; the job's fence gets -EINVAL and the engine goes on", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const { pt, gpu } = setup(sim);
    const statuses: number[] = [];
    sim.run(function* () {
      const j1 = yield* gpu.submit({ name: "bad", pageTable: pt, runJob: () => { throw new Error("driver bug"); } });
      const j2 = yield* gpu.submit({ name: "next", pageTable: pt });
      yield* j2.finished.wait(false);
      statuses.push(j1.finished.getStatus(), j2.finished.getStatus());
      yield* j1.finished.put("submit");
      yield* j2.finished.put("submit");
    });
    expect(statuses).toEqual([-22, 1]);
    expect(sim.reports).toHaveLength(1);
    expect(sim.reports[0]).toMatchObject({ kind: "task-exception", task: "gpu0-sched/2" });
    expect((sim.reports[0] as { error: string }).error).toContain("driver bug");
  });

  it("a fault handler answering fail, or retrying without mapping, ends in gpu-page-fault", () => {
    for (const answer of ["fail", "retry"] as const) {
      const sim = collectingSim();
      const mem = new PhysMem(sim, { name: "ram", pages: 8 });
      const pt = new GpuPageTable(sim, mem, { name: "vm0" });
      let calls = 0;
      const gpu = new Gpu(sim, { mem, faultHandler: () => { calls++; return answer; } });
      sim.run(function* () {
        const j = yield* gpu.submit({ pageTable: pt, reads: [{ va: 0x1000, length: 8 }] });
        yield* j.finished.wait(false);
        yield* j.finished.put("submit");
      });
      expect(calls).toBe(1);
      expect(sim.reports).toHaveLength(1);
      expect(sim.reports[0]).toMatchObject({ kind: "gpu-page-fault", va: 0x1000, access: "read", reason: "not-present" });
    }
  });
});

describe("docs/device-gpu.md example", () => {
  it("a clean job, a fault the handler resolves, a stale-TLB write after free", () => {
    expect(gpuExample()).toBe(["draw: status 1", "grow: status 1, 0x400000 -> pfn 1", "late: status 1", "reports: dma-use-after-free"].join("\n"));
  });
});

describe("Gpu: ranges over large pages", () => {
  function bigWorld(sim: Sim) {
    const mem = new PhysMem(sim, { name: "ram", pages: 1024 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    const gpu = new Gpu(sim, { mem, tlbEntries: 8 });
    return { mem, pt, gpu };
  }

  it("a range over a 2 MiB page is translated once (one walk), then checked per 4 KiB frame", () => {
    const sim = collectingSim();
    const { mem, pt, gpu } = bigWorld(sim);
    let walks = 0;
    let error = -1;
    sim.run(function* () {
      for (let i = 0; i < 512; i++) yield* mem.allocPage(BO, GFP_KERNEL);
      yield* pt.map(0x20_0000, 0, 0x20_0000, RW);
      const walk = pt.walkRaw.bind(pt);
      pt.walkRaw = (va: number) => (walks++, walk(va));
      const job = yield* gpu.submit({ name: "big", pageTable: pt, process: "p1", writes: [{ va: 0x20_0000, length: 2 * 2 ** 20 }] });
      yield* job.finished.wait(false);
      error = job.finished.error;
      yield* job.finished.put("submit");
    });
    expect([walks, gpu.translations, error]).toEqual([1, 512, 0]);
    expect(sim.reports).toEqual([]);
  });

  it("a frame of the 2 MiB page freed under the job is still caught per 4 KiB page", () => {
    const sim = collectingSim();
    const { mem, pt, gpu } = bigWorld(sim);
    sim.run(function* () {
      for (let i = 0; i < 512; i++) yield* mem.allocPage(BO, GFP_KERNEL);
      yield* pt.map(0x20_0000, 0, 0x20_0000, RW);
      yield* mem.freePage(300); // still mapped: phys-page-still-mapped, and the job lands on it
      const job = yield* gpu.submit({ name: "big", pageTable: pt, process: "p1", reads: [{ va: 0x20_0000, length: 2 * 2 ** 20 }] });
      yield* job.finished.wait(false);
      yield* job.finished.put("submit");
    });
    expect(kinds(sim)).toEqual(["phys-page-still-mapped", "dma-use-after-free"]);
    expect(sim.reports[1]).toMatchObject({ pfn: 300, va: 0x20_0000 + 300 * 4096, path: ["tlb"] }); // as the per-page lookups: the walk filled the 2 MiB entry at the first page
  });
});
