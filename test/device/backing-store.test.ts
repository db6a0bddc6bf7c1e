import { describe, expect, it } from "vitest";
import { configureMemory, DmaFence, FenceContext, GemBackingStore, GemObject, GFP_KERNEL, Iommu, kfree, memoryStats, PhysMem, Sim, type IommuDomain } from "../../src/index.js";
import { main as backingExample } from "../../examples/device-backing-store.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectUnchangedOnFailure, forEachAllocationFailure } from "../support/alloc-failure.js";

interface World {
  sim: Sim;
  mem: PhysMem;
  gem: GemObject;
  dom: IommuDomain | null;
  store: GemBackingStore;
}

function world(sim: Sim, withIommu: boolean, pages = 3, memPages = 32): World {
  const mem = new PhysMem(sim, { pages: memPages, name: "ram" });
  const gem = new GemObject(sim, { name: "bo0", size: pages * 4096 });
  const dom = withIommu ? new Iommu(sim, { name: "iommu0", mem }).domainAlloc("gpu0") : null;
  const store = new GemBackingStore(sim, dom === null ? { gem, mem, process: "p1" } : { gem, mem, iommu: dom, process: "p1" });
  return { sim, mem, gem, dom, store };
}

const show = (t: object | undefined): string => (t === undefined || "fault" in t ? "fault" : `${(t as { pfn: number }).pfn}/${(t as { via: string }).via}`);

const noZap = function* (): Generator<never, void, unknown> {
  yield* []; // the driver would clear PTEs and invalidate the TLB here
};

describe("GemBackingStore: populate", () => {
  it("without an IOMMU: every page allocated to the store (label, process); dmaPage is the frame", () => {
    const sim = collectingSim();
    const { mem, store } = world(sim, false);
    let r = "";
    sim.run(function* () {
      r = yield* store.populate();
    });
    expect(r).toBe("ok");
    expect(store.populated).toBe(true);
    expect(store.pages).toEqual([0, 1, 2]);
    expect([0, 1, 2].map((i) => store.dmaPage(i))).toEqual([0, 1, 2]);
    expect(mem.owner(1)).toEqual({ label: "bo0 backing store", process: "p1" });
    expect([mem.mapCount(0), store.iova]).toEqual([0, null]);
    expect(sim.reports).toEqual([]);
  });

  it("with an IOMMU: an IOVA range is allocated and mapped; dmaPage is the IOVA page; the frames count the mapping", () => {
    const sim = collectingSim();
    const { mem, dom, store } = world(sim, true);
    const seen: unknown[] = [];
    sim.run(function* () {
      yield* store.populate();
      seen.push(dom?.translate((store.iova as number) + 0x2000, "write"));
    });
    expect(store.iova).toBe(0x1000);
    expect([0, 1, 2].map((i) => store.dmaPage(i))).toEqual([1, 2, 3]);
    expect([0, 1, 2].map((p) => mem.mapCount(p))).toEqual([1, 1, 1]);
    expect(seen).toEqual([{ pfn: 2, via: "table", gen: 1 }]);
    expect([dom?.mappedBytes, dom?.iovaBytes]).toEqual([0x3000, 0x3000]);
  });

  it("frames that are not consecutive are mapped run by run; each IOVA page reaches its own frame; dmaPage stays until freePages", () => {
    const sim = collectingSim();
    const { mem, dom, store } = world(sim, true, 3);
    const seen: unknown[] = [];
    sim.run(function* () {
      const hole = (yield* mem.allocPage({ label: "other" }, GFP_KERNEL)) as number; // frame 0
      yield* mem.allocPage({ label: "other" }, GFP_KERNEL); // frame 1
      yield* mem.freePage(hole); // frame 0 is free again, 2.. after it
      yield* store.populate();
      for (let i = 0; i < 3; i++) seen.push(show(dom?.translate(store.dmaPage(i) * 4096, "read")));
      yield* store.dmaUnmap();
      seen.push(store.dmaPage(2), store.iova);
      yield* store.flushIotlb();
      yield* store.freePages();
    });
    expect(store.pages).toEqual([]);
    expect(seen).toEqual(["0/table", "2/table", "3/table", 3, null]);
    expect(sim.reports).toEqual([]);
  });

  it("is all-or-nothing: each allocation (page, IOMMU leaf table) failing in turn gives everything back", () => {
    const n = forEachAllocationFailure({
      setup: () => {
        const sim = new Sim({ onReport: "collect" });
        return { sim, world: world(sim, true, 3) };
      },
      *body({ store }) {
        return yield* store.populate();
      },
      snapshot: ({ mem, dom, store }, sim) => ({
        free: mem.freePages,
        usage: memoryStats(sim).usageBytes,
        mapped: dom?.mappedBytes,
        iova: dom?.iovaBytes,
        populated: store.populated,
        pages: store.pages,
      }),
      check: expectUnchangedOnFailure((r) => r === "ok"),
    });
    expect(n).toBe(4); // three pages and one leaf table
  });

  it("runs out of frames under a memory limit: nomem, no frame kept, and a later populate can succeed", () => {
    const sim = collectingSim();
    const { mem, store } = world(sim, false, 4, 8);
    configureMemory(sim, { limitPages: 2 });
    const got: string[] = [];
    sim.run(function* () {
      got.push(yield* store.populate());
      got.push(String(mem.freePages));
    });
    configureMemory(sim, { limitPages: 100 });
    sim.run(function* () {
      got.push(yield* store.populate());
    });
    expect(got).toEqual(["nomem", "8", "ok"]);
    expect(store.pages).toEqual([0, 1, 2, 3]);
  });
});

describe("GemBackingStore: release", () => {
  for (const withIommu of [false, true]) {
    it(`in the right order is clean and leaves no frame allocated${withIommu ? ", no IOVA used and no IOTLB entry" : ""}`, () => {
      const sim = collectingSim();
      const { mem, dom, store } = world(sim, withIommu);
      const order: string[] = [];
      sim.run(function* () {
        yield* store.populate();
        if (dom !== null) dom.translate(0x1000, "read");
        yield* store.release(function* () {
          order.push("zap");
          yield* [];
        });
      });
      expect(order).toEqual(["zap"]);
      expect(sim.reports).toEqual([]);
      expect([mem.freePages, store.populated, store.pages]).toEqual([32, false, []]);
      if (dom !== null) expect([dom.mappedBytes, dom.iovaBytes, dom.iommu.iotlbSize]).toEqual([0, 0, 0]);
    });
  }

  it("freePages before dmaUnmap: phys-page-still-mapped for each frame, naming the store and the domain", () => {
    const sim = collectingSim();
    const { dom, store } = world(sim, true, 2);
    sim.run(function* () {
      yield* store.populate();
      yield* store.freePages();
      yield* store.dmaUnmap();
      yield* store.flushIotlb();
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["phys-page-still-mapped", "phys-page-still-mapped"]);
    expect(sim.reports[0]).toMatchObject({ pfn: 1, owner: "bo0 backing store", mapCount: 1, mappedBy: dom?.label });
    expect(dom?.iovaBytes).toBe(0);
  });

  it("freePages between dmaUnmap and flushIotlb: no report now; the stale IOTLB entry still reaches the freed frame", () => {
    const sim = collectingSim();
    const { mem, dom, store } = world(sim, true, 1);
    const seen: unknown[] = [];
    sim.run(function* () {
      yield* store.populate();
      seen.push(dom?.translate(0x1000, "write"));
      yield* store.dmaUnmap();
      yield* store.freePages();
      seen.push(dom?.translate(0x1000, "write"), mem.state(0));
      yield* store.flushIotlb();
      seen.push(dom?.translate(0x1000, "write"));
    });
    expect(seen).toEqual([{ pfn: 0, via: "table", gen: 1 }, { pfn: 0, via: "stale-iotlb", gen: 1 }, "free", { fault: "unmapped" }]);
    expect(sim.reports).toEqual([]);
  });

  it("the IOVA is given back only at the flush, so a re-populate before it gets another range; after it the range is reused", () => {
    const sim = collectingSim();
    const { store } = world(sim, true, 1);
    const iovas: unknown[] = [];
    sim.run(function* () {
      yield* store.populate();
      iovas.push(store.iova);
      yield* store.dmaUnmap();
      yield* store.freePages();
      yield* store.populate(); // eviction, then revalidation before the flush
      iovas.push(store.iova);
      yield* store.release(noZap);
      yield* store.populate();
      iovas.push(store.iova);
      yield* store.release(noZap);
    });
    expect(iovas).toEqual([0x1000, 0x2000, 0x1000]);
    expect(sim.reports).toEqual([]);
  });

  it("waitIdle blocks until every fence of the GEM's resv has signalled", () => {
    const sim = collectingSim();
    const { gem, store } = world(sim, false, 1);
    const order: string[] = [];
    sim.run(function* () {
      yield* store.populate();
      const fence = new DmaFence(new FenceContext(sim, "gpu"), { name: "job" });
      yield* gem.resv.lock(null);
      yield* gem.resv.reserveFences(1);
      yield* gem.resv.addFence(fence, "bookkeep");
      yield* gem.resv.unlock();
      sim.spawn("signaller", "process", function* () {
        order.push("signal");
        yield* fence.signal();
      });
      yield* store.release(function* () {
        order.push("zap");
        yield* [];
      });
      order.push("released");
    });
    expect(order).toEqual(["signal", "zap", "released"]);
    expect(sim.reports).toEqual([]);
  });

  it("a zap callback that returns a value is a UsageError in the task (a task-exception report), before anything is unmapped", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const { mem, store } = world(sim, true, 1);
    sim.spawn("driver", "process", function* () {
      yield* store.populate();
      yield* store.release((() => 42) as never);
    });
    sim.runAll();
    expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception"]);
    expect(JSON.stringify(sim.reports[0])).toContain("UsageError");
    expect([store.populated, mem.mapCount(0)]).toEqual([true, 1]);
  });
});

describe("GemBackingStore: stages and lifetime", () => {
  it("an op in a stage where it cannot run is gpuvm-wrong-stage and does nothing", () => {
    const sim = collectingSim();
    const { mem, store } = world(sim, true, 1);
    const got: unknown[] = [];
    sim.run(function* () {
      yield* store.freePages(); // nothing to free
      yield* store.dmaUnmap(); // nothing mapped
      yield* store.populate();
      got.push(yield* store.populate()); // twice
      yield* store.dmaUnmap();
      yield* store.dmaUnmap(); // twice
      yield* store.flushIotlb();
      yield* store.flushIotlb(); // harmless
      yield* store.freePages();
      yield* store.freePages(); // twice
    });
    expect(got).toEqual(["ok"]);
    expect(sim.reports.map((r) => [r.kind, (r as { operation?: string }).operation, (r as { stage?: string }).stage])).toEqual([
      ["gpuvm-wrong-stage", "drm_gem_put_pages", "unpopulated"],
      ["gpuvm-wrong-stage", "dma_unmap_sgtable", "not DMA-mapped"],
      ["gpuvm-wrong-stage", "drm_gem_get_pages", "populated"],
      ["gpuvm-wrong-stage", "dma_unmap_sgtable", "not DMA-mapped"],
      ["gpuvm-wrong-stage", "drm_gem_put_pages", "unpopulated"],
    ]);
    expect(sim.reports[0]).toMatchObject({ object: store.label, objectType: "GemBackingStore" });
    expect(mem.freePages).toBe(32);
  });

  it("freed with the GEM (from its free callback); an op on the freed store is use-after-free and does nothing", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 8 });
    const holder: { store: GemBackingStore | null } = { store: null };
    const gem = new GemObject(sim, {
      name: "bo1",
      size: 4096,
      *free() {
        yield* (holder.store as GemBackingStore).release(noZap);
        yield* kfree(holder.store as GemBackingStore);
      },
    });
    const store = new GemBackingStore(sim, { gem, mem });
    holder.store = store;
    sim.run(function* () {
      yield* store.populate();
      yield* gem.put("creator");
      yield* store.populate(GFP_KERNEL);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["use-after-free"]);
    expect(mem.freePages).toBe(8);
  });
});

describe("docs/device-backing-store.md example", () => {
  it("prints what the page says", () => {
    expect(backingExample()).toBe(
      [
        "populate: ok",
        "frames [0,1] at IOVA 0x1000; PTEs hold 1, 2",
        "zap: clear the PTEs and invalidate the GPU TLB here",
        "released: 64 frames free, 0 bytes mapped, 0 bytes of IOVA held",
        "report: phys-page-still-mapped pfn 1",
        "report: phys-page-still-mapped pfn 0",
      ].join("\n"),
    );
  });
});
