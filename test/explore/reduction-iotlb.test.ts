/**
 * The reduction is sound for the IOMMU and GPU TLB effects (iommu-map,
 * iommu-unmap, iotlb-flush, tlb-invalidate, tlb-invalidate-all) and for
 * the queries an engine step runs (translate, lookup, fill, which note the
 * domain, the Iommu and the TLB): DFS with DPOR reaches the same outcomes
 * as the unreduced search in small programs where a device task's accesses
 * race a driver's unmap and flush, two maps race for one leaf table under a
 * one-page limit, and an engine's TLB use races an invalidation.
 */
import { describe, expect, it } from "vitest";
import { access, configureMemory, GpuTlb, Iommu, type Sim } from "../../src/index.js";
import { reached } from "../support/reduction.js";

const RW = { read: true, write: true };

const show = (t: object): string => ("fault" in t ? `fault:${(t as { fault: string }).fault}` : `${(t as { pfn: number }).pfn}/${(t as { via: string }).via}`);

const PROGRAMS: Record<string, (sim: Sim, seen: (s: string) => void) => void> = {
  "a device's two accesses against unmap then flush: table, iotlb, stale-iotlb or fault": (sim, seen) => {
    const dom = new Iommu(sim).domainAlloc("gpu");
    const step = sim.share({});
    sim.spawn("driver", "process", function* () {
      yield* dom.map(0, 5, 0x1000, RW);
      sim.spawn("engine", "process", function* () {
        yield* access(step, "read");
        const a = show(dom.translate(0, "write"));
        yield* access(step, "read");
        const b = show(dom.translate(0, "write"));
        seen(`${a} ${b}`);
      });
      yield* dom.unmap(0, 0x1000);
      yield* dom.flushIotlb();
    });
  },
  "two maps needing one leaf table under a one-page limit: the second finds it made, or fails": (sim, seen) => {
    configureMemory(sim, { limitPages: 1 });
    const dom = new Iommu(sim).domainAlloc("gpu");
    const got: Record<string, string> = {};
    for (const [name, iova] of [["a", 0], ["b", 0x1000]] as const) {
      sim.spawn(name, "process", function* () {
        got[name] = yield* dom.map(iova, 1, 0x1000, RW);
        if (Object.keys(got).length === 2) seen(`a=${got["a"]} b=${got["b"]} bytes=${dom.mappedBytes}`);
      });
    }
  },
  "an engine's lookup-or-fill against a PTE clear and an invalidation": (sim, seen) => {
    const tlb = new GpuTlb(sim);
    const init: { pfn: number | null } = { pfn: 9 };
    const pte = sim.share(init);
    sim.spawn("engine", "process", function* () {
      for (let i = 0; i < 2; i++) {
        yield* access(pte, "read");
        const hit = tlb.lookup(0x1000);
        if (hit !== null) seen(`${i}:tlb:${hit.pfn}`);
        else if (pte.pfn === null) seen(`${i}:fault`);
        else {
          tlb.fill(0x1000, { pfn: pte.pfn, write: true, size: 4096 });
          seen(`${i}:walk:${pte.pfn}`);
        }
      }
    });
    sim.spawn("driver", "process", function* () {
      yield* access(pte, "write");
      pte.pfn = null;
      yield* tlb.invalidate(0, 0x2000);
      yield* tlb.invalidateAll();
    });
  },
};

describe("reduction soundness: IOMMU and GPU TLB", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const dpor = reached(build, "dpor");
      expect(dpor.length).toBeGreaterThan(1);
      expect(dpor).toEqual(reached(build, "none"));
    });
  }
});
