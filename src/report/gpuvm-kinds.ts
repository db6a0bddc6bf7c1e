/**
 * The GPUVM core's report kinds (src/drm/gem-object.ts, gpuvm.ts, vm-bo.ts,
 * mapping.ts): a handle used in the wrong stage of its lifecycle, a use the
 * kernel answers with a drm_WARN (a call made in the wrong VM mode), the
 * teardown checks of the last drm_gpuvm_put() (drm_gpuvm_fini()'s warnings),
 * and a broken structural invariant found by `vm.checkInvariants()`. Each
 * kind is its data type, listed in {@link GpuvmReportKinds}, and its
 * definition: headline, rows, fingerprint.
 */
import { defineReportKind } from "./registry.js";
import type { ReportBase, SiteRef } from "./report.js";

/**
 * The GPUVM layer's kinds by name, each key equal to its report's `kind`.
 * kinds.ts adds this map to `ReportKinds`.
 */
export interface GpuvmReportKinds {
  "gpuvm-wrong-stage": GpuvmWrongStageReport;
  "gpuvm-misuse": GpuvmMisuseReport;
  "gpuvm-teardown": GpuvmTeardownReport;
  "gpuvm-invariant": GpuvmInvariantReport;
}

/**
 * An operation on a GPUVM handle (a VmBo, a Mapping, a GEM handle) in a
 * stage of its lifecycle where it is not allowed: link a removed mapping,
 * obtain through a zombie VmBo, close a GEM handle that is not open. The
 * operation does nothing.
 */
export interface GpuvmWrongStageReport extends ReportBase {
  readonly kind: "gpuvm-wrong-stage";
  /** The handle (`Mapping#7`, `VmBo#5`). */
  readonly object: string;
  /** Its type (`Mapping`, `VmBo`, `GemObject`). */
  readonly objectType: string;
  /** Its stage when the operation ran (`removed`, `zombie`, `no handle open`). */
  readonly stage: string;
  /** The operation (`drm_gpuva_link`). */
  readonly operation: string;
  /** What the operation needs (`an inserted mapping that is not linked`). */
  readonly expected: string;
  /** Where it happened. */
  readonly site: SiteRef;
}

/**
 * A use the kernel warns about and carries on (drm_WARN_ON): an
 * immediate-mode-only call on a VM that is not in immediate mode, or the
 * reverse. (Linking a mapping to the VmBo of another GEM object, also a
 * drm_WARN_ON in the kernel, is an ArgumentError here.)
 */
export interface GpuvmMisuseReport extends ReportBase {
  readonly kind: "gpuvm-misuse";
  readonly problem: "wrong-mode";
  /** The VM (`GpuVm#2 "vm"`). */
  readonly vm: string;
  /** The object used (`VmBo#5`, `Mapping#7`). */
  readonly object: string;
  /** The operation (`drm_gpuvm_bo_put_deferred`). */
  readonly operation: string;
  /** What was wrong, in a sentence. */
  readonly detail: string;
  readonly site: SiteRef;
}

/** What one teardown check found left. */
export interface GpuvmLeftover {
  /** The object left (`Mapping#7 [0x1000, +0x1000)`, `VmBo#5`). */
  readonly object: string;
  /** Who holds it: the references or links that keep it (`linked to VmBo#5`, `vm_bo: 2 (gpuva 1, find 1)`). */
  readonly heldBy: string;
}

/**
 * The last reference to a VM went while it still had mappings, extobj or
 * evict entries, or zombies waiting for deferred cleanup (drm_gpuvm_fini()'s
 * "GPUVA tree is not empty", "Extobj list should be empty", "Evict list
 * should be empty", "VM BO cleanup list should be empty"). One report per
 * non-empty structure; the VM is freed anyway, as in the kernel.
 */
export interface GpuvmTeardownReport extends ReportBase {
  readonly kind: "gpuvm-teardown";
  readonly vm: string;
  /** Which structure is not empty. */
  readonly structure: "tree" | "extobj" | "evict" | "deferred";
  readonly left: readonly GpuvmLeftover[];
  /** Where the last reference was dropped. */
  readonly site: SiteRef;
}

/** A structural invariant of a VM that does not hold (vm.checkInvariants()). */
export interface GpuvmInvariantReport extends ReportBase {
  readonly kind: "gpuvm-invariant";
  readonly vm: string;
  /** The object the rule is about. */
  readonly object: string;
  /** The rule broken (`tree-order`, `vm-bo-same-vm`, `gem-list-once`, `refcount-holders` ...). */
  readonly rule: string;
  /** What was found. */
  readonly detail: string;
}

defineReportKind({
  kind: "gpuvm-wrong-stage",
  headline: (r) => `BUG: gpuvm-sim: ${r.operation} on ${r.object} in stage ${r.stage}`,
  body: (r, out) => {
    out.site("at", r.site).line(`expected: ${r.expected}`).line("The operation did nothing.");
  },
  fingerprint: (r) => [r.objectType, r.operation, r.stage],
});

defineReportKind({
  kind: "gpuvm-misuse",
  headline: (r) => `WARNING: gpuvm-sim: ${r.operation}: ${r.problem} on ${r.object}`,
  body: (r, out) => {
    out.site("at", r.site).line(`vm: ${r.vm}`).line(r.detail);
  },
  fingerprint: (r) => [r.problem, r.operation],
});

defineReportKind({
  kind: "gpuvm-teardown",
  headline: (r) => `WARNING: gpuvm-sim: ${r.vm} freed with its ${r.structure} not empty (${r.left.length} left)`,
  body: (r, out) => {
    out.site("last put", r.site).blank();
    out.each(r.left.map((l) => `${l.object}: ${l.heldBy}`));
  },
  fingerprint: (r) => [r.structure],
});

defineReportKind({
  kind: "gpuvm-invariant",
  headline: (r) => `BUG: gpuvm-sim: invariant ${r.rule} broken in ${r.vm} by ${r.object}`,
  body: (r, out) => {
    out.line(r.detail);
  },
  fingerprint: (r) => [r.rule],
});
