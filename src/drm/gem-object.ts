/**
 * GemObject: a GEM buffer object as the GPUVM sees it.
 *
 * Mirrors: struct drm_gem_object — drm_gem_object_init() (refcount, size,
 *   the embedded dma_resv or a shared one), drm_gem_object_get(),
 *   kref_get_unless_zero() on it, drm_gem_object_put() with
 *   drm_gem_object_funcs.free, drm_gem_handle_create() /
 *   drm_gem_handle_delete() (the handle count), drm_gem_gpuva_init() (the
 *   `gpuva.list` of VmBos and the `gpuva.lock` mutex),
 *   drm_gem_gpuva_assert_lock_held() (as {@link gemGpuvaLock}),
 *   drm_gem_for_each_gpuvm_bo() (as `vmBos()`).
 * Ownership: refcounted. The creator holds the first reference (holder tag
 *   "creator"); each open handle one ("handle"); each VmBo one ("vm_bo");
 *   a VM whose resv object it is one ("gpuvm r_obj"). The last put runs the
 *   free callback, finalises its own resv (not a shared one) and kfree()s
 *   the object with everything embedded in it (resv, gpuvaLock).
 * Locking: the VmBo list is protected, per VM, by gemGpuvaLock(vm, obj):
 *   the `gpuvaLock` mutex for an immediate-mode VM, the object's resv
 *   otherwise. Every change of the list asserts it (vm-bo.ts does). The
 *   handle count and the refcount are atomic steps.
 * States: live (refcount > 0) → freed.
 * Invariants: `vmBos()` holds each VmBo of this object that is prealloc-
 *   obtained or linked, once; zombies have left it (the kernel's
 *   drm_gpuvm_bo_into_zombie() deletes the list entry).
 */
import { ArgumentError } from "../errors.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { defineEffectKind, Effect, WRITE } from "../kernel/effect.js";
import { currentOrNull } from "../kernel/current.js";
import { guardLive, kfree, LIBRARY_CLASS, noteTouched, siteRef, SimObject, touch } from "../kernel/heap.js";
import { Kref } from "../kernel/kref.js";
import { makeOp, type Op } from "../kernel/op.js";
import { Sim } from "../kernel/sim.js";
import { Mutex } from "../locking/mutex.js";
import { DmaResv } from "../dma-buf/dma-resv.js";
import type { DrmExecObject } from "./drm-exec.js";
import { runVoidCallback } from "./driver-callback.js";
import type { GpuVm } from "./gpuvm.js";
import type { VmBo } from "./vm-bo.js";

/** Options of a {@link GemObject}. */
export interface GemObjectOptions {
  /** A name for reports. */
  readonly name?: string;
  /** Size in bytes: a positive safe integer. */
  readonly size: number;
  /** A shared reservation object (a VM-private object passes `vm.resv`); default: its own, embedded. */
  readonly resv?: DmaResv;
  /** drm_gem_object_funcs.free: runs at the last put, before the memory goes. */
  readonly free?: (obj: GemObject) => Iterable<Effect, void, unknown> | void;
}

const GEM_OPTIONS: Spec<GemObjectOptions> = {
  name: is.string,
  size: is.positiveInteger,
  resv: is.instanceOf(DmaResv),
  free: is.function,
};

/** drm_gem_handle_create() / drm_gem_handle_delete(): the handle count changes. */
export const GEM_HANDLE = defineEffectKind({ name: "gem-handle" });
/** A step that reads or changes a GEM object's VmBo list (obj->gpuva.list). */
export const GEM_GPUVA_LIST = defineEffectKind({ name: "gem-gpuva-list" });

/** Holder tag of the reference an open handle holds. */
export const GEM_HANDLE_HOLDER = "handle";

/**
 * The lock that protects a GEM object's VmBo list for one VM: what
 * drm_gem_gpuva_assert_lock_held() checks.
 */
export interface GemGpuvaLock {
  /** Take it (mutex_lock(&obj->gpuva.lock) or dma_resv_lock(obj->resv, NULL)). */
  lock(): Op<void>;
  unlock(): Op<void>;
  /** Files `lock-not-held` and returns false when the current task does not hold it. */
  assertHeld(): boolean;
  /** Whether the current task holds it. A query. */
  isHeld(): boolean;
  readonly label: string;
}

export class GemObject extends SimObject implements DrmExecObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** Size in bytes. */
  readonly size: number;
  /** Its reservation object: its own (embedded) or a shared one. */
  readonly resv: DmaResv;
  /** Whether `resv` is its own, embedded one (finalised at release). */
  readonly ownsResv: boolean;
  /** obj->gpuva.lock: protects the VmBo list for immediate-mode VMs. */
  readonly gpuvaLock: Mutex;
  readonly refcount: Kref<GemObject>;
  /** @internal obj->gpuva.list: its VmBos, in list order. Changed only by vm-bo.ts, in steps declaring it. */
  readonly gpuva: VmBo[] = [];
  /** @internal The handle count. */ handles = 0;
  /** @internal drm_gem_object_funcs.free. */ readonly freeFn: ((obj: GemObject) => Iterable<Effect, void, unknown> | void) | null;
  /** @internal */ private mutexView: GemGpuvaLock | null = null;
  /** @internal */ private resvView: GemGpuvaLock | null = null;

  /**
   * Mirrors drm_gem_object_init() + drm_gem_gpuva_init():
   * `new GemObject(sim, { name: "bo0", size: 4096 })`. Refcount 1, held by
   * `"creator"`; no handle open.
   *
   * @throws ArgumentError naming `sim` (not a Sim), `options` (not an
   *   object; an unknown key), `name`, `size` (ArgumentRangeError unless a
   *   positive safe integer), `resv` (not a DmaResv, or of another Sim),
   *   `free` (not a function). Nothing is made then.
   */
  constructor(sim: Sim, options: GemObjectOptions) {
    arg("sim", is.instanceOf(Sim), sim);
    if ((options as GemObjectOptions | null) === null || typeof options !== "object") throw new ArgumentError("options", `must be an options object with a size, got ${describeValue(options)}`);
    checkOptions("options", options, GEM_OPTIONS);
    if ((options.size as number | undefined) === undefined) throw new ArgumentError("size", "is required: the object's size in bytes");
    if (options.resv !== undefined && options.resv.sim !== sim) throw new ArgumentError("resv", `${options.resv.label} belongs to another Sim`);
    super(sim, "GemObject", options.name === undefined ? {} : { name: options.name });
    this.size = options.size;
    this.ownsResv = options.resv === undefined;
    this.resv = options.resv ?? new DmaResv(sim, this.name === "" ? { embeddedIn: this } : { name: `${this.name}.resv`, embeddedIn: this });
    this.gpuvaLock = new Mutex(sim, "drm_gem_object->gpuva.lock", { embeddedIn: this });
    this.freeFn = options.free ?? null;
    sim.heap.share(this.gpuva, this);
    this.refcount = new Kref<GemObject>(this, { holder: "creator" });
  }

  /** Mirrors drm_gem_object_get(). */
  get(holder?: string): Op<void> {
    return this.refcount.get(holder);
  }

  /** kref_get_unless_zero(&obj->refcount): whether a reference was taken. */
  getUnlessZero(holder?: string): Op<boolean> {
    return this.refcount.getUnlessZero(holder);
  }

  /**
   * Mirrors drm_gem_object_put(): the last reference runs the free
   * callback, fini()s its own resv and kfree()s the object. Returns whether
   * this put released it.
   */
  put(holder?: string): Op<boolean> {
    return this.refcount.put(gemRelease, holder);
  }

  /** Mirrors drm_gem_handle_create(): one more open handle, holding a reference (tag "handle"). */
  open(): Op<void> {
    return makeOp("drm_gem_handle_create", this, gemOpen);
  }

  /**
   * Mirrors drm_gem_handle_delete(): one handle fewer, and its reference
   * dropped (which may free the object). Mappings may remain. With no
   * handle open: a `gpuvm-wrong-stage` report, nothing changes.
   */
  close(): Op<void> {
    return makeOp("drm_gem_handle_delete", this, gemClose);
  }

  /** Open handles (obj->handle_count). A query. */
  get handleCount(): number {
    noteTouched(this.sim, this, false);
    return this.handles;
  }

  /** Its VmBos in list order (drm_gem_for_each_gpuvm_bo()). A query; zombies have left the list. */
  vmBos(): readonly VmBo[] {
    guardLive(this, "GemObject.vmBos");
    noteTouched(this.sim, this.gpuva, false);
    return [...this.gpuva];
  }

  /** @internal The lock view over gpuvaLock. */
  mutexLock(): GemGpuvaLock {
    return (this.mutexView ??= new MutexGpuvaLock(this));
  }

  /** @internal The lock view over resv. */
  resvLock(): GemGpuvaLock {
    return (this.resvView ??= new ResvGpuvaLock(this));
  }
}

/**
 * drm_gem_gpuva_assert_lock_held()'s choice: which lock protects `obj`'s
 * VmBo list for `vm`: the GEM's gpuvaLock (a Mutex) in immediate mode, else
 * `obj.resv`.
 */
export function gemGpuvaLock(vm: Pick<GpuVm, "flags">, obj: GemObject): GemGpuvaLock {
  return vm.flags.immediateMode ? obj.mutexLock() : obj.resvLock();
}

class MutexGpuvaLock implements GemGpuvaLock {
  constructor(private readonly obj: GemObject) {}
  get label(): string {
    return this.obj.gpuvaLock.label;
  }
  lock(): Op<void> {
    return this.obj.gpuvaLock.lock();
  }
  unlock(): Op<void> {
    return this.obj.gpuvaLock.unlock();
  }
  assertHeld(): boolean {
    return this.obj.gpuvaLock.assertHeld();
  }
  isHeld(): boolean {
    noteTouched(this.obj.sim, this.obj.gpuvaLock, false);
    const t = currentOrNull();
    return t !== null && this.obj.gpuvaLock.holder === t;
  }
}

class ResvGpuvaLock implements GemGpuvaLock {
  constructor(private readonly obj: GemObject) {}
  get label(): string {
    return this.obj.resv.wwMutex.label;
  }
  lock(): Op<void> {
    return makeOp("dma_resv_lock", this.obj.resv, resvLockPlain);
  }
  unlock(): Op<void> {
    return this.obj.resv.unlock();
  }
  assertHeld(): boolean {
    return this.obj.resv.assertHeld();
  }
  isHeld(): boolean {
    noteTouched(this.obj.sim, this.obj.resv.wwMutex, false);
    const t = currentOrNull();
    return t !== null && this.obj.resv.wwMutex.holder === t;
  }
}

function* resvLockPlain(this: DmaResv): Generator<Effect, void, unknown> {
  yield* this.lock(null);
}

function* gemRelease(obj: GemObject): Generator<Effect, void, unknown> {
  const free = obj.freeFn;
  if (free !== null) yield* runVoidCallback(free(obj), `the free callback of ${obj.label}`);
  if (obj.ownsResv) yield* obj.resv.fini();
  yield* kfree(obj);
}

function* gemOpen(this: GemObject): Generator<Effect, void, unknown> {
  yield* this.refcount.get(GEM_HANDLE_HOLDER);
  yield new Effect(GEM_HANDLE, this, WRITE);
  touch(this.sim, this, true, "GemObject.open");
  if (!guardLive(this, "GemObject.open")) return;
  this.handles++;
}

function* gemClose(this: GemObject): Generator<Effect, void, unknown> {
  yield new Effect(GEM_HANDLE, this, WRITE);
  touch(this.sim, this, true, "GemObject.close");
  if (!guardLive(this, "GemObject.close")) return;
  if (this.handles === 0) {
    wrongStage(this, "no handle open", "drm_gem_handle_delete", "an open handle");
    return;
  }
  this.handles--;
  yield* this.put(GEM_HANDLE_HOLDER);
}

/** @internal File `gpuvm-wrong-stage` for `obj` (the operation does nothing). */
export function wrongStage(obj: SimObject, stage: string, operation: string, expected: string): void {
  const sim = obj.sim;
  sim.file({ kind: "gpuvm-wrong-stage", object: obj.label, objectType: obj.typeName, stage, operation, expected, site: siteRef(sim.site(operation)) });
}

/** @internal File `gpuvm-misuse` (the kernel's drm_WARN_ON; the operation goes on). */
export function gpuvmMisuse(vm: { readonly label: string; readonly sim: Sim }, obj: SimObject, problem: "wrong-mode", operation: string, detail: string): void {
  const sim = vm.sim;
  sim.file({ kind: "gpuvm-misuse", problem, vm: vm.label, object: obj.label, operation, detail, site: siteRef(sim.site(operation)) });
}

