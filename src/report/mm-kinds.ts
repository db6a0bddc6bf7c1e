/**
 * The simulated mm's report kinds (src/device/mm.ts, mmu-notifier.ts): an
 * interval notifier's invalidate callback that failed where it may not.
 * Each kind is its data type, listed in {@link MmReportKinds}, and its
 * definition: headline, rows, fingerprint.
 */
import { defineReportKind } from "./registry.js";
import type { ReportBase } from "./report.js";

/** The mm's kinds by name, each key equal to its report's `kind`. kinds.ts adds this map to `ReportKinds`. */
export interface MmReportKinds {
  "mmu-notifier-blockable-fail": MmuNotifierBlockableFailReport;
}

/**
 * An interval notifier's invalidate callback returned false (-EAGAIN) in a
 * blockable invalidation (munmap): the kernel's WARN_ON in
 * mn_itree_invalidate(). The invalidation goes on as if it had returned
 * true, so the pages are freed while the driver may still use them.
 */
export interface MmuNotifierBlockableFailReport extends ReportBase {
  readonly kind: "mmu-notifier-blockable-fail";
  /** The notifier (`MmuIntervalNotifier#5 "userptr0"`). */
  readonly notifier: string;
  /** The Mm. */
  readonly mm: string;
  /** The invalidated range: start address and length in bytes, and the event. */
  readonly start: number;
  readonly length: number;
  readonly event: string;
}

defineReportKind({
  kind: "mmu-notifier-blockable-fail",
  headline: (r) => `WARNING: gpuvm-sim: ${r.notifier} failed a blockable invalidation`,
  body: (r, out) => {
    out
      .line(`invalidate of ${r.notifier} returned false for [${hex(r.start)}, ${hex(r.start + r.length)}) of ${r.mm}, event ${r.event}, blockable`)
      .blank()
      .line("Only a non-blockable invalidation (mmu_notifier_range_blockable() false) may fail: a blockable")
      .line("one must sleep until the device no longer uses the range. The invalidation went on.");
  },
  fingerprint: (r) => [r.event],
});

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
