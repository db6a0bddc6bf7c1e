/**
 * The toy driver with one deliberate bug each (ToyBug): exploration of the
 * same workload finds it, and the report is the one the hardware model
 * honestly produces for that mistake (kind, access path, job, address).
 */
import { describe, expect, it } from "vitest";
import { explore, type DmaCrossOwnerReport, type DmaUseAfterFreeReport, type GpuPageFaultReport, type PhysPageStillMappedReport, type Report } from "../../src/index.js";
import { toyWorkload, type ToyWorkloadOptions } from "../../examples/toy-driver/workload.js";

/** The first failure's report when exploring the workload with `options` (fixed budget and seed). */
function firstReport(options: ToyWorkloadOptions, strategy: "pct" | "random", executions: number, seed = 1): Report {
  const result = explore(toyWorkload(options), { name: "toy-driver-bug", strategy, executions, seed, shrink: false });
  const failure = result.failures[0];
  if (failure === undefined) throw new Error(`no failure in ${result.executions} executions`);
  return failure.report;
}

describe("toy driver: each deliberate bug is caught", { timeout: 20_000 }, () => {
  it("ignoreReadRetry: PTEs written from pages munmap freed meanwhile; the exec's job reads them: dma-use-after-free", () => {
    const r = firstReport({ bug: "ignoreReadRetry" }, "random", 10, 6) as DmaUseAfterFreeReport | DmaCrossOwnerReport;
    expect(r.kind).toBe("dma-use-after-free");
    // The userptr's GPU VA, read by an exec job of the process owning it, through the PTE and the IOMMU.
    expect(r.va).toBe(0x40_0000);
    expect(r.access).toBe("read");
    expect(r.job).toMatch(/^exec /);
    expect(r.process).toBe("p2");
    expect(r.path).toEqual(["pte", "iommu-table"]);
    expect(r.freedBy?.op).toBe("__free_page");
  });

  it("skipFenceWaitBeforeEvict: a BO evicted under a queued job; the job finds no PTE: gpu-page-fault", () => {
    const r = firstReport({ bug: "skipFenceWaitBeforeEvict" }, "pct", 60) as GpuPageFaultReport;
    expect(r.kind).toBe("gpu-page-fault");
    expect(r.reason).toBe("not-present");
    expect(r.path).toEqual(["pte"]);
    expect(r.job).toMatch(/^exec /);
    // One of the buffers the workload reads: a BO range, never the userptr.
    expect([0x10_0000, 0x20_0000, 0x30_0000]).toContain(r.va & ~0xf_ffff);
  });

  it("freeBeforeTlbInvalidate (no IOMMU): a job goes through the stale TLB entry to the frame the eviction freed", () => {
    const r = firstReport({ bug: "freeBeforeTlbInvalidate", iommu: false }, "random", 40) as DmaUseAfterFreeReport | DmaCrossOwnerReport;
    expect(["dma-use-after-free", "dma-cross-owner"]).toContain(r.kind);
    expect(r.path).toEqual(["stale-tlb"]);
    expect(r.job).toMatch(/^exec /);
  });

  it("freeBeforeIommuFlush: pages freed while the IOMMU still maps them: phys-page-still-mapped", () => {
    const r = firstReport({ bugs: { freeBeforeIommuFlush: true } }, "random", 20) as PhysPageStillMappedReport;
    expect(r.kind).toBe("phys-page-still-mapped");
    expect(r.owner).toMatch(/ backing store$/);
    expect(r.mappedBy).toMatch(/^IommuDomain/);
    expect(r.freed.op).toBe("__free_page");
  });
});
