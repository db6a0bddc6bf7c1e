/**
 * Small stand-ins for GpuVm, GemObject and VmBo, enough for the VM BO list
 * tests (src/drm/vm-bo-list.ts) before and besides the real objects: they
 * satisfy VmBoListOwner, VmBoListGem and VmBoListEntry structurally, with
 * real Krefs, a real DmaResv, a real Mutex (gpuvaLock) and the list's real
 * SpinLock.
 *
 * FakeVmBo's lifetime follows drm_gpuvm_bo_destroy(): its last putLocked()
 * takes it off both VM lists (with the list spinlock unless the VM is
 * resv-protected, whose resv is then asserted), off its GEM's list, frees
 * it and drops its VM and GEM references. putDeferred() makes it a zombie
 * instead (as drm_gpuvm_bo_into_zombie(): off the lists unless
 * resv-protected), finished by `vm.deferredCleanup()`.
 */
import {
  DmaResv,
  kfree,
  Kref,
  Mutex,
  SimObject,
  VmBoList,
  type DrmExecObject,
  type Effect,
  type Op,
  type Sim,
  type VmBoListMode,
  type VmBoListOps,
} from "../../src/index.js";
import { LIBRARY_CLASS } from "../../src/kernel/heap.js";
import { VmBoListLinks } from "../../src/drm/vm-bo-list.js";

export class FakeGem extends SimObject {
  static readonly [LIBRARY_CLASS] = true;
  readonly refcount: Kref<FakeGem>;
  readonly resv: DmaResv;
  readonly gpuvaLock: Mutex;
  /** drm_gem_object.gpuva.list. */
  readonly gpuva: FakeVmBo[] = [];

  constructor(sim: Sim, name: string, resv?: DmaResv) {
    super(sim, "FakeGem", { name });
    this.refcount = new Kref(this, { holder: "creator" });
    this.resv = resv ?? new DmaResv(sim, { name: `${name}.resv`, embeddedIn: this });
    this.gpuvaLock = new Mutex(sim, "&obj->gpuva.lock", { name: `${name}.gpuva.lock`, embeddedIn: this });
  }

  get(holder?: string): Op<void> {
    return this.refcount.get(holder);
  }

  put(holder?: string): Op<boolean> {
    return this.refcount.put(releaseGem, holder);
  }

  vmBos(): readonly FakeVmBo[] {
    return this.gpuva.slice();
  }
}

function* releaseGem(gem: FakeGem): Generator<Effect, void, unknown> {
  // Only its own embedded resv; a shared one belongs to its VM's resv object.
  if (gem.resv.life === gem.life) yield* gem.resv.fini();
  yield* kfree(gem);
}

/** A fake VA: what vasInRange() returns. */
export interface FakeVa {
  readonly addr: number;
  readonly range: number;
  readonly gem: { readonly obj: FakeGem | null };
}

export interface FakeVmOptions {
  readonly listMode?: VmBoListMode;
  readonly immediateMode?: boolean;
  readonly ops?: VmBoListOps<FakeVmBo>;
}

export class FakeVm extends SimObject {
  static readonly [LIBRARY_CLASS] = true;
  readonly refcount: Kref<FakeVm>;
  readonly listMode: VmBoListMode;
  readonly flags: { readonly resvProtected: boolean; readonly immediateMode: boolean };
  readonly resvObj: FakeGem;
  readonly extobj: VmBoList<FakeVmBo>;
  readonly evict: VmBoList<FakeVmBo>;
  readonly ops: VmBoListOps<FakeVmBo>;
  /** Mappings, for prepareRange: set by the test. */
  vas: FakeVa[] = [];
  /** Zombies waiting for deferredCleanup(). */
  readonly deferred: FakeVmBo[] = [];

  constructor(sim: Sim, name: string, options: FakeVmOptions = {}) {
    super(sim, "FakeVm", { name });
    this.refcount = new Kref(this, { holder: "creator" });
    this.listMode = options.listMode ?? "spinlock";
    this.flags = { resvProtected: this.listMode === "resv", immediateMode: options.immediateMode ?? false };
    this.resvObj = new FakeGem(sim, `${name}.r_obj`);
    this.extobj = new VmBoList(this, "extobj");
    this.evict = new VmBoList(this, "evict");
    this.ops = options.ops ?? {};
  }

  get resv(): DmaResv {
    return this.resvObj.resv;
  }

  isExtobj(obj: DrmExecObject): boolean {
    return obj.resv !== this.resv;
  }

  vasInRange(addr: number, range: number): readonly FakeVa[] {
    return this.vas.filter((va) => va.addr < addr + range && addr < va.addr + va.range);
  }

  /** A GEM private to this VM (sharing its resv). */
  privateGem(name: string): FakeGem {
    return new FakeGem(this.sim, name, this.resv);
  }

  /** drm_gpuvm_bo_create() + adding it to the GEM's list (as obtain would), refcount 1 (tag "creator"). */
  *obtain(obj: FakeGem): Generator<Effect, FakeVmBo, unknown> {
    yield* this.refcount.get("vm_bo");
    yield* obj.get("vm_bo");
    const vmBo = new FakeVmBo(this, obj);
    obj.gpuva.push(vmBo);
    return vmBo;
  }

  /** drm_gpuvm_bo_deferred_cleanup(). */
  *deferredCleanup(): Generator<Effect, void, unknown> {
    const zombies = this.deferred.splice(0);
    if (zombies.length === 0) return;
    if (this.flags.resvProtected) {
      yield* this.resv.lock(null);
      for (const z of zombies) {
        yield* this.extobj.del(z, false);
        yield* this.evict.del(z, false);
      }
      yield* this.resv.unlock();
    }
    for (const z of zombies) yield* destroyNotInLists(z);
  }

  /** Every object of the world, for teardown: drops the VM's creator reference chain. */
  *put(holder?: string): Generator<Effect, boolean, unknown> {
    return yield* this.refcount.put(releaseVm, holder);
  }
}

function* releaseVm(vm: FakeVm): Generator<Effect, void, unknown> {
  const r = vm.resvObj;
  yield* kfree(vm);
  yield* r.put("creator");
}

/** The holder tag of a VmBo's references to its VM and GEM. */
const VM_BO_HOLDER = "vm_bo";

export class FakeVmBo extends SimObject {
  static readonly [LIBRARY_CLASS] = true;
  readonly refcount: Kref<FakeVmBo>;
  evicted = false;
  listLinks = new VmBoListLinks();

  constructor(
    readonly vm: FakeVm,
    readonly obj: FakeGem,
  ) {
    super(vm.sim, "FakeVmBo", { name: `${vm.name}:${obj.name}` });
    this.refcount = new Kref(this, { holder: "creator" });
  }

  get state(): "linked" | "zombie" {
    // drm_gpuvm_bo_is_zombie(): a VmBo still reachable with no reference left.
    return this.refcount.read() === 0 ? "zombie" : "linked";
  }

  get(holder?: string): Op<void> {
    return this.refcount.get(holder);
  }

  getUnlessZero(holder?: string): Op<boolean> {
    return this.refcount.getUnlessZero(holder);
  }

  putLocked(holder?: string): Op<boolean> {
    return this.refcount.put(destroyVmBo, holder);
  }

  putDeferred(holder?: string): Op<boolean> {
    return this.refcount.put(intoZombie, holder);
  }
}

/** drm_gpuvm_bo_destroy(). */
function* destroyVmBo(vmBo: FakeVmBo): Generator<Effect, void, unknown> {
  const vm = vmBo.vm;
  const lock = !vm.flags.resvProtected;
  if (!lock) vm.resv.assertHeld();
  yield* vm.extobj.del(vmBo, lock);
  yield* vm.evict.del(vmBo, lock);
  const i = vmBo.obj.gpuva.indexOf(vmBo);
  if (i >= 0) vmBo.obj.gpuva.splice(i, 1);
  yield* destroyNotInLists(vmBo);
}

/** drm_gpuvm_bo_into_zombie() + the defer. */
function* intoZombie(vmBo: FakeVmBo): Generator<Effect, void, unknown> {
  const vm = vmBo.vm;
  if (!vm.flags.resvProtected) {
    yield* vm.extobj.del(vmBo, true);
    yield* vm.evict.del(vmBo, true);
  }
  const i = vmBo.obj.gpuva.indexOf(vmBo);
  if (i >= 0) vmBo.obj.gpuva.splice(i, 1);
  vm.deferred.push(vmBo);
}

function* destroyNotInLists(vmBo: FakeVmBo): Generator<Effect, void, unknown> {
  const vm = vmBo.vm;
  const obj = vmBo.obj;
  yield* kfree(vmBo);
  yield* vm.put(VM_BO_HOLDER);
  yield* obj.put(VM_BO_HOLDER);
}
