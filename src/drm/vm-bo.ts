/**
 * VmBo: the unique link of one GEM object with one VM.
 *
 * Mirrors: struct drm_gpuvm_bo — drm_gpuvm_bo_create(),
 *   drm_gpuvm_bo_find(), drm_gpuvm_bo_obtain_locked(),
 *   drm_gpuvm_bo_obtain_prealloc(), drm_gpuvm_bo_get(),
 *   kref_get_unless_zero() on it, drm_gpuvm_bo_put() (drm_gpuvm_bo_destroy),
 *   drm_gpuvm_bo_put_deferred() (drm_gpuvm_bo_into_zombie,
 *   drm_gpuvm_bo_defer_zombie_cleanup), drm_gpuvm_bo_destroy_not_in_lists(),
 *   drm_gpuvm_bo_for_each_va() (as `mappings()`).
 * Ownership: refcounted. Whoever obtained or found it holds a reference
 *   (tagged with the `holder` they passed; untagged by default); each
 *   linked mapping holds one ("gpuva"). It holds one reference of its VM and
 *   one of its GEM object (both "vm_bo"), dropped after it is freed.
 * Locking: its place on its GEM's VmBo list is protected by
 *   gemGpuvaLock(vm, obj) (the GEM's gpuvaLock in immediate mode, its resv
 *   otherwise), asserted on every change; its mapping list likewise; its
 *   extobj/evict list membership by the VmBoLists; `evicted` by the evict
 *   list's protection.
 * States: prealloc (created, not on the GEM's list) → linked (on it) →
 *   zombie (last reference dropped by putDeferred(): off the GEM's list,
 *   waiting on the VM's deferred list) → freed. A prealloc VmBo whose last
 *   reference goes is freed directly, a linked one by put()/putLocked().
 *   `state` stays readable after the free.
 * Invariants: at most one VmBo per (VM, GEM) on the GEM's list; a zombie
 *   has refcount 0 and is on no GEM list.
 */
import { ArgumentError, UsageError } from "../errors.js";
import { arg, describeValue, is } from "../validate.js";
import { defineEffectKind, Effect, READ, WRITE } from "../kernel/effect.js";
import { currentOrNull } from "../kernel/current.js";
import { guardLive, kfree, LIBRARY_CLASS, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { Kref } from "../kernel/kref.js";
import { GFP_KERNEL, kmallocObject } from "../kernel/memory.js";
import { makeOp, type Op } from "../kernel/op.js";
import { checkMightSleep } from "../kernel/context.js";
import { evict, extobjAdd, VmBoListLinks } from "./vm-bo-list.js";
import { GEM_GPUVA_LIST, GemObject, gemGpuvaLock, gpuvmMisuse, wrongStage } from "./gem-object.js";
import { checkGem, checkLiveVm, GPUVM_HOLDER, GpuVm, VM_BO_DEFER } from "./gpuvm.js";
import type { Mapping } from "./mapping.js";
import { runVoidCallback } from "./driver-callback.js";

/** A VmBo's lifecycle stage. */
export type VmBoState = "prealloc" | "linked" | "zombie" | "freed";

/** The step that frees a VmBo (drm_gpuvm_bo_destroy_not_in_lists()): it leaves every structure. */
export const VM_BO_DESTROY = defineEffectKind({ name: "vm-bo-destroy" });

/** Bytes charged for a VmBo allocated by the library (sizeof(struct drm_gpuvm_bo) on x86-64). */
export const VM_BO_BYTES = 128;
/** The fault-injection site of the library's VmBo allocation. */
export const VM_BO_ALLOC_SITE = "drm_gpuvm_bo_create";
/** Holder tag of the reference each linked mapping holds. */
export const VM_BO_GPUVA_HOLDER = "gpuva";
/** Holder tag of the GEM reference the internal-locking put()/unlink() holds around the lock. */
export const VM_BO_PUT_HOLDER = "vm_bo put";

/**
 * The accessors of {@link VmBo.state} and {@link VmBo.evicted}, defined on
 * each VmBo itself (own properties, as plain fields were: readable after
 * the free without a use-after-free report), each read noted in the
 * running step's footprint (noteTouched).
 */
const VM_BO_NOTED_FIELDS: PropertyDescriptorMap = {
  state: {
    enumerable: true,
    get(this: VmBo): VmBoState {
      noteTouched(this.sim, this, false);
      return this.stageNow;
    },
  },
  evicted: {
    enumerable: true,
    get(this: VmBo): boolean {
      noteTouched(this.sim, this, false);
      return this.evictedNow;
    },
    set(this: VmBo, flag: boolean) {
      noteTouched(this.sim, this, true);
      this.evictedNow = flag;
    },
  },
};

export class VmBo extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  readonly vm: GpuVm;
  readonly obj: GemObject;
  readonly refcount: Kref<VmBo>;
  /**
   * Its lifecycle stage (readable after the free: an accessor of the object
   * itself, not of its class, so the freed-object trap leaves it alone). A
   * read is a query: it joins the running step's footprint (the steps that
   * change the stage declare a write of the VmBo).
   */
  declare readonly state: VmBoState;
  /**
   * Whether it is marked evicted (written by {@link VmBo.evict} under the
   * evict list's protection). A read joins the running step's footprint, as
   * {@link VmBo.state}; a write (evict() writes it in a step that declares
   * the VmBo; use evict()) is noted as a write of the VmBo.
   */
  declare evicted: boolean;
  /** @internal The stage behind {@link VmBo.state}: library code reads it in steps whose effect declares this VmBo. */
  stageNow: VmBoState = "prealloc";
  /** @internal The flag behind {@link VmBo.evicted} (see stageNow). */
  evictedNow = false;
  /** @internal List membership bookkeeping owned by vm-bo-list.ts. */
  listLinks: VmBoListLinks = new VmBoListLinks();
  /** @internal vm_bo->list.gpuva: its linked mappings. */
  readonly gpuva: Mapping[] = [];
  /** @internal The tag of the reference it was created with (obtainPrealloc drops it). */
  createHolder: string | undefined = undefined;

  /**
   * The allocation only (a driver's `vmBoAlloc` calls `new MyVmBo(vm, obj)`):
   * refcount 1 (untagged), prealloc, no VM or GEM reference yet. Use
   * {@link boCreate} / {@link boObtain} to make a usable one.
   *
   * @throws ArgumentError naming `vm` (not a GpuVm), `obj` (not a GemObject,
   *   or of another Sim).
   */
  constructor(vm: GpuVm, obj: GemObject) {
    arg("vm", is.instanceOf(GpuVm), vm);
    arg("obj", is.instanceOf(GemObject), obj);
    if (obj.sim !== vm.sim) throw new ArgumentError("obj", `${obj.label} belongs to another Sim than ${vm.label}`);
    super(vm.sim, "VmBo");
    this.vm = vm;
    this.obj = obj;
    vm.sim.heap.share(this.gpuva, this);
    this.refcount = new Kref<VmBo>(this);
    Object.defineProperties(this, VM_BO_NOTED_FIELDS);
  }

  /** Mirrors drm_gpuvm_bo_get(). */
  get(holder?: string): Op<void> {
    return this.refcount.get(holder);
  }

  /** kref_get_unless_zero(&vm_bo->kref): false for a zombie. */
  getUnlessZero(holder?: string): Op<boolean> {
    return this.refcount.getUnlessZero(holder);
  }

  /**
   * Mirrors drm_gpuvm_bo_put(): may sleep. The last reference destroys it:
   * off the extobj and evict lists, off its GEM's list (asserting
   * gemGpuvaLock(vm, obj): `lock-not-held` otherwise), freed (ops.vmBoFree or
   * kfree), then its VM and GEM references dropped. Returns whether it was
   * destroyed.
   */
  putLocked(holder?: string): Op<boolean> {
    return makeOp("drm_gpuvm_bo_put", this, putLockedBody, holder);
  }

  /**
   * Internal-locking put: takes a GEM reference, gemGpuvaLock(vm, obj), puts
   * with putLocked(), unlocks, drops the GEM reference (the GEM may go with
   * the last VmBo, and its lock with it: never free a lock being held).
   */
  put(holder?: string): Op<boolean> {
    return makeOp("drm_gpuvm_bo_put_unlocked", this, putBody, holder);
  }

  /**
   * Mirrors drm_gpuvm_bo_put_deferred() (immediate mode only: a
   * `gpuvm-misuse` wrong-mode report otherwise, and it goes on): a put that
   * takes the GEM's gpuvaLock only for the last reference, which makes the
   * VmBo a zombie (off the GEM's list; off the extobj/evict lists unless
   * resvProtected) and queues it for vm.boDeferredCleanup(), after the
   * mutex is released. Returns whether it became a zombie.
   */
  putDeferred(holder?: string): Op<boolean> {
    return makeOp("drm_gpuvm_bo_put_deferred", this, putDeferredBody, holder);
  }

  /** Its linked mappings, in link order (drm_gpuvm_bo_for_each_va()). A query; a snapshot. */
  mappings(): readonly Mapping[] {
    guardLive(this, "VmBo.mappings");
    noteTouched(this.sim, this.gpuva, false);
    return [...this.gpuva];
  }

  /**
   * Mirrors drm_gpuvm_bo_extobj_add(): put it on its VM's extobj list when
   * its GEM is external to the VM (docs/vm-bo-list.md). The list's lock is
   * taken inside (spinlock modes) or asserted (`resvProtected`: the VM's resv).
   */
  extobjAdd(): Op<void> {
    return extobjAdd(this);
  }

  /**
   * Mirrors drm_gpuvm_bo_evict(): set or clear its `evicted` flag and move it
   * onto or off its VM's evict list. With `resvProtected` and an external
   * GEM only the flag changes; prepareObjects() moves it later. The GEM's
   * resv must be held (`lock-not-held` otherwise).
   */
  evict(flag: boolean): Op<void> {
    return evict(this, flag);
  }

  /** drm_gem_gpuva_assert_lock_held() for its VM and GEM: files `lock-not-held` and returns false when the lock protecting the GEM's VmBo list is not held by the current task. */
  assertGpuvaLockHeld(): boolean {
    return gemGpuvaLock(this.vm, this.obj).assertHeld();
  }

  /** @internal drm_gpuvm_bo_destroy_not_in_lists(): free it and drop its VM and GEM references. */
  destroyNotInLists(): Op<void> {
    return makeOp("drm_gpuvm_bo_destroy_not_in_lists", this, destroyNotInListsBody);
  }
}

function setState(b: VmBo, s: VmBoState): void {
  b.stageNow = s;
}

/** The at-call checks of a (vm, obj) pair: both live, of one Sim. */
function checkPair(vm: unknown, obj: unknown): void {
  checkGem(checkLiveVm("vm", vm), "obj", obj);
}

function checkHolder(holder: unknown): void {
  if (holder !== undefined) is.string("holder", holder);
}

/**
 * Mirrors drm_gpuvm_bo_create(): a new prealloc VmBo of (vm, obj), holding
 * a VM and a GEM reference ("vm_bo"); its own first reference is tagged
 * `holder`. Allocated by ops.vmBoAlloc, else with kmallocObject(GFP_KERNEL,
 * site "drm_gpuvm_bo_create"). Returns null on -ENOMEM; nothing changed then.
 *
 * @throws ArgumentError naming `vm` or `obj` (freed or being released; ForeignSimError: of another Sim), or `holder`.
 */
export function boCreate(vm: GpuVm, obj: GemObject, holder?: string): Op<VmBo | null> {
  checkPair(vm, obj);
  checkHolder(holder);
  return makeOp("drm_gpuvm_bo_create", vm, createBody, obj, holder);
}

/**
 * Mirrors drm_gpuvm_bo_find(): the VmBo of (vm, obj) on the GEM's list,
 * with a new reference (tag `holder`), or null. Asserts gemGpuvaLock(vm, obj)
 * (`lock-not-held` otherwise).
 * @throws ArgumentError naming `vm` or `obj` (freed or being released; ForeignSimError: of another Sim), or `holder`.
 */
export function boFind(vm: GpuVm, obj: GemObject, holder?: string): Op<VmBo | null> {
  checkPair(vm, obj);
  checkHolder(holder);
  return makeOp("drm_gpuvm_bo_find", vm, findBody, obj, holder);
}

/**
 * Mirrors drm_gpuvm_bo_obtain_locked(): find the VmBo of (vm, obj) (a new
 * reference), else create one and add it to the GEM's list. The caller
 * holds gemGpuvaLock(vm, obj) (asserted). Not for immediate-mode VMs (it
 * allocates): a `gpuvm-misuse` wrong-mode report there, and it goes on.
 * Returns the VmBo, or "nomem" (-ENOMEM; nothing changed).
 * @throws ArgumentError naming `vm` or `obj` (freed or being released; ForeignSimError: of another Sim), or `holder`.
 */
export function boObtainLocked(vm: GpuVm, obj: GemObject, holder?: string): Op<VmBo | "nomem"> {
  checkPair(vm, obj);
  checkHolder(holder);
  return makeOp("drm_gpuvm_bo_obtain_locked", vm, obtainLockedBody, obj, holder);
}

/**
 * Obtain with internal locking: in immediate mode, boCreate() before the
 * mutex then boObtainPrealloc() (no allocation under it); otherwise
 * boObtainLocked() under the GEM's resv, taken and released here.
 * @throws ArgumentError naming `vm` or `obj` (freed or being released; ForeignSimError: of another Sim), or `holder`.
 */
export function boObtain(vm: GpuVm, obj: GemObject, holder?: string): Op<VmBo | "nomem"> {
  checkPair(vm, obj);
  checkHolder(holder);
  return makeOp("drm_gpuvm_bo_obtain", vm, obtainBody, obj, holder);
}

/**
 * Mirrors drm_gpuvm_bo_obtain_prealloc() (immediate mode; a wrong-mode
 * report otherwise): under the GEM's gpuvaLock, find the VmBo of
 * (vm, obj); if found, drop `vmBo` (freed, never listed) and return the
 * found one with a new reference (tag `holder`); else add `vmBo` to the
 * GEM's list and return it. A `vmBo` that is not prealloc is a
 * `gpuvm-wrong-stage` report, and it is returned unchanged.
 * @throws ArgumentError naming `vmBo` or `holder`.
 */
export function boObtainPrealloc(vmBo: VmBo, holder?: string): Op<VmBo> {
  arg("vmBo", is.instanceOf(VmBo), vmBo);
  checkHolder(holder);
  return makeOp("drm_gpuvm_bo_obtain_prealloc", vmBo, obtainPreallocBody, holder);
}

function* createBody(this: GpuVm, obj: GemObject, holder: string | undefined): Generator<Effect, VmBo | null, unknown> {
  return yield* create(this, obj, holder);
}

function* create(vm: GpuVm, obj: GemObject, holder: string | undefined): Generator<Effect, VmBo | null, unknown> {
  let b: VmBo | null;
  if (vm.ops.vmBoAlloc !== undefined) {
    b = vm.ops.vmBoAlloc(vm, obj);
    // A new one: not already known to the VM (a cached VmBo returned twice would take the VM and GEM references twice).
    if (b !== null && (!(b instanceof VmBo) || b.vm !== vm || b.obj !== obj || b.state !== "prealloc" || vm.vmBoSet.has(b) || b.isFreed)) {
      throw new UsageError(`ops.vmBoAlloc must return a new VmBo of ${vm.label} and ${obj.label}, or null; got ${describeValue(b)}`);
    }
  } else {
    b = yield* kmallocObject(() => new VmBo(vm, obj), GFP_KERNEL, { size: VM_BO_BYTES, site: VM_BO_ALLOC_SITE });
  }
  if (b === null) return null;
  if (holder !== undefined && vm.sim.checks.refcounts) {
    b.refcount.dropHolder(undefined, currentOrNull());
    b.refcount.addHolder(holder, "drm_gpuvm_bo_create");
  }
  b.createHolder = holder;
  // In the allocation's step (or, with ops.vmBoAlloc, the caller's): the
  // write joins that step's footprint.
  noteTouched(vm.sim, vm.vmBoSet, true);
  vm.vmBoSet.add(b);
  yield* vm.get(GPUVM_HOLDER.vmBo);
  yield* obj.get(GPUVM_HOLDER.vmBo);
  return b;
}

/** __drm_gpuvm_bo_find() in its own step: assert the lock, look the GEM's list up. */
function* lookup(vm: GpuVm, obj: GemObject): Generator<Effect, VmBo | null, unknown> {
  yield new Effect(GEM_GPUVA_LIST, obj, READ, obj.gpuva);
  if (!guardLive(obj, "drm_gpuvm_bo_find")) return null;
  gemGpuvaLock(vm, obj).assertHeld();
  for (const b of obj.gpuva) if (b.vm === vm) return b;
  return null;
}

function* findBody(this: GpuVm, obj: GemObject, holder: string | undefined): Generator<Effect, VmBo | null, unknown> {
  const b = yield* lookup(this, obj);
  if (b !== null) yield* b.refcount.get(holder);
  return b;
}

/** list_add_tail(&vm_bo->list.entry.gem, &obj->gpuva.list), asserting the lock. */
function* gemListAdd(b: VmBo): Generator<Effect, void, unknown> {
  const obj = b.obj;
  yield new Effect(GEM_GPUVA_LIST, obj, WRITE, obj.gpuva, null, Infinity, null, [{ object: b, mode: "write" }]);
  touch(b.sim, obj.gpuva, true, "drm_gpuvm_bo_obtain");
  gemGpuvaLock(b.vm, obj).assertHeld();
  obj.gpuva.push(b);
  setState(b, "linked");
}

/**
 * list_del(&vm_bo->list.entry.gem); the VmBo goes to `next`. drm_gpuvm_bo_destroy()
 * asserts the lock; drm_gpuvm_bo_into_zombie() does not (its caller holds the mutex).
 */
function* gemListDel(b: VmBo, next: VmBoState): Generator<Effect, void, unknown> {
  const obj = b.obj;
  yield new Effect(GEM_GPUVA_LIST, obj, WRITE, obj.gpuva, null, Infinity, null, [{ object: b, mode: "write" }]);
  touch(b.sim, obj.gpuva, true, "drm_gpuvm_bo_destroy");
  if (next !== "zombie") gemGpuvaLock(b.vm, obj).assertHeld();
  const i = obj.gpuva.indexOf(b);
  if (i >= 0) obj.gpuva.splice(i, 1);
  setState(b, next);
}

function* obtainLockedBody(this: GpuVm, obj: GemObject, holder: string | undefined): Generator<Effect, VmBo | "nomem", unknown> {
  if (this.flags.immediateMode) {
    gpuvmMisuse(this, obj, "wrong-mode", "drm_gpuvm_bo_obtain_locked", "immediate-mode VMs must not allocate under the GEM's gpuva lock: use boObtainPrealloc()");
  }
  const found = yield* findBody.call(this, obj, holder);
  if (found !== null) return found;
  const b = yield* create(this, obj, holder);
  if (b === null) return "nomem";
  yield* gemListAdd(b);
  return b;
}

function* obtainBody(this: GpuVm, obj: GemObject, holder: string | undefined): Generator<Effect, VmBo | "nomem", unknown> {
  if (this.flags.immediateMode) {
    const b = yield* create(this, obj, holder);
    if (b === null) return "nomem";
    return yield* obtainPrealloc(b, holder);
  }
  const lock = gemGpuvaLock(this, obj);
  yield* lock.lock();
  const r = yield* obtainLockedBody.call(this, obj, holder);
  yield* lock.unlock();
  return r;
}

function* obtainPreallocBody(this: VmBo, holder: string | undefined): Generator<Effect, VmBo, unknown> {
  return yield* obtainPrealloc(this, holder);
}

function* obtainPrealloc(b: VmBo, holder: string | undefined): Generator<Effect, VmBo, unknown> {
  const vm = b.vm;
  const obj = b.obj;
  if (!vm.flags.immediateMode) {
    gpuvmMisuse(vm, b, "wrong-mode", "drm_gpuvm_bo_obtain_prealloc", "only immediate-mode VMs protect the GEM's VmBo list with its gpuva mutex");
  }
  if (b.state !== "prealloc") {
    wrongStage(b, b.state, "drm_gpuvm_bo_obtain_prealloc", "a VmBo made by boCreate() and not yet on its GEM's list");
    return b;
  }
  yield* obj.gpuvaLock.lock();
  const found = yield* lookup(vm, obj);
  if (found !== null) {
    yield* found.refcount.get(holder);
    yield* obj.gpuvaLock.unlock();
    yield* b.refcount.put(destroyNotInListsRelease, b.createHolder);
    return found;
  }
  yield* gemListAdd(b);
  yield* obj.gpuvaLock.unlock();
  return b;
}

function* putLockedBody(this: VmBo, holder: string | undefined): Generator<Effect, boolean, unknown> {
  const task = currentOrNull();
  if (task !== null) checkMightSleep(task, "drm_gpuvm_bo_put");
  return yield* this.refcount.put(destroyRelease, holder);
}

/** drm_gpuvm_bo_destroy(): the kref release of putLocked(). */
function* destroyRelease(b: VmBo): Generator<Effect, void, unknown> {
  const vm = b.vm;
  const lock = !vm.flags.resvProtected;
  if (!lock) vm.resv.assertHeld();
  yield* vm.extobj.del(b, lock);
  yield* vm.evict.del(b, lock);
  // drm_gpuvm_bo_destroy() asserts the GEM's list lock whether or not the
  // VmBo ever made it onto the list (a list_del of a never-added entry is harmless).
  if (b.state === "linked") yield* gemListDel(b, "linked");
  else gemGpuvaLock(vm, b.obj).assertHeld();
  yield* destroyNotInLists(b);
}

function* destroyNotInListsRelease(b: VmBo): Generator<Effect, void, unknown> {
  yield* destroyNotInLists(b);
}

function* destroyNotInListsBody(this: VmBo): Generator<Effect, void, unknown> {
  yield* destroyNotInLists(this);
}

function* destroyNotInLists(b: VmBo): Generator<Effect, void, unknown> {
  const vm = b.vm;
  const obj = b.obj;
  yield new Effect(VM_BO_DESTROY, b, WRITE, b, null, Infinity, null, [{ object: vm.vmBoSet, mode: "write" }]);
  touch(b.sim, vm.vmBoSet, true, "drm_gpuvm_bo_destroy_not_in_lists");
  if (!guardLive(b, "drm_gpuvm_bo_destroy_not_in_lists")) return;
  setState(b, "freed");
  vm.vmBoSet.delete(b);
  if (vm.ops.vmBoFree !== undefined) {
    yield* runVoidCallback(vm.ops.vmBoFree(b), `ops.vmBoFree of ${vm.label}`);
  } else {
    yield* kfree(b);
  }
  yield* vm.put(GPUVM_HOLDER.vmBo);
  yield* obj.put(GPUVM_HOLDER.vmBo);
}

function* putBody(this: VmBo, holder: string | undefined): Generator<Effect, boolean, unknown> {
  const vm = this.vm;
  const obj = this.obj;
  // ORDER: the GEM reference first: the put may drop the GEM's last other
  // reference, and with it the lock held here.
  yield* obj.get(VM_BO_PUT_HOLDER);
  const lock = gemGpuvaLock(vm, obj);
  yield* lock.lock();
  const r = yield* this.putLocked(holder);
  yield* lock.unlock();
  yield* obj.put(VM_BO_PUT_HOLDER);
  return r;
}

/** drm_gpuvm_bo_into_zombie(): the last reference went under the GEM's mutex. */
function* intoZombie(b: VmBo): Generator<Effect, void, unknown> {
  const vm = b.vm;
  if (!vm.flags.resvProtected) {
    yield* vm.extobj.del(b, true);
    yield* vm.evict.del(b, true);
  }
  yield* gemListDel(b, "zombie");
}

/** drm_gpuvm_bo_defer_zombie_cleanup(): onto the VM's deferred list (after the mutex is released). */
function* deferZombie(b: VmBo): Generator<Effect, void, unknown> {
  const vm = b.vm;
  yield new Effect(VM_BO_DEFER, b, WRITE, vm.boDefer);
  touch(b.sim, vm.boDefer, true, "drm_gpuvm_bo_defer_zombie_cleanup");
  vm.boDefer.push(b);
}

/** @internal For mapping.ts: the release of drm_gpuva_unlink_defer()'s kref_put, and the queueing after it. */
export const zombieSteps = { intoZombie, deferZombie };

function* putDeferredBody(this: VmBo, holder: string | undefined): Generator<Effect, boolean, unknown> {
  return yield* putDeferred(this, holder);
}

function* putDeferred(b: VmBo, holder: string | undefined): Generator<Effect, boolean, unknown> {
  const vm = b.vm;
  const obj = b.obj;
  if (!vm.flags.immediateMode) {
    gpuvmMisuse(vm, b, "wrong-mode", "drm_gpuvm_bo_put_deferred", "deferred puts are for immediate-mode VMs");
  }
  const k = b.refcount;
  // refcount_dec_not_one(): the fast path of kref_put_mutex(), without the mutex.
  yield k.putEffect;
  touch(b.sim, k, true, "drm_gpuvm_bo_put_deferred");
  if (!guardLive(b, "drm_gpuvm_bo_put_deferred")) return false;
  if (k.count > 1) {
    k.count--;
    const sim = b.sim;
    sim.note(`count ${k.count}`);
    if (sim.checks.refcounts) {
      sim.logRef(b.id, "put", k.count, holder);
      k.dropHolder(holder, currentOrNull());
    }
    return false;
  }
  yield* obj.gpuvaLock.lock();
  const released = yield* k.put(zombieRelease, holder);
  if (!released) {
    yield* obj.gpuvaLock.unlock();
    return false;
  }
  // ORDER: queued only after the mutex is released: once queued, a cleanup
  // may drop the GEM's last reference and free the mutex.
  yield* deferZombie(b);
  return true;
}

function* zombieRelease(b: VmBo): Generator<Effect, void, unknown> {
  yield* intoZombie(b);
  yield* b.obj.gpuvaLock.unlock();
}
