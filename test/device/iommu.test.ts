import { describe, expect, it } from "vitest";
import { configureMemory, GFP_KERNEL, Iommu, memoryStats, Mutex, PhysMem, Sim } from "../../src/index.js";
import { main as iommuExample } from "../../examples/device-iommu.js";
import { collectingSim } from "../support/collecting-sim.js";

const RW = { read: true, write: true };

describe("Iommu / IommuDomain", () => {
  it("map then translate: a table walk first, then an IOTLB hit; frames follow the pfn page by page", () => {
    const sim = collectingSim();
    const iommu = new Iommu(sim, { name: "iommu0" });
    const dom = iommu.domainAlloc("gpu0");
    const seen: unknown[] = [];
    sim.run(function* () {
      expect(yield* dom.map(0x10000, 100, 0x3000, RW)).toBe("ok");
      seen.push(dom.translate(0x11008, "write"), dom.translate(0x11000, "read"), dom.translate(0x12fff, "read"));
    });
    expect(seen).toEqual([
      { pfn: 101, via: "table", gen: -1 },
      { pfn: 101, via: "iotlb", gen: -1 },
      { pfn: 102, via: "table", gen: -1 },
    ]);
    expect(dom.mappedBytes).toBe(0x3000);
    expect(sim.reports).toEqual([]);
  });

  it("stale IOTLB window: after unmap and before the flush a device access still reaches the old frame; after the flush it faults", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc("gpu0");
    const seen: unknown[] = [];
    sim.run(function* () {
      yield* dom.map(0x200000, 7, 0x1000, RW);
      seen.push(dom.translate(0x200000, "write")); // 1. fills the IOTLB
      seen.push(yield* dom.unmap(0x200000, 0x1000)); // 2. unmapped, the IOTLB left stale
      seen.push(dom.translate(0x200000, "write")); // 3. still the old frame
      yield* dom.flushIotlb(0x200000, 0x1000); // 4. iotlb_sync
      seen.push(dom.translate(0x200000, "write")); // 5. an IOMMU fault
    });
    expect(seen).toEqual([{ pfn: 7, via: "table", gen: -1 }, 0x1000, { pfn: 7, via: "stale-iotlb", gen: -1 }, { fault: "unmapped" }]);
    expect(sim.reports).toEqual([]);
  });

  it("a remap to another frame before the flush: the stale entry still gives the old frame", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    const seen: unknown[] = [];
    sim.run(function* () {
      yield* dom.map(0, 1, 0x1000, RW);
      dom.translate(0, "read");
      yield* dom.unmap(0, 0x1000);
      yield* dom.map(0, 2, 0x1000, RW);
      seen.push(dom.translate(0, "read"));
      yield* dom.flushIotlb();
      seen.push(dom.translate(0, "read"));
    });
    expect(seen).toEqual([
      { pfn: 1, via: "stale-iotlb", gen: -1 },
      { pfn: 2, via: "table", gen: -1 },
    ]);
  });

  it("an access never mapped is an unmapped fault; a write through a read-only mapping is a permission fault", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    const seen: unknown[] = [];
    sim.run(function* () {
      seen.push(dom.translate(0x5000, "read"));
      yield* dom.map(0x5000, 9, 0x1000, { read: true, write: false });
      seen.push(dom.translate(0x5000, "write"), dom.translate(0x5000, "read"), dom.translate(0x5000, "write"));
    });
    expect(seen).toEqual([{ fault: "unmapped" }, { fault: "permission" }, { pfn: 9, via: "table", gen: -1 }, { fault: "permission" }]);
  });

  it("unmap stops at the first page not mapped and returns the bytes unmapped (as __iommu_unmap)", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    const got: number[] = [];
    sim.run(function* () {
      yield* dom.map(0, 10, 0x2000, RW);
      yield* dom.map(0x3000, 20, 0x1000, RW);
      got.push(yield* dom.unmap(0, 0x4000), yield* dom.unmap(0x2000, 0x1000), yield* dom.unmap(0x3000, 0x1000));
    });
    expect(got).toEqual([0x2000, 0, 0x1000]);
    expect(dom.mappedBytes).toBe(0);
  });

  it("flushIotlb of a range drops only that range; of another domain drops nothing of this one", () => {
    const sim = collectingSim();
    const iommu = new Iommu(sim);
    const a = iommu.domainAlloc("a");
    const b = iommu.domainAlloc("b");
    const seen: unknown[] = [];
    sim.run(function* () {
      yield* a.map(0, 1, 0x2000, RW);
      yield* b.map(0, 5, 0x1000, RW);
      a.translate(0, "read");
      a.translate(0x1000, "read");
      b.translate(0, "read");
      yield* a.unmap(0, 0x2000);
      yield* b.unmap(0, 0x1000);
      yield* a.flushIotlb(0x1000, 0x1000);
      yield* b.flushIotlb();
      seen.push(a.translate(0, "read"), a.translate(0x1000, "read"), b.translate(0, "read"));
    });
    expect(seen).toEqual([{ pfn: 1, via: "stale-iotlb", gen: -1 }, { fault: "unmapped" }, { fault: "unmapped" }]);
    expect(iommu.iotlbSize).toBe(1);
  });

  it("the IOTLB holds iotlbEntries translations and evicts the oldest first (an evicted stale entry is gone)", () => {
    const sim = collectingSim();
    const iommu = new Iommu(sim, { iotlbEntries: 2 });
    const dom = iommu.domainAlloc();
    const seen: unknown[] = [];
    sim.run(function* () {
      yield* dom.map(0, 1, 0x3000, RW);
      dom.translate(0, "read");
      dom.translate(0x1000, "read");
      dom.translate(0x2000, "read"); // evicts page 0
      yield* dom.unmap(0, 0x3000);
      seen.push(dom.translate(0, "read"), dom.translate(0x1000, "read"));
    });
    expect(seen).toEqual([{ fault: "unmapped" }, { pfn: 2, via: "stale-iotlb", gen: -1 }]);
    expect(iommu.iotlbSize).toBe(2);
  });

  it("leaf tables are charged to the memory model: one 4 KiB table per 2 MiB of IOVA, given back when empty", () => {
    const sim = new Sim();
    configureMemory(sim, { limitPages: 256 });
    const dom = new Iommu(sim).domainAlloc();
    const usage: number[] = [];
    sim.run(function* () {
      yield* dom.map(0x1ff000, 0, 0x2000, RW); // straddles two tables
      usage.push(memoryStats(sim).usageBytes);
      yield* dom.map(0x200000 + 0x1000, 2, 0x1000, RW); // second table exists already
      usage.push(memoryStats(sim).usageBytes);
      yield* dom.unmap(0x1ff000, 0x1000);
      usage.push(memoryStats(sim).usageBytes);
      yield* dom.unmap(0x200000, 0x2000);
      usage.push(memoryStats(sim).usageBytes);
    });
    expect(usage).toEqual([8192, 8192, 4096, 0]);
  });

  it("a map whose table allocation fails returns nomem and maps nothing", () => {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 1 });
    const dom = new Iommu(sim).domainAlloc();
    const got: unknown[] = [];
    sim.run(function* () {
      got.push(yield* dom.map(0, 0, 0x400000, RW)); // two tables: over the limit
      got.push(dom.translate(0, "read"), memoryStats(sim).usageBytes);
      got.push(yield* dom.map(0, 0, 0x1000, RW));
    });
    expect(got).toEqual(["nomem", { fault: "unmapped" }, 0, "ok"]);
    expect(sim.reports).toEqual([]);
  });

  it("two maps racing for one missing leaf table: both charge it, the second to map gives its charge back", () => {
    const sim = collectingSim(); // round-robin: a looks, b looks, a charges, b charges, a maps, b maps
    configureMemory(sim, { limitPages: 4 });
    const dom = new Iommu(sim).domainAlloc();
    const got: unknown[] = [];
    for (const [name, iova] of [["a", 0], ["b", 0x1000]] as const) {
      sim.spawn(name, "process", function* () {
        got.push(`${name}=${yield* dom.map(iova, 1, 0x1000, RW)}`);
      });
    }
    sim.runAll();
    expect(got.sort()).toEqual(["a=ok", "b=ok"]);
    expect([dom.mappedBytes, memoryStats(sim).usageBytes, memoryStats(sim).allocations]).toEqual([0x2000, 4096, 2]);
  });

  it("docs/device-iommu.md: the example prints what the page says", () => {
    expect(iommuExample()).toBe(
      [
        'first access: {"pfn":42,"via":"table","gen":-1}',
        "unmapped 4096 bytes",
        'before the flush: {"pfn":42,"via":"stale-iotlb","gen":-1}',
        'after the flush: {"fault":"unmapped"}',
        'TLB before invalidate: {"pfn":512,"write":true,"size":2097152}',
        'TLB after invalidate: "miss"',
      ].join("\n"),
    );
  });
});

describe("Iommu with a PhysMem: mapping counts and frame generations", () => {
  it("map notes each frame mapped by the domain, unmap notes it unmapped; entries carry the frame's generation", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 16 });
    const dom = new Iommu(sim, { mem }).domainAlloc("gpu0");
    const seen: unknown[] = [];
    sim.run(function* () {
      const a = (yield* mem.allocPage({ label: "bo" }, GFP_KERNEL)) as number;
      const b = (yield* mem.allocPage({ label: "bo" }, GFP_KERNEL)) as number;
      expect([a, b]).toEqual([0, 1]);
      yield* dom.map(0x1000, a, 0x2000, RW);
      seen.push([mem.mapCount(0), mem.mapCount(1), mem.mappedBy(0)]);
      seen.push(dom.translate(0x2000, "read"));
      yield* dom.unmap(0x1000, 0x2000);
      seen.push([mem.mapCount(0), mem.mapCount(1)]);
      yield* dom.flushIotlb();
      yield* mem.freePage(a);
      yield* mem.freePage(b);
    });
    expect(seen).toEqual([[1, 1, dom.label], { pfn: 1, via: "table", gen: 1 }, [0, 0]]);
    expect(sim.reports).toEqual([]);
  });

  it("freeing a frame the domain's table still maps is phys-page-still-mapped, naming the domain", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4, name: "ram" });
    const dom = new Iommu(sim, { mem }).domainAlloc("gpu0");
    sim.run(function* () {
      const pfn = (yield* mem.allocPage({ label: "bo0 backing store" }, GFP_KERNEL)) as number;
      yield* dom.map(0, pfn, 0x1000, RW);
      yield* mem.freePage(pfn);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["phys-page-still-mapped"]);
    expect(sim.reports[0]).toMatchObject({ pfn: 0, owner: "bo0 backing store", mapCount: 1, mappedBy: dom.label });
  });

  it("unmapped then freed before the IOTLB flush: no report (the IOTLB is a cache); the stale entry keeps the old generation", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const dom = new Iommu(sim, { mem }).domainAlloc("gpu0");
    const seen: unknown[] = [];
    sim.run(function* () {
      const pfn = (yield* mem.allocPage({ label: "a", process: "p1" }, GFP_KERNEL)) as number;
      yield* dom.map(0, pfn, 0x1000, RW);
      dom.translate(0, "write"); // fills the IOTLB, generation 1
      yield* dom.unmap(0, 0x1000);
      yield* mem.freePage(pfn); // no mapping left: no report
      const again = (yield* mem.allocPage({ label: "b", process: "p2" }, GFP_KERNEL)) as number;
      seen.push(again, mem.generation(again), dom.translate(0, "write"));
      yield* dom.map(0, again, 0x1000, RW); // the same frame, a new generation: the cached entry is stale
      seen.push(dom.translate(0, "write"));
      yield* dom.flushIotlb();
      seen.push(dom.translate(0, "write"));
    });
    expect(seen).toEqual([0, 2, { pfn: 0, via: "stale-iotlb", gen: 1 }, { pfn: 0, via: "stale-iotlb", gen: 1 }, { pfn: 0, via: "table", gen: 2 }]);
    expect(sim.reports).toEqual([]);
  });
});

describe("IommuDomain.iovaAlloc / iovaFree (alloc_iova / free_iova)", () => {
  it("first fit from the lowest address above page 0; a freed range is the first reused", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    const got: unknown[] = [];
    sim.run(function* () {
      const a = yield* dom.iovaAlloc(0x2000);
      const b = yield* dom.iovaAlloc(0x1000);
      const c = yield* dom.iovaAlloc(0x3000);
      got.push(a, b, c, dom.iovaBytes);
      yield* dom.iovaFree(a as number, 0x2000);
      got.push(yield* dom.iovaAlloc(0x1000)); // fits the hole at the start
      got.push(yield* dom.iovaAlloc(0x2000)); // does not fit the 4 KiB left there: after c
      got.push(yield* dom.iovaAlloc(0x1000)); // the rest of the hole
    });
    expect(got).toEqual([0x1000, 0x3000, 0x4000, 0x6000, 0x1000, 0x7000, 0x2000]);
  });

  it("a size the aperture cannot hold any more returns null and changes nothing", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    const got: unknown[] = [];
    sim.run(function* () {
      got.push(yield* dom.iovaAlloc(2 ** 48 - 0x2000));
      got.push(yield* dom.iovaAlloc(0x2000));
      got.push(yield* dom.iovaAlloc(0x1000));
    });
    expect(got).toEqual([0x1000, null, 2 ** 48 - 0x1000]);
    expect(dom.iovaBytes).toBe(2 ** 48 - 0x1000);
  });

  it("freeing a range that is not allocated is an ArgumentError in the task (naming iova, or size for a wrong size); nothing changes", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    const caught: unknown[] = [];
    sim.run(function* () {
      const a = (yield* dom.iovaAlloc(0x2000)) as number;
      for (const [iova, size] of [
        [0x5000, 0x1000],
        [a, 0x1000],
        [a + 0x1000, 0x1000],
      ] as const) {
        try {
          yield* dom.iovaFree(iova, size);
        } catch (e) {
          caught.push([(e as Error).constructor.name, (e as { argument: string }).argument]);
        }
      }
      yield* dom.iovaFree(a, 0x2000);
      try {
        yield* dom.iovaFree(a, 0x2000);
      } catch (e) {
        caught.push([(e as Error).constructor.name, (e as { argument: string }).argument]);
      }
    });
    expect(caught).toEqual([
      ["ArgumentError", "iova"],
      ["ArgumentError", "size"],
      ["ArgumentError", "iova"],
      ["ArgumentError", "iova"],
    ]);
    expect(dom.iovaBytes).toBe(0);
    expect(sim.reports).toEqual([]);
  });
});

describe("IommuDomain.map(..., gfp)", () => {
  // The leaf table's charge uses the caller's gfp: GFP_KERNEL under a lock teaches
  // lockdep "lock → fs_reclaim"; GFP_ATOMIC (dma-iommu's map path) does not.
  for (const [gfp, edge] of [["GFP_KERNEL", true], ["GFP_ATOMIC", false], [undefined, true]] as const) {
    it(`a map that needs a leaf table under a driver lock with ${gfp ?? "the default"}: lock → fs_reclaim ${String(edge)}`, () => {
      const sim = collectingSim();
      const dom = new Iommu(sim).domainAlloc("gpu0");
      const lock = new Mutex(sim, "drv->notifier_lock", { static: true });
      let result = "";
      sim.run(function* () {
        yield* lock.lock();
        result = gfp === undefined ? yield* dom.map(0, 1, 0x1000, RW) : yield* dom.map(0, 1, 0x1000, RW, gfp);
        yield* lock.unlock();
      });
      expect(result).toBe("ok");
      expect(sim.lockdep.hasEdge(lock.lockClass, sim.lockdep.maps.fsReclaim.lockClass)).toBe(edge);
      expect(dom.translate(0, "read")).toMatchObject({ pfn: 1 });
      expect(sim.reports).toEqual([]);
    });
  }
});
