import { describe, expect, it } from "vitest";
import { explore, type Scenario } from "../../src/index.js";
import { evictNoWait, invalidateStaleDma, scenario as staleDmaWorld } from "../../src/scenarios/invalidate-stale-dma.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = invalidateStaleDma.variants;
function variant(name: string): Scenario {
  const s = invalidateStaleDma.more?.find((m) => m.name === name)?.scenario;
  if (s === undefined) throw new Error(`no variant ${name}`);
  return s;
}

describe("invalidate-stale-dma, buggy: a lazy teardown without the fence wait", () => {
  it("the job writes through its TLB and the stale IOTLB entry into a frame the shrinker freed (seed 2)", () => {
    // Seed numbers follow the library ops' step counts (Gpu.submit became one step shorter: seed 23 → 2).
    const failure = runSeeds(buggy, { seeds: 50 }).firstFailure;
    expect(failure?.seed).toBe(2);
    const r = expectKind(failure?.report, "dma-use-after-free");
    expect(r.job).toBe("render");
    expect(r.access).toBe("write");
    expect(r.va).toBe(0x10_1000);
    expect(r.path).toEqual(["tlb", "stale-iotlb"]);
    expect(r.process).toBe("app");
    expect(r.owner).toBeNull();
    expect(r.freedBy).toMatchObject({ task: "pressure/2", op: "__free_page" });
    expect(r.mappedBy).toBe('IommuDomain#3 "gpu0" in Iommu#2 "iommu0"');
    expect(failure?.reports.map((x) => x.kind)).toEqual(["dma-use-after-free"]);
  });

  it("under PCT and random exploration, every failure is a DMA use-after-free through the stale IOTLB", { timeout: 60_000 }, () => {
    for (const strategy of ["random", "pct"] as const) {
      const r = explore(buggy, { strategy, executions: 300, stopAtFirst: false, shrink: false });
      for (const f of r.failures) {
        const d = expectKind(f.reports[0], "dma-use-after-free");
        expect(d.path.at(-1)).toBe("stale-iotlb");
      }
    }
  });
});

describe("invalidate-stale-dma, stale-tlb: no IOMMU, no TLB invalidation", () => {
  it("the job's TLB still holds the freed frame", () => {
    const failure = runSeeds(variant("stale-tlb"), { seeds: 50 }).firstFailure;
    const r = expectKind(failure?.report, "dma-use-after-free");
    expect(r.path).toEqual(["stale-tlb"]);
    expect(r.job).toBe("render");
    expect(r.freedBy?.task).toBe("pressure/2");
    expect(r.mappedBy).toBe('GpuPageTable#2 "vm page table"');
  });
});

describe("invalidate-stale-dma, clean variants", () => {
  it.each([
    ["fixed (wait, then PTE, TLB, IOMMU, IOTLB, then free)", fixed],
    ["no-wait-full-teardown (late accesses fault to the scratch page)", variant("no-wait-full-teardown")],
  ] as const)("%s is clean under random and PCT exploration", { timeout: 60_000 }, (_name, scenario) => {
    for (const strategy of ["random", "pct"] as const) {
      const r = explore(scenario, { strategy, executions: 300, stopAtFirst: false, shrink: false });
      expect(r.failures).toEqual([]);
    }
  });

  it("no-wait-full-teardown: in some schedules the job did fault, and its page went to the scratch page", { timeout: 60_000 }, () => {
    let seen: { pt: { walk(va: number): { pfn: number } | null }; scratchDma: number } | null = null;
    const s = staleDmaWorld(true, evictNoWait, (w) => {
      seen = w;
    });
    let faulted = 0;
    for (let seed = 0; seed < 100; seed++) {
      const sim = runOnce(s, { seed });
      expect(sim.reports).toEqual([]);
      const w = seen as { pt: { walk(va: number): { pfn: number } | null }; scratchDma: number } | null;
      if (w !== null && [0, 1].some((i) => w.pt.walk(0x10_0000 + i * 4096)?.pfn === w.scratchDma)) faulted++;
    }
    expect(faulted).toBeGreaterThan(0);
  });
});
