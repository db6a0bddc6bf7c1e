/**
 * The device model's report kinds (src/device/): physical page frames freed
 * while something still maps them, or freed twice, or pinned, unpinned or
 * dirtied against their state. Each kind is its data
 * type, listed in {@link DeviceReportKinds}, and its definition: headline,
 * rows, fingerprint.
 */
import type { ReportText } from "./frame.js";
import { defineReportKind } from "./registry.js";
import type { ReportBase, SiteRef } from "./report.js";

/** The device model's kinds by name, each key equal to its report's `kind`. kinds.ts adds this map to `ReportKinds`. */
export interface DeviceReportKinds {
  "phys-page-still-mapped": PhysPageStillMappedReport;
  "phys-page-double-free": PhysPageDoubleFreeReport;
  "phys-page-misuse": PhysPageMisuseReport;
  "pt-prealloc-short": PtPreallocShortReport;
  "gpu-page-fault": GpuPageFaultReport;
  "dma-use-after-free": DmaUseAfterFreeReport;
  "dma-cross-owner": DmaCrossOwnerReport;
}

/** One hop of a device access's translation: a TLB hit (current or stale), the page-table walk, an IOTLB hit (current or stale), the IOMMU table walk. */
export type DmaPathStep = "tlb" | "stale-tlb" | "pte" | "iotlb" | "stale-iotlb" | "iommu-table";

/** A GPU page table map took its table pages from a preallocated pool that held fewer than it needed; the map changed nothing and returned "nomem". */
export interface PtPreallocShortReport extends ReportBase {
  readonly kind: "pt-prealloc-short";
  /** The page table. */
  readonly pageTable: string;
  /** The map's first VA. */
  readonly va: number;
  /** Table pages the map needed. */
  readonly needed: number;
  /** Table pages the pool held. */
  readonly remaining: number;
}

/** A GPU job's access found no translation (and no fault handler installed one): the job failed, its finished fence carries an error. */
export interface GpuPageFaultReport extends ReportBase {
  readonly kind: "gpu-page-fault";
  /** The GPU. */
  readonly gpu: string;
  /** The job's name. */
  readonly job: string;
  /** The faulting VA. */
  readonly va: number;
  readonly access: "read" | "write";
  /** No PTE, a PTE without the permission, or no IOMMU entry for the PTE's IOVA. */
  readonly reason: "not-present" | "permission" | "iommu";
  /** The translation path up to the fault. */
  readonly path: readonly DmaPathStep[];
}

/** What the DMA checks know about the frame an access landed on. */
export interface DmaAccessReport extends ReportBase {
  readonly gpu: string;
  readonly job: string;
  readonly va: number;
  readonly access: "read" | "write";
  /** Bytes of the access within this page. */
  readonly bytes: number;
  /** The translation path that reached the frame. */
  readonly path: readonly DmaPathStep[];
  /** The frame reached. */
  readonly pfn: number;
  /** Its owner now (null when free) and that owner's process. */
  readonly owner: string | null;
  readonly ownerProcess: string | null;
  /** The job's process, if it names one. */
  readonly process: string | null;
  /** Where the frame was last freed, null if never. */
  readonly freedBy: SiteRef | null;
  /** The last mapper of the frame (a page table, an IOMMU domain), if known. */
  readonly mappedBy: string | null;
}

/** A device access landed on a free frame: memory the kernel gave back is still reachable by the GPU. */
export interface DmaUseAfterFreeReport extends DmaAccessReport {
  readonly kind: "dma-use-after-free";
}

/**
 * A device access landed on a frame owned by someone else than the mapping
 * meant: freed and handed out again since the cached translation was made
 * (`why` "reallocated"), or owned by another process than the job's
 * (`why` "other-process"): data leaking between processes.
 */
export interface DmaCrossOwnerReport extends DmaAccessReport {
  readonly kind: "dma-cross-owner";
  readonly why: "reallocated" | "other-process";
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

/**
 * A page-flag operation against the frame's state; nothing changed:
 * unpin of a frame with no pin left (the kernel's pin-count underflow
 * warning), or pin, unpin or set-dirty of a free frame (a use of memory
 * the kernel gave back).
 */
export interface PhysPageMisuseReport extends ReportBase {
  readonly kind: "phys-page-misuse";
  readonly problem: "unpin-unpinned" | "pin-free" | "unpin-free" | "dirty-free";
  readonly mem: string;
  readonly pfn: number;
  /** The operation (`pin_user_page`, `unpin_user_page`, `set_page_dirty`) and where it ran. */
  readonly site: SiteRef;
  /** Where the frame was last freed, null if never (or not relevant). */
  readonly freedBy: SiteRef | null;
}

const MISUSE_TEXT: Readonly<Record<PhysPageMisuseReport["problem"], string>> = {
  "unpin-unpinned": "unpin of a page with no pin left",
  "pin-free": "pin of a free page",
  "unpin-free": "unpin of a free page",
  "dirty-free": "set_page_dirty of a free page",
};

defineReportKind({
  kind: "phys-page-misuse",
  headline: (r) => `BUG: gpuvm-sim: ${MISUSE_TEXT[r.problem]}: pfn ${r.pfn} of ${r.mem}`,
  body: (r, out) => {
    out.line(`${MISUSE_TEXT[r.problem]} (pfn ${r.pfn})`).blank().site("by", r.site);
    if (r.freedBy !== null) out.site("freed by", r.freedBy);
    out
      .blank()
      .line(r.problem === "unpin-unpinned" ? "Every unpin_user_page() must match one pin_user_pages(): the pin count would underflow." : "The frame was given back: the caller still uses a page it no longer owns.")
      .line("Nothing changed.");
  },
  fingerprint: (r) => [r.problem, r.site.op],
});

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

const PATH_NAMES: Readonly<Record<DmaPathStep, string>> = {
  tlb: "TLB entry",
  "stale-tlb": "stale TLB entry",
  pte: "page table",
  iotlb: "IOTLB entry",
  "stale-iotlb": "stale IOTLB entry",
  "iommu-table": "IOMMU table",
};

/** A fault's reason as a headline says it. */
const FAULT_REASON: Readonly<Record<GpuPageFaultReport["reason"], string>> = {
  "not-present": "no PTE",
  permission: "PTE forbids it",
  iommu: "no IOMMU entry",
};

function pathText(path: readonly DmaPathStep[]): string {
  return path.length === 0 ? "(nothing)" : path.map((p) => PATH_NAMES[p]).join(" → ");
}

function hexVa(va: number): string {
  return `0x${va.toString(16)}`;
}

function whereText(s: SiteRef | null): string {
  return s === null ? "(never freed)" : `${s.op} in ${s.task ?? "setup"} at step ${s.step}`;
}

defineReportKind({
  kind: "pt-prealloc-short",
  headline: (r) => `BUG: gpuvm-sim: page-table pool short in ${r.pageTable}: a map at ${hexVa(r.va)} needs ${r.needed} table page(s), the pool holds ${r.remaining}`,
  body: (r, out) => {
    out
      .line(`map at va ${hexVa(r.va)} needs ${r.needed} new table page(s); the preallocated pool has ${r.remaining}`)
      .blank()
      .line("Preallocate with tablesNeeded() for every map the job will make before the fence-signalling")
      .line('section starts. The map changed nothing and returned "nomem".');
  },
  fingerprint: (r) => [r.pageTable],
});

defineReportKind({
  kind: "gpu-page-fault",
  headline: (r) => `BUG: gpu-page-fault in job ${r.job}: ${r.access} at va ${hexVa(r.va)} (${FAULT_REASON[r.reason]}) on ${r.gpu}`,
  body: (r, out) => {
    out
      .line(`${r.access} at va ${hexVa(r.va)}: ${r.reason === "not-present" ? "no valid PTE" : r.reason === "permission" ? `the PTE does not allow ${r.access}` : "no IOMMU mapping for the PTE's IOVA"}`)
      .line(`path: ${pathText(r.path)}`)
      .blank()
      .line("No fault handler installed a translation. The job failed; its finished fence carries -EINVAL.");
  },
  fingerprint: (r) => [r.reason, r.access],
});

function dmaBody(r: DmaAccessReport, out: ReportText, tail: string): void {
  out
    .line(`${r.access} of ${r.bytes} bytes at va ${hexVa(r.va)} by job ${r.job} on ${r.gpu}${r.process === null ? "" : ` (process ${r.process})`}`)
    .line(`path: ${pathText(r.path)} → pfn ${r.pfn}`)
    .line(`frame now: ${r.owner === null ? "free" : `owned by ${r.owner}${r.ownerProcess === null ? "" : ` (process ${r.ownerProcess})`}`}`)
    .line(`mapped by: ${r.mappedBy ?? "(unknown)"}`)
    .blank();
  if (r.freedBy !== null) out.site("freed by", r.freedBy).blank();
  out.line(tail);
}

defineReportKind({
  kind: "dma-use-after-free",
  headline: (r) => `BUG: dma-use-after-free in job ${r.job}: ${r.access} of ${r.bytes} bytes at va ${hexVa(r.va)} via ${pathText(r.path)}, frame pfn ${r.pfn} freed by ${whereText(r.freedBy)}`,
  body: (r, out) => { dmaBody(r, out, "The device reached a frame the kernel gave back. Wait for the fences, clear the PTEs, invalidate the TLB, unmap and flush the IOMMU, then free."); },
  fingerprint: (r) => [r.access, ...r.path, r.freedBy?.op ?? ""],
});

defineReportKind({
  kind: "dma-cross-owner",
  headline: (r) =>
    `BUG: dma-cross-owner in job ${r.job}: ${r.access} of ${r.bytes} bytes at va ${hexVa(r.va)} via ${pathText(r.path)}, frame pfn ${r.pfn} now owned by ${r.owner ?? "(none)"}${r.ownerProcess === null ? "" : ` (process ${r.ownerProcess})`}`,
  body: (r, out) => { dmaBody(
      r,
      out,
      r.why === "reallocated"
        ? "The frame was freed and handed out again after this translation was cached: the device reaches someone else's data."
        : `The frame holds process ${r.ownerProcess ?? "?"}'s data, the job runs for process ${r.process ?? "?"}: data leaks between processes.`,
    ); },
  fingerprint: (r) => [r.why, r.access, ...r.path],
});
