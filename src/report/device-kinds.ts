/**
 * The device model's report kinds (src/device/): physical page frames freed
 * while something still maps them, or freed twice. Each kind is its data
 * type, listed in {@link DeviceReportKinds}, and its definition: headline,
 * rows, fingerprint.
 */
import { defineReportKind } from "./registry.js";
import type { ReportBase, SiteRef } from "./report.js";

/** The device model's kinds by name, each key equal to its report's `kind`. kinds.ts adds this map to `ReportKinds`. */
export interface DeviceReportKinds {
  "phys-page-still-mapped": PhysPageStillMappedReport;
  "phys-page-double-free": PhysPageDoubleFreeReport;
}

/**
 * A page frame was freed while a GPU PTE or IOMMU entry still points at it:
 * the device can still reach memory the kernel gave back. The frame is
 * freed anyway (as __free_page() would).
 */
export interface PhysPageStillMappedReport extends ReportBase {
  readonly kind: "phys-page-still-mapped";
  /** The PhysMem (`PhysMem#1 "ram"`). */
  readonly mem: string;
  /** The frame. */
  readonly pfn: number;
  /** Its owner's label at the free. */
  readonly owner: string;
  /** Mappings still pointing at it. */
  readonly mapCount: number;
  /** The last mapper's label (a page table, an IOMMU domain), if known. */
  readonly mappedBy: string | null;
  /** Where it was freed. */
  readonly freed: SiteRef;
}

/** A page frame that is already free was freed again; nothing changed. */
export interface PhysPageDoubleFreeReport extends ReportBase {
  readonly kind: "phys-page-double-free";
  readonly mem: string;
  readonly pfn: number;
  /** The earlier free, null if the frame was never allocated. */
  readonly firstFree: SiteRef | null;
  readonly secondFree: SiteRef;
}

defineReportKind({
  kind: "phys-page-still-mapped",
  headline: (r) => `BUG: gpuvm-sim: freeing mapped page pfn ${r.pfn} of ${r.mem}`,
  body: (r, out) => {
    out
      .line(`page pfn ${r.pfn} (owner ${r.owner}) freed with ${r.mapCount} mapping(s) left, last mapped by ${r.mappedBy ?? "(unknown)"}`)
      .blank()
      .site("freed by", r.freed)
      .blank()
      .line("A device can still reach this frame through the PTE or IOMMU entry. Clear the PTEs,")
      .line("invalidate the TLB, unmap and flush the IOMMU before freeing. The frame was freed anyway.");
  },
  fingerprint: (r) => [r.freed.op],
});

defineReportKind({
  kind: "phys-page-double-free",
  headline: (r) => `BUG: gpuvm-sim: double free of page pfn ${r.pfn} of ${r.mem}`,
  body: (r, out) => {
    out.line(`page pfn ${r.pfn} is already free`).blank();
    if (r.firstFree !== null) out.site("first freed by", r.firstFree);
    out.site("freed again by", r.secondFree).blank().line("Nothing changed.");
  },
  fingerprint: (r) => [r.secondFree.op],
});
