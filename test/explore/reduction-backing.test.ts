/**
 * The reduction is sound for the GEM backing store and the IOVA allocator
 * (effect kinds gem-backing and iova-alloc, the resv wait in waitIdle, and
 * the PhysMem accounting of IOMMU maps): DFS with DPOR reaches the same
 * outcomes as the unreduced search in small programs where a release races
 * a fence signal and a device access, where a teardown in a wrong order
 * races a device access, where a release races another store's populate
 * for frames and IOVA, and where two populates of one store race.
 */
import { describe, expect, it } from "vitest";
import { access, DmaFence, FenceContext, GemBackingStore, GemObject, Iommu, PhysMem, type IommuDomain, type Sim } from "../../src/index.js";
import { reached } from "../support/reduction.js";

const show = (t: object): string => ("fault" in t ? `fault:${(t as { fault: string }).fault}` : `${(t as { pfn: number }).pfn}/${(t as { via: string }).via}`);

function world(sim: Sim, name = "bo"): { mem: PhysMem; dom: IommuDomain; store: GemBackingStore; gem: GemObject } {
  const mem = new PhysMem(sim, { pages: 4 });
  const dom = new Iommu(sim, { mem, iotlbEntries: 4 }).domainAlloc("gpu");
  const gem = new GemObject(sim, { name, size: 4096 });
  return { mem, dom, gem, store: new GemBackingStore(sim, { gem, mem, iommu: dom }) };
}

const PROGRAMS: Record<string, (sim: Sim, seen: (s: string) => void) => void> = {
  "release waits for the job's fence: the device's access always hits the table, whatever the interleaving": (sim, seen) => {
    const { dom, gem, store } = world(sim);
    const step = sim.share({});
    sim.spawn("driver", "process", function* () {
      yield* store.populate();
      const fence = new DmaFence(new FenceContext(sim, "gpu"), { name: "job" });
      yield* gem.resv.lock(null);
      yield* gem.resv.reserveFences(1);
      yield* gem.resv.addFence(fence, "bookkeep");
      yield* gem.resv.unlock();
      sim.spawn("gpu", "process", function* () {
        yield* access(step, "read");
        seen(`gpu:${show(dom.translate(0x1000, "write"))}`);
        yield* fence.signal();
      });
      yield* store.release(function* () {
        yield* access(step, "write");
      });
      seen(`released:${store.populated}`);
    });
  },
  "a teardown without the wait, freeing before the unmap: the device's access sees the table, a stale IOTLB entry or a fault": (sim, seen) => {
    const { dom, store } = world(sim);
    const step = sim.share({});
    sim.spawn("driver", "process", function* () {
      yield* store.populate();
      sim.spawn("gpu", "process", function* () {
        yield* access(step, "read");
        const a = show(dom.translate(0x1000, "write"));
        yield* access(step, "read");
        seen(`${a} ${show(dom.translate(0x1000, "write"))}`);
      });
      yield* store.freePages();
      yield* store.dmaUnmap();
      yield* store.flushIotlb();
    });
  },
  "a release racing another store's populate (no IOMMU, one frame free): the second gets the freed frame, or fails": (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 2 });
    const gemA = new GemObject(sim, { name: "a", size: 4096 });
    const gemB = new GemObject(sim, { name: "b", size: 4096 });
    const storeA = new GemBackingStore(sim, { gem: gemA, mem });
    const storeB = new GemBackingStore(sim, { gem: gemB, mem });
    sim.spawn("setup", "process", function* () {
      yield* storeA.populate();
      yield* mem.allocPage({ label: "other" }, "GFP_KERNEL");
      sim.spawn("evict", "process", function* () {
        yield* storeA.freePages();
      });
      sim.spawn("validate", "process", function* () {
        const r = yield* storeB.populate();
        seen(`b:${r} pfn ${storeB.pages.join(",")}`);
      });
    });
  },
  "an IOVA free racing an IOVA allocation: the freed range is reused or not": (sim, seen) => {
    const dom = new Iommu(sim).domainAlloc("gpu");
    sim.spawn("setup", "process", function* () {
      const a = (yield* dom.iovaAlloc(0x1000)) as number;
      sim.spawn("free", "process", function* () {
        yield* dom.iovaFree(a, 0x1000);
      });
      sim.spawn("alloc", "process", function* () {
        seen(`iova 0x${((yield* dom.iovaAlloc(0x1000)) as number).toString(16)}`);
      });
    });
  },
  "two populates of one store: one does the work, the other is a wrong-stage report": (sim, seen) => {
    const { store } = world(sim);
    for (const name of ["p", "q"]) {
      sim.spawn(name, "process", function* () {
        seen(`${name}:${yield* store.populate()}`);
      });
    }
  },
};

describe("reduction soundness: GEM backing store and IOVA allocation", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const dpor = reached(build, "dpor");
      expect(dpor.length).toBeGreaterThan(1);
      expect(dpor).toEqual(reached(build, "none"));
    });
  }
});
