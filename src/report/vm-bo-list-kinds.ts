/**
 * The VM BO lists' report kinds (src/drm/vm-bo-list.ts): a second walk of
 * a VM's extobj or evict list started while another walk of the same list
 * still owns its snapshot (the kernel's drm_WARN_ON in
 * get_next_vm_bo_from_list(): `local_list != __local_list`). Each kind is
 * its data type, listed in {@link VmBoListReportKinds}, and its
 * definition: headline, rows, fingerprint.
 */
import { defineReportKind } from "./registry.js";
import type { ReportBase, SiteRef } from "./report.js";

/**
 * The VM BO lists' kinds by name, each key equal to its report's `kind`.
 * kinds.ts adds this map to `ReportKinds`.
 */
export interface VmBoListReportKinds {
  "vm-bo-list-concurrent-walk": VmBoListConcurrentWalkReport;
}

/**
 * A snapshot walk of a spinlock-protected VM BO list began (or went on)
 * while another walk of that list held the list's local snapshot. In the
 * kernel the second walk would move elements into its own local list while
 * the list names the first one's, and the first walk's restore would lose
 * them; here the second walk stops at once with `"busy"` and changes
 * nothing.
 */
export interface VmBoListConcurrentWalkReport extends ReportBase {
  readonly kind: "vm-bo-list-concurrent-walk";
  /** The list (`GpuVm#2 "vm".extobj`). */
  readonly list: string;
  /** Which of the VM's lists: `extobj` or `evict`. */
  readonly which: "extobj" | "evict";
  /** The task of the walk that owns the snapshot, and where it took it. */
  readonly firstWalker: string | null;
  readonly firstWalk: SiteRef;
  /** The task of the walk that was refused, and where. */
  readonly secondWalker: string | null;
  readonly secondWalk: SiteRef;
}

defineReportKind({
  kind: "vm-bo-list-concurrent-walk",
  headline: (r) => `WARNING: gpuvm-sim: concurrent walks of ${r.list}`,
  body: (r, out) => {
    out
      .line(`${r.secondWalker ?? "(setup)"} began walking ${r.list} while ${r.firstWalker ?? "(setup)"} still walks it`)
      .blank()
      .site("first walk", r.firstWalk)
      .site("second walk", r.secondWalk)
      .blank()
      .line("A spinlock-protected VM BO list has one local snapshot list: two walks at once would")
      .line("move its entries between two snapshots and lose some at restore. Serialise the walks")
      .line("(an outer VM lock, or drm_gpuvm_prepare_vm() first in the drm_exec loop).")
      .line("The second walk stopped with \"busy\" and changed nothing.");
  },
  fingerprint: (r) => [r.which],
});
