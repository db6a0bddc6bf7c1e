/**
 * GpuVm: a GPU virtual address space.
 *
 * Mirrors: struct drm_gpuvm — drm_gpuvm_init(), drm_gpuvm_get(),
 *   drm_gpuvm_put() with drm_gpuvm_free() / drm_gpuvm_fini() (the teardown
 *   warnings), drm_gpuvm_range_valid(), drm_gpuvm_interval_empty(),
 *   drm_gpuvm_is_extobj(), drm_gpuvm_resv(), drm_gpuvm_resv_protected(),
 *   drm_gpuvm_immediate_mode(), drm_gpuva_find_first(), drm_gpuva_find(),
 *   drm_gpuva_find_prev(), drm_gpuva_find_next(),
 *   drm_gpuvm_for_each_va_range(), drm_gpuvm_bo_deferred_cleanup(); the
 *   kernel_alloc_node.
 * Ownership: refcounted. The creator holds the first reference ("creator");
 *   every inserted mapping holds one ("gpuva"), every VmBo one ("vm_bo").
 *   The VM holds one reference of its resv object (tag "gpuvm r_obj"),
 *   dropped at the last put, before the driver's `vmFree` (which frees the
 *   VM's memory: the driver allocated it).
 * Locking: the VA tree is the driver's to protect (the kernel leaves it to
 *   the driver: usually the VM's resv or a driver lock); the extobj and evict
 *   lists are VmBoLists (vm-bo-list.ts) protected by their own spinlock or the
 *   VM's resv (`resvProtected`); the deferred list is lock-free (an llist):
 *   each change is one atomic step.
 * States: live (refcount > 0) → freed (after vmFree).
 * Invariants: see checkInvariants(): the tree is ordered and without
 *   overlap, each mapping's VmBo is of this VM and the mapping's GEM, each
 *   VmBo is on its GEM's list once, each refcount equals what the structure
 *   implies.
 *
 * The kernel-reserved range is kept outside the tree (the kernel inserts it
 * as `kernel_alloc_node` and hides it through drm_gpuvm_range_valid()); see
 * docs/kernel-differences.md.
 */
import { ArgumentError, ArgumentRangeError, ForeignSimError } from "../errors.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { defineEffectKind, Effect, WRITE } from "../kernel/effect.js";
import { guardLive, LIBRARY_CLASS, noteTouched, siteRef, SimObject } from "../kernel/heap.js";
import { Kref } from "../kernel/kref.js";
import { makeOp, type Op } from "../kernel/op.js";
import { Sim } from "../kernel/sim.js";
import { DmaResv } from "../dma-buf/dma-resv.js";
import type { DrmExec, DrmExecObject } from "./drm-exec.js";
import { VaTree } from "./va-tree.js";
import { runVoidCallback } from "./driver-callback.js";
import { VmBoList, type VmBoListMode } from "./vm-bo-list.js";
import { GemObject } from "./gem-object.js";
import type { Mapping } from "./mapping.js";
import type { VmBo } from "./vm-bo.js";
import type { GpuvmLeftover } from "../report/gpuvm-kinds.js";
import type { DmaFence } from "../dma-buf/dma-fence.js";
import type { DmaResvUsage } from "../dma-buf/dma-resv.js";
import type { DrmExecResult } from "./drm-exec.js";
import {
  madviseOpsCreate,
  prefetchOpsCreate,
  smMap,
  smMapExecLock,
  smMapOpsCreate,
  smUnmap,
  smUnmapExecLock,
  smUnmapOpsCreate,
  type GpuVaOp,
  type GpuVaOpMap,
  type GpuVaOpPrefetch,
  type GpuVaOpRemap,
  type GpuVaOpUnmap,
  type SmMapReq,
  type SmStepReturn,
  type SmWalkResult,
} from "./split-merge.js";
import { gemEvict, prepareObjects, prepareRange, prepareVm, resvAddFence, validate } from "./vm-bo-list.js";

export type { VmBoListMode };

/** struct drm_gpuvm_ops. */
export interface GpuVmOps {
  /** Frees the VM's memory (mandatory). */
  vmFree(vm: GpuVm): Iterable<Effect, void, unknown> | void;
  /** Allocates a VmBo (a driver's subclass): `new MyVmBo(vm, obj)`, or null for -ENOMEM. Default: kmallocObject. */
  vmBoAlloc?(vm: GpuVm, obj: GemObject): VmBo | null;
  /** Frees a VmBo (default: kfree). */
  vmBoFree?(vmBo: VmBo): Iterable<Effect, void, unknown> | void;
  /** vm_bo_validate: make an evicted VmBo's object resident again; called by {@link GpuVm.validate} with every lock held. */
  vmBoValidate?(vmBo: VmBo, exec: DrmExec): SmStepReturn;
  /** sm_step_map: map the new range (split-merge.ts, docs/split-merge.md). */
  smStepMap?(op: GpuVaOpMap<GemObject>, priv: unknown): SmStepReturn;
  /** sm_step_remap: remove `op.remap.unmap.va` and map what is left of it (`prev`, `next`). */
  smStepRemap?(op: GpuVaOpRemap<Mapping>, priv: unknown): SmStepReturn;
  /** sm_step_unmap: remove `op.unmap.va`. */
  smStepUnmap?(op: GpuVaOpUnmap<Mapping>, priv: unknown): SmStepReturn;
}

/** Options of {@link GpuVm.create} (drm_gpuvm_init()'s arguments). */
export interface GpuVmOptions {
  /** The VM's name (reports show it). */
  readonly name: string;
  /** DRM_GPUVM_RESV_PROTECTED: the VM's resv protects the extobj and evict lists. Default false. */
  readonly resvProtected?: boolean;
  /** DRM_GPUVM_IMMEDIATE_MODE: GEM VmBo lists are protected by the GEM's gpuvaLock, not its resv. Default false. */
  readonly immediateMode?: boolean;
  /** How the extobj/evict lists are protected: default "spinlock", "resv" when resvProtected ("resv" requires it). */
  readonly listMode?: VmBoListMode;
  /** Start of the managed range (bytes). */
  readonly mmStart: number;
  /** Size of the managed range (bytes, > 0). */
  readonly mmRange: number;
  /** Start of the kernel-reserved range (default 0). */
  readonly reserveOffset?: number;
  /** Size of the kernel-reserved range (default 0: none). */
  readonly reserveRange?: number;
  /** r_obj: the GEM object whose resv is the VM's; the VM holds a reference. */
  readonly resvObj: GemObject;
  readonly ops: GpuVmOps;
}

const OPS_SPEC: Spec<GpuVmOps> = {
  vmFree: is.function,
  vmBoAlloc: is.function,
  vmBoFree: is.function,
  vmBoValidate: is.function,
  smStepMap: is.function,
  smStepRemap: is.function,
  smStepUnmap: is.function,
};

const VM_OPTIONS: Spec<GpuVmOptions> = {
  name: is.nonEmptyString,
  resvProtected: is.boolean,
  immediateMode: is.boolean,
  listMode: is.oneOf("spinlock", "resv", "two-list"),
  mmStart: is.count,
  mmRange: is.positiveInteger,
  reserveOffset: is.count,
  reserveRange: is.count,
  resvObj: is.instanceOf(GemObject),
  ops: is.options(OPS_SPEC),
};

const CHECK_OPTIONS: Spec<{ readonly file?: boolean }> = { file: is.boolean };

/** A step that changes a VM's VA tree (drm_gpuva_insert / drm_gpuva_remove). */
export const GPUVA_TREE = defineEffectKind({ name: "gpuva-tree" });
/** A step that adds to or takes from a VM's deferred-cleanup list (an llist: each change is atomic). */
export const VM_BO_DEFER = defineEffectKind({ name: "vm-bo-defer" });
/** drm_gpuvm_fini(): the teardown checks of the last put. */
export const GPUVM_FINI = defineEffectKind({ name: "gpuvm-fini" });

/** Holder tags of the VM's references. */
export const GPUVM_HOLDER = { creator: "creator", gpuva: "gpuva", vmBo: "vm_bo", resvObj: "gpuvm r_obj" } as const;

/** One violation found by {@link GpuVm.checkInvariants}. */
export interface GpuVmViolation {
  /** The object the rule is about (its label). */
  readonly object: string;
  /** The rule (`tree-order`, `mapping-vm`, `vm-bo-same-vm`, `vm-bo-same-gem`, `gem-list-once`, `gem-list-zombie`, `list-freed`, `list-zombie`, `extobj-is-external`, `evict-flag`, `refcount-holders`). */
  readonly rule: string;
  readonly detail: string;
}

export class GpuVm extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  readonly flags: { readonly resvProtected: boolean; readonly immediateMode: boolean };
  readonly listMode: VmBoListMode;
  readonly mmStart: number;
  readonly mmRange: number;
  /** The kernel-reserved range, or null (kept out of the tree; see the file header). */
  readonly kernelAllocNode: { readonly addr: number; readonly range: number } | null;
  readonly resvObj: GemObject;
  readonly ops: GpuVmOps;
  readonly refcount: Kref<GpuVm>;
  readonly extobj: VmBoList<VmBo>;
  readonly evict: VmBoList<VmBo>;
  /** @internal The VA tree (read with noteTouched(sim, vm.tree, false); written only by Mapping.insert/remove). */
  readonly tree = new VaTree<Mapping>();
  /** @internal The deferred-cleanup list (bo_defer), oldest first here; cleanup takes it newest first, as the kernel's llist. */
  readonly boDefer: VmBo[] = [];
  /** @internal Every VmBo of this VM not yet freed (for checkInvariants and teardown); shared state of the VM (a footprint key of its own): boCreate and the VmBo's destroy declare their writes, readers note theirs. */
  readonly vmBoSet = new Set<VmBo>();

  /**
   * Mirrors drm_gpuvm_init(): `GpuVm.create(sim, { name, mmStart, mmRange, resvObj, ops })`.
   * Refcount 1 ("creator"); takes a reference of `resvObj` ("gpuvm r_obj").
   *
   * @throws ArgumentError naming `sim`, `options` (not an object; an unknown
   *   key), `name`, `resvProtected`, `immediateMode`, `listMode` (also
   *   "resv" without resvProtected, or "spinlock" with it), `mmStart`,
   *   `mmRange`, `reserveOffset`, `reserveRange` (ArgumentRangeError when
   *   negative, not integers, or when start + range overflows the safe
   *   integers; `reserveOffset` also when the reserved range does not lie
   *   inside the managed range: the kernel only warns), `resvObj` (not a GemObject, of another Sim, or freed),
   *   `ops` / `ops.vmFree` (missing or not a function), `ops.<name>` (not a
   *   function). Nothing is made or changed then.
   */
  static create(sim: Sim, options: GpuVmOptions): GpuVm {
    return new GpuVm(sim, options);
  }

  /** Same as {@link GpuVm.create}. */
  constructor(sim: Sim, options: GpuVmOptions) {
    arg("sim", is.instanceOf(Sim), sim);
    if ((options as GpuVmOptions | null) === null || typeof options !== "object") throw new ArgumentError("options", `must be an options object, got ${describeValue(options)}`);
    checkOptions("options", options, VM_OPTIONS);
    for (const key of ["name", "mmStart", "mmRange", "resvObj", "ops"] as const) {
      if ((options[key] as unknown) === undefined) throw new ArgumentError(key, "is required");
    }
    if ((options.ops.vmFree as unknown) === undefined) throw new ArgumentError("ops.vmFree", "is mandatory (drm_gpuvm_ops.vm_free)");
    if (!Number.isSafeInteger(options.mmStart + options.mmRange)) throw new ArgumentRangeError("mmRange", `mmStart + mmRange must stay a safe integer, got ${options.mmStart} + ${options.mmRange}`);
    const reserveOffset = options.reserveOffset ?? 0;
    const reserveRange = options.reserveRange ?? 0;
    if (!Number.isSafeInteger(reserveOffset + reserveRange)) throw new ArgumentRangeError("reserveRange", `reserveOffset + reserveRange must stay a safe integer, got ${reserveOffset} + ${reserveRange}`);
    // The kernel only warns (drm_gpuvm_init()); here it is refused (docs/kernel-differences.md).
    if (reserveRange > 0 && (reserveOffset < options.mmStart || reserveOffset + reserveRange > options.mmStart + options.mmRange)) {
      throw new ArgumentRangeError("reserveOffset", `the kernel-reserved range [0x${reserveOffset.toString(16)}, +0x${reserveRange.toString(16)}) must lie inside the managed range [0x${options.mmStart.toString(16)}, +0x${options.mmRange.toString(16)})`);
    }
    const resvProtected = options.resvProtected ?? false;
    const listMode = options.listMode ?? (resvProtected ? "resv" : "spinlock");
    if (listMode === "resv" && !resvProtected) throw new ArgumentError("listMode", '"resv" requires resvProtected: true');
    if (listMode === "spinlock" && resvProtected) throw new ArgumentError("listMode", '"spinlock" contradicts resvProtected: true (the resv protects the lists)');
    const r = options.resvObj;
    if (r.sim !== sim) throw new ArgumentError("resvObj", `${r.label} belongs to another Sim`);
    if (r.isFreed || r.refcount.count <= 0) throw new ArgumentError("resvObj", `${r.label} is freed or being released`);
    // Every argument checked: from here on nothing can fail half-way.
    super(sim, "GpuVm", { name: options.name });
    this.flags = Object.freeze({ resvProtected, immediateMode: options.immediateMode ?? false });
    this.listMode = listMode;
    this.mmStart = options.mmStart;
    this.mmRange = options.mmRange;
    this.kernelAllocNode = reserveRange > 0 ? Object.freeze({ addr: reserveOffset, range: reserveRange }) : null;
    this.resvObj = r;
    // Its own copy, read once: the driver's object may change after create.
    this.ops = Object.freeze({ ...options.ops });
    sim.heap.share(this.tree, this);
    sim.heap.share(this.boDefer, this);
    sim.heap.share(this.vmBoSet, this);
    this.refcount = new Kref<GpuVm>(this, { holder: GPUVM_HOLDER.creator });
    takeRefNow(r.refcount, GPUVM_HOLDER.resvObj, "drm_gpuvm_init");
    this.extobj = new VmBoList<VmBo>(this, "extobj");
    this.evict = new VmBoList<VmBo>(this, "evict");
  }

  /** drm_gpuvm_resv(): the VM's common reservation object, `resvObj.resv`. */
  get resv(): DmaResv {
    return this.resvObj.resv;
  }

  /** Mirrors drm_gpuvm_get(). */
  get(holder?: string): Op<void> {
    return this.refcount.get(holder);
  }

  /**
   * Mirrors drm_gpuvm_put(): the last reference runs the teardown checks
   * (a `gpuvm-teardown` report per non-empty tree, extobj, evict or deferred
   * list), drops the resv object's reference and calls `ops.vmFree`.
   */
  put(holder?: string): Op<boolean> {
    return this.refcount.put(vmRelease, holder);
  }

  /**
   * Mirrors drm_gpuvm_is_extobj(): whether `obj`'s resv is not the VM's.
   * Any object with a reservation object will do (resvAddFence asks it of
   * everything a DrmExec locked); a GemObject must also be live and of this Sim.
   * @throws ArgumentError naming `obj` (no DmaResv `resv`; a GemObject of another Sim, or freed).
   */
  isExtobj(obj: DrmExecObject): boolean {
    if (obj instanceof GemObject) checkGem(this, "obj", obj);
    else if (typeof obj !== "object" || (obj as DrmExecObject | null) === null || !(obj.resv instanceof DmaResv)) {
      throw new ArgumentError("obj", `must be a GEM object (with a DmaResv resv), got ${describeValue(obj)}`);
    }
    return obj.resv !== this.resvObj.resv;
  }

  /**
   * Mirrors drm_gpuvm_range_valid(): inside the managed range, no overflow,
   * not overlapping the kernel-reserved range.
   * @throws ArgumentError / ArgumentRangeError naming `addr` or `range` (not integers >= 0).
   */
  rangeValid(addr: number, range: number): boolean {
    arg("addr", is.count, addr);
    arg("range", is.count, range);
    return rangeValidNow(this, addr, range);
  }

  /** Mirrors drm_gpuvm_interval_empty(). A query. @throws as {@link findFirst}. */
  intervalEmpty(addr: number, range: number): boolean {
    return this.findFirst(addr, range) === null;
  }

  /**
   * Mirrors drm_gpuva_find_first(): the lowest mapping overlapping
   * `[addr, addr + range)`, or null. A query.
   * @throws ArgumentError / ArgumentRangeError naming `addr` (integer >= 0) or `range` (integer >= 1, no overflow).
   */
  findFirst(addr: number, range: number): Mapping | null {
    checkSpan(addr, range);
    this.readTree("GpuVm.findFirst");
    return this.tree.firstOverlap(addr, range) ?? null;
  }

  /** Mirrors drm_gpuva_find(): the mapping that is exactly `[addr, addr + range)`, or null. A query. @throws as {@link findFirst}. */
  find(addr: number, range: number): Mapping | null {
    checkSpan(addr, range);
    this.readTree("GpuVm.find");
    const va = this.tree.firstOverlap(addr, range);
    return va?.addr === addr && va.range === range ? va : null;
  }

  /**
   * Mirrors drm_gpuva_find_prev(start): as the kernel's code does, the
   * lowest mapping overlapping `[start - 1, start]` (its interval-tree query
   * is inclusive), so with a gap before `start` it returns the mapping at
   * `start` itself (docs/kernel-differences.md). Null when `start - 1` is
   * not a valid address of the VM. A query.
   * @throws ArgumentError / ArgumentRangeError naming `start`.
   */
  findPrev(start: number): Mapping | null {
    arg("start", is.count, start);
    if (start === 0 || !rangeValidNow(this, start - 1, 1)) return null;
    this.readTree("GpuVm.findPrev");
    return this.tree.firstOverlap(start - 1, 2) ?? null;
  }

  /**
   * Mirrors drm_gpuva_find_next(end): the lowest mapping overlapping
   * `[end, end + 1]` (inclusive, as the kernel's code). Null when `end` is
   * not a valid address of the VM. A query.
   * @throws ArgumentError / ArgumentRangeError naming `end`.
   */
  findNext(end: number): Mapping | null {
    arg("end", is.count, end);
    if (!rangeValidNow(this, end, 1)) return null;
    this.readTree("GpuVm.findNext");
    return this.tree.firstOverlap(end, 2) ?? null;
  }

  /**
   * Mappings overlapping `[addr, addr + range)`, in address order
   * (drm_gpuvm_for_each_va_range()); never the kernel-reserved range. A
   * query; a snapshot.
   * @throws as {@link findFirst}.
   */
  vasInRange(addr: number, range: number): Mapping[] {
    checkSpan(addr, range);
    this.readTree("GpuVm.vasInRange");
    const out: Mapping[] = [];
    this.tree.forEachInRange(addr, range, (va) => {
      out.push(va);
    });
    return out;
  }

  /** Every mapping, in address order (drm_gpuvm_for_each_va()). A query; a snapshot. */
  vas(): Mapping[] {
    this.readTree("GpuVm.vas");
    return this.tree.entries().map((e) => e.value);
  }

  /** The VmBos waiting for deferred cleanup (zombies), oldest first (boDeferredCleanup() destroys them newest first). A query. */
  deferredVmBos(): readonly VmBo[] {
    guardLive(this, "GpuVm.deferredVmBos");
    noteTouched(this.sim, this.boDefer, false);
    return [...this.boDefer];
  }

  /**
   * Mirrors drm_gpuvm_bo_deferred_cleanup(): takes every zombie off the
   * deferred list at once; with resvProtected, removes them from the extobj
   * and evict lists under the VM's resv; then frees each (ops.vmBoFree or
   * kfree) and drops its VM and GEM references.
   */
  boDeferredCleanup(): Op<void> {
    return makeOp("drm_gpuvm_bo_deferred_cleanup", this, deferredCleanup);
  }

  // --- split and merge (split-merge.ts; docs/split-merge.md) ---------------

  /**
   * Mirrors drm_gpuvm_sm_map(): split and merge the mappings overlapping
   * `req.map.va` (addresses and lengths in bytes) and call `ops.smStepMap`,
   * `smStepRemap` and `smStepUnmap` in the kernel's order. Returns "ok", or
   * the error string of the callback that stopped the walk. Throws (at the
   * call, nothing changed) ArgumentError / ArgumentRangeError for a bad or
   * zero-length range, or a range outside the VM, and ArgumentError naming
   * `vm.ops.smStep…` when a callback is missing.
   */
  smMap(req: SmMapReq<GemObject>, priv?: unknown): Op<SmWalkResult> {
    return smMap(this, req, priv);
  }

  /** Mirrors drm_gpuvm_sm_unmap(): remap or unmap every mapping overlapping [addr, addr + range) (bytes); errors as {@link GpuVm.smMap}. */
  smUnmap(addr: number, range: number, priv?: unknown): Op<SmWalkResult> {
    return smUnmap(this, addr, range, priv);
  }

  /** Mirrors drm_gpuvm_sm_map_ops_create(): the ops {@link GpuVm.smMap} would deliver, as a list (a query; the tree is unchanged). */
  smMapOpsCreate(req: SmMapReq<GemObject>): GpuVaOp<Mapping>[] {
    return smMapOpsCreate(this, req);
  }

  /** Mirrors drm_gpuvm_sm_unmap_ops_create(). */
  smUnmapOpsCreate(addr: number, range: number): GpuVaOp<Mapping>[] {
    return smUnmapOpsCreate(this, addr, range);
  }

  /** Mirrors drm_gpuvm_madvise_ops_create(): splits only, never unmaps (docs/split-merge.md). */
  madviseOpsCreate(req: SmMapReq<GemObject>): GpuVaOp<Mapping>[] {
    return madviseOpsCreate(this, req);
  }

  /** Mirrors drm_gpuvm_prefetch_ops_create(): one prefetch op per mapping in the range. */
  prefetchOpsCreate(addr: number, range: number): GpuVaOpPrefetch<Mapping>[] {
    return prefetchOpsCreate(this, addr, range);
  }

  /** Mirrors drm_gpuvm_sm_map_exec_lock(): lock, in `exec`, the request's GEM and every GEM a {@link GpuVm.smMap} of `req` would remap or unmap. */
  smMapExecLock(exec: DrmExec, numFences: number, req: SmMapReq<GemObject>): Op<DrmExecResult> {
    return smMapExecLock(this, exec, numFences, req);
  }

  /** Mirrors drm_gpuvm_sm_unmap_exec_lock(). */
  smUnmapExecLock(exec: DrmExec, addr: number, range: number): Op<DrmExecResult> {
    return smUnmapExecLock(this, exec, addr, range);
  }

  // --- locking and validating the VM's objects (vm-bo-list.ts; docs/vm-bo-list.md)

  /** Mirrors drm_gpuvm_prepare_vm(): lock the VM's resv in `exec` and reserve `numFences` slots. */
  prepareVm(exec: DrmExec, numFences: number): Op<DrmExecResult> {
    return prepareVm(this, exec, numFences);
  }

  /** Mirrors drm_gpuvm_prepare_objects(): lock every external object's resv (the extobj list) in `exec`. */
  prepareObjects(exec: DrmExec, numFences: number): Op<DrmExecResult | "busy"> {
    return prepareObjects(this, exec, numFences);
  }

  /** Mirrors drm_gpuvm_prepare_range(): lock the GEM of every mapping in [addr, addr + range) (bytes). */
  prepareRange(exec: DrmExec, addr: number, range: number, numFences: number): Op<DrmExecResult> {
    return prepareRange(this, exec, addr, range, numFences);
  }

  /**
   * Mirrors drm_gpuvm_validate(): call `ops.vmBoValidate` for every evicted
   * VmBo. Throws UsageError at the call when the callback is missing.
   */
  validate(exec: DrmExec): Op<SmWalkResult> {
    return validate(this, exec);
  }

  /** Mirrors drm_gpuvm_resv_add_fence(): add `fence` to every resv locked in `exec`, with `extobjUsage` for external objects and `privateUsage` for the rest. */
  resvAddFence(exec: DrmExec, fence: DmaFence, privateUsage: DmaResvUsage, extobjUsage: DmaResvUsage): Op<void> {
    return resvAddFence(this, exec, fence, privateUsage, extobjUsage);
  }

  /**
   * Mirrors drm_gpuvm_bo_gem_evict(): mark every VmBo of `obj` evicted (or
   * not), in every VM that maps it, not only this one (the kernel's function
   * takes no VM). Zombies are skipped. For each, the lock of the GEM's VmBo
   * list for its VM and the GEM's resv must be held (`lock-not-held`).
   */
  gemEvict(obj: GemObject, flag: boolean): Op<void> {
    checkGem(this, "obj", obj);
    return gemEvict(obj, flag);
  }

  /**
   * Check the VM's structure: the tree is ordered without overlap and each
   * entry is an inserted mapping of this VM (`tree-order`, `mapping-vm`);
   * each linked mapping's VmBo is of this VM and the mapping's GEM
   * (`vm-bo-same-vm`, `vm-bo-same-gem`) and lists the mapping
   * (`vm-bo-lists-mapping`); each live VmBo is on its GEM's list exactly
   * once and a zombie on none (`gem-list-once`, `gem-list-zombie`); each
   * extobj or evict entry is not freed (`list-freed`), nor a zombie unless
   * the VM is resvProtected (`list-zombie`); each
   * extobj entry's GEM is external (`extobj-is-external`); each evict entry
   * that is not a zombie has its `evicted` flag set (`evict-flag`; but for
   * an external object of a resvProtected VM, whose flag evict(false)
   * clears without leaving the list until validate()); with
   * the refcounts check on, each VmBo's "gpuva" holders equal its linked
   * mappings and the VM's "gpuva" and "vm_bo" holders equal its mappings
   * and VmBos (`refcount-holders`). Each violation is returned and, unless
   * `options.file` is false, filed as a `gpuvm-invariant` report. A query.
   * @throws ArgumentError naming `options` (not an object), an unknown key, or `file` (not a boolean).
   */
  checkInvariants(options?: { readonly file?: boolean }): GpuVmViolation[] {
    if (options !== undefined) checkOptions("options", options, CHECK_OPTIONS);
    const file = options?.file ?? true;
    guardLive(this, "GpuVm.checkInvariants");
    const out = collectViolations(this);
    if (file) for (const v of out) this.sim.file({ kind: "gpuvm-invariant", vm: this.label, object: v.object, rule: v.rule, detail: v.detail });
    return out;
  }

  /**
   * The violations {@link GpuVm.checkInvariants} would find, filing
   * nothing: an observer's query (the `toSatisfyInvariants` matcher uses
   * it, so an assertion never adds a report to the run it inspects).
   */
  invariantViolations(): GpuVmViolation[] {
    return this.checkInvariants({ file: false });
  }

  /** @internal A query read the tree. */
  readTree(op: string): void {
    guardLive(this, op);
    noteTouched(this.sim, this.tree, false);
  }
}

/**
 * @internal The at-call check of a GEM object handed to a VM's entry
 * point: a GemObject of the VM's Sim, not freed (or being released).
 * @throws ArgumentError naming `argument`.
 */
export function checkGem(vm: GpuVm, argument: string, obj: unknown): GemObject {
  arg(argument, is.instanceOf(GemObject), obj);
  const o = obj as GemObject;
  if (o.sim !== vm.sim) throw new ForeignSimError(argument, `${vm.label}'s ${argument}`, o.label, o.sim.label, vm.sim.label);
  if (o.isFreed || o.refcount.count <= 0) throw new ArgumentError(argument, `${o.label} is freed or being released`);
  return o;
}

/**
 * @internal The at-call check of a VM handed to an entry point: a GpuVm of
 * `sim` (when given), not freed (or being released).
 * @throws ArgumentError naming `argument`.
 */
export function checkLiveVm(argument: string, vm: unknown, sim?: Sim): GpuVm {
  arg(argument, is.instanceOf(GpuVm), vm);
  const v = vm as GpuVm;
  if (sim !== undefined && v.sim !== sim) throw new ForeignSimError(argument, argument, v.label, v.sim.label, sim.label);
  if (v.isFreed || v.refcount.count <= 0) throw new ArgumentError(argument, `${v.label} is freed or being released`);
  return v;
}

function checkSpan(addr: number, range: number): void {
  arg("addr", is.count, addr);
  arg("range", is.positiveInteger, range);
  if (!Number.isSafeInteger(addr + range)) throw new ArgumentRangeError("range", `addr + range must stay a safe integer, got ${addr} + ${range}`);
}

/** @internal drm_gpuvm_range_valid() on checked numbers. */
export function rangeValidNow(vm: GpuVm, addr: number, range: number): boolean {
  const end = addr + range;
  if (!Number.isSafeInteger(end)) return false;
  if (addr < vm.mmStart || end > vm.mmStart + vm.mmRange) return false;
  const k = vm.kernelAllocNode;
  return k === null || !(addr < k.addr + k.range && k.addr < end);
}

/** @internal Whether [addr, addr+range) overlaps the kernel-reserved range. */
export function inKernelNode(vm: GpuVm, addr: number, range: number): boolean {
  const k = vm.kernelAllocNode;
  return k !== null && addr < k.addr + k.range && k.addr < addr + range;
}

/**
 * Take a reference outside any effect, as drm_gpuvm_init() does in the
 * creating code (setup, or the creating task's own step): the count, the
 * holder record and the history, without a step of its own.
 */
function takeRefNow(k: Kref, holder: string, op: string): void {
  const sim = k.owner.sim;
  noteTouched(sim, k, true);
  k.count++;
  if (sim.checks.refcounts) {
    k.addHolder(holder, op);
    sim.logRef(k.owner.id, "get", k.count, holder);
  }
}

function holdersText(k: Kref): string {
  if (k.owner.isFreed) return "freed";
  const refs = k.owner.sim.checks.refcounts ? k.holderRefs() : [];
  const parts = refs.map((h) => `${h.holder ?? "untagged"} ${h.count}`);
  return `refcount ${k.count}${parts.length === 0 ? "" : ` (${parts.join(", ")})`}`;
}

function* vmRelease(vm: GpuVm): Generator<Effect, void, unknown> {
  const sim = vm.sim;
  yield new Effect(GPUVM_FINI, vm, WRITE, vm.tree, null, Infinity, null, [{ object: vm.boDefer, mode: "write" }]);
  const site = siteRef(sim.site("drm_gpuvm_put"));
  const tree: GpuvmLeftover[] = vm.tree.entries().map(({ value: va }) => ({ object: va.label, heldBy: va.vmBo === null ? "not linked" : `linked to ${va.vmBo.label}` }));
  const lists: [("extobj" | "evict"), VmBoList<VmBo>][] = [["extobj", vm.extobj], ["evict", vm.evict]];
  const found: [("tree" | "extobj" | "evict" | "deferred"), GpuvmLeftover[]][] = [["tree", tree]];
  for (const [name, list] of lists) found.push([name, list.entries().map((b) => ({ object: b.label, heldBy: holdersText(b.refcount) }))]);
  found.push(["deferred", vm.boDefer.map((b) => ({ object: b.label, heldBy: "zombie: waiting for boDeferredCleanup()" }))]);
  for (const [structure, left] of found) {
    if (left.length > 0) sim.file({ kind: "gpuvm-teardown", vm: vm.label, structure, left, site });
  }
  yield* vm.resvObj.put(GPUVM_HOLDER.resvObj);
  yield* runVoidCallback(vm.ops.vmFree(vm), `ops.vmFree of ${vm.label}`);
}

function* deferredCleanup(this: GpuVm): Generator<Effect, void, unknown> {
  yield new Effect(VM_BO_DEFER, this, WRITE, this.boDefer);
  if (!guardLive(this, "drm_gpuvm_bo_deferred_cleanup")) return;
  // llist_del_all() hands the entries back newest first (llist_add pushes
  // at the head), so zombies are destroyed in the reverse of their deaths.
  const taken = this.boDefer.splice(0, this.boDefer.length).reverse();
  if (taken.length === 0) return;
  if (this.flags.resvProtected) {
    yield* this.resv.lock(null);
    for (const b of taken) {
      yield* this.extobj.del(b, false);
      yield* this.evict.del(b, false);
    }
    yield* this.resv.unlock();
  }
  for (const b of taken) yield* b.destroyNotInLists();
}

function collectViolations(vm: GpuVm): GpuVmViolation[] {
  const out: GpuVmViolation[] = [];
  const add = (object: string, rule: string, detail: string): void => {
    out.push({ object, rule, detail });
  };
  noteTouched(vm.sim, vm.tree, false);
  for (const p of vm.tree.checkInvariants()) add(vm.label, "tree-order", p);
  const entries = vm.tree.entries();
  let prevEnd = -1;
  const linkedPerVmBo = new Map<VmBo, number>();
  for (const { addr, range, value: va } of entries) {
    if (addr < prevEnd) add(va.label, "tree-order", `starts at ${addr}, before the previous mapping's end ${prevEnd}`);
    prevEnd = addr + range;
    if (va.addr !== addr || va.range !== range) add(va.label, "tree-order", `is [${va.addr}, +${va.range}) but sits in the tree at [${addr}, +${range})`);
    if (va.vm !== vm || va.state !== "inserted") add(va.label, "mapping-vm", `is in ${vm.label}'s tree but its vm is ${va.vm === null ? "null" : va.vm.label} and its state ${va.state}`);
    const b = va.vmBo;
    if (b === null) continue;
    linkedPerVmBo.set(b, (linkedPerVmBo.get(b) ?? 0) + 1);
    if (b.vm !== vm) add(va.label, "vm-bo-same-vm", `is linked to ${b.label} of ${b.vm.label}`);
    if (b.obj !== va.gem.obj) add(va.label, "vm-bo-same-gem", `maps ${va.gem.obj === null ? "no GEM" : va.gem.obj.label} but is linked to ${b.label} of ${b.obj.label}`);
    if (!b.gpuva.includes(va)) add(va.label, "vm-bo-lists-mapping", `is linked to ${b.label}, whose mapping list does not hold it`);
  }
  // Everything below is read outside any effect: each read joins the
  // running step's footprint (the VmBo set, each VmBo (its stage, flag and
  // liveness), its refcount and holders, its GEM, the VM's refcount).
  const sim = vm.sim;
  noteTouched(sim, vm.vmBoSet, false);
  for (const b of vm.vmBoSet) {
    noteTouched(sim, b, false);
    if (b.isFreed) continue;
    noteTouched(sim, b.refcount, false);
    noteTouched(sim, b.gpuva, false);
    noteTouched(sim, b.obj, false);
    if (!b.obj.isFreed) noteTouched(sim, b.obj.gpuva, false);
    const onGem = b.obj.isFreed ? 0 : b.obj.gpuva.filter((x) => x === b).length;
    if (b.state === "linked" && onGem !== 1) add(b.label, "gem-list-once", `is linked but on ${b.obj.label}'s VmBo list ${onGem} times`);
    if (b.state !== "linked" && onGem !== 0) add(b.label, b.state === "zombie" ? "gem-list-zombie" : "gem-list-once", `is ${b.state} but on ${b.obj.label}'s VmBo list ${onGem} times`);
    if (vm.sim.checks.refcounts && b.state !== "zombie") {
      const gpuvaHolders = b.refcount.holderRefs().filter((h) => h.holder === "gpuva").reduce((n, h) => n + h.count, 0);
      const linked = b.gpuva.length;
      if (gpuvaHolders !== linked) add(b.label, "refcount-holders", `holds ${gpuvaHolders} "gpuva" references for ${linked} linked mappings`);
    }
    if (b.refcount.count < b.gpuva.length) add(b.label, "refcount-holders", `refcount ${b.refcount.count} is below its ${b.gpuva.length} linked mappings`);
  }
  for (const [which, list] of [["extobj", vm.extobj], ["evict", vm.evict]] as const) {
    for (const b of list.entries()) {
      noteTouched(sim, b, false);
      if (b.isFreed) add(b.label, "list-freed", `is freed but still on ${vm.label}'s ${which} list`);
      else if (b.state === "zombie" && !vm.flags.resvProtected) add(b.label, "list-zombie", `is a zombie but still on ${vm.label}'s ${which} list (only a resvProtected VM keeps zombies there until boDeferredCleanup())`);
    }
  }
  for (const b of vm.extobj.entries()) {
    if (b.vm !== vm) add(b.label, "vm-bo-same-vm", `is on ${vm.label}'s extobj list but belongs to ${b.vm.label}`);
    else if (!b.isFreed && !vm.isExtobj(b.obj)) add(b.label, "extobj-is-external", `is on the extobj list but ${b.obj.label} shares the VM's resv`);
  }
  for (const b of vm.evict.entries()) {
    if (b.vm !== vm) add(b.label, "vm-bo-same-vm", `is on ${vm.label}'s evict list but belongs to ${b.vm.label}`);
    // With resvProtected, evict(false) of an external object only clears the
    // flag (its holder need not hold the VM's resv): the entry stays on the
    // evict list until validate() drops it, as drm_gpuvm_bo_evict() does.
    else if (!b.isFreed && b.state !== "zombie" && !b.evicted && !(vm.flags.resvProtected && vm.isExtobj(b.obj))) add(b.label, "evict-flag", "is on the evict list with evicted = false");
  }
  noteTouched(sim, vm, false);
  if (vm.sim.checks.refcounts && !vm.isFreed) {
    noteTouched(sim, vm.refcount, false);
    const hs = vm.refcount.holderRefs();
    const count = (tag: string): number => hs.filter((h) => h.holder === tag).reduce((n, h) => n + h.count, 0);
    const live = [...vm.vmBoSet].filter((b) => !b.isFreed).length;
    if (count(GPUVM_HOLDER.gpuva) !== entries.length) add(vm.label, "refcount-holders", `holds ${count(GPUVM_HOLDER.gpuva)} "gpuva" references for ${entries.length} inserted mappings`);
    if (count(GPUVM_HOLDER.vmBo) !== live) add(vm.label, "refcount-holders", `holds ${count(GPUVM_HOLDER.vmBo)} "vm_bo" references for ${live} VmBos`);
  }
  return out;
}
