/**
 * vm-who-refcounts-whom: which object keeps which alive among VM, GEM,
 * VmBo and mapping, and what goes wrong when a driver decides otherwise.
 *
 * Seed thread 001 (drm/gpuvm: reference count drm_gpuvm structures, Nov
 * 2023). Christian König wanted no mapping -> VM reference: a vma does not
 * pin its mm_struct, it dies with it. Danilo Krummrich answered that a
 * mapping keeps a pointer to its VM, so freeing a VM that still has
 * mappings is unsafe, and the count makes it safe: in GPUVM every mapping
 * ("gpuva") and every VmBo ("vm_bo") holds a VM reference. Thomas
 * Hellström then asked from which context the VM's destructor runs: the
 * put that destroys the last VmBo is made under the VM's resv (and the
 * object's), so the destructor runs with those held. And Christian
 * recalled that userspace may close a BO (or be killed) while mappings
 * remain, when page tables cannot be updated: the mappings must be queued
 * for later clearing (amdgpu's `vm->freed`).
 *
 * Buggy (the driver counts the VM's users itself and frees it when its
 * count says so): the BO is shared (another process exported it), so its
 * VmBo and mapping outlive the importer's file. Step numbers are those of
 * seed 0:
 *
 *   postclose/2                              evict/3
 *   23. the driver's count of the VM's
 *       users is zero: kfree(vm) (the
 *       mapping and the VmBo still point
 *       to it)
 *                                            25. dma_resv_lock(bo.resv)
 *                                            26. the move notification
 *                                                looks the range up in
 *                                                vm_bo->vm's tree
 *                                                => use-after-free of the VM
 *
 * In the other order the BO's close, run by the last task, is first to
 * reach the freed VM: its unlink destroys the VmBo, which leaves the VM's
 * extobj list (a use-after-free of that list's lock).
 *
 * Fixed: postclose drops the file's VM reference (drm_gpuvm_put); the VmBo
 * and the mapping keep the VM alive until the BO's close unmaps it.
 *
 * Further variants:
 * - destroy-under-resv: the unbind path drops a VmBo under the VM's and the
 *   BO's resv; when that is the VM's last reference, the driver's vmFree
 *   (vm_destroy) runs with both held and locks the VM's resv to tear its
 *   page tables down: lockdep's recursive locking. destroy-ref-dance holds a
 *   VM reference across the locked section (the dance of seed 000), so the
 *   last put comes after the unlock: clean.
 * - close-frees-pages: the BO is closed (its process killed) while its
 *   mapping's PTEs remain; the close path frees the backing pages at once:
 *   `phys-page-still-mapped`. close-deferred-clear moves the mapping to the
 *   VM's freed list, holding a BO reference, and a worker (spawned on
 *   demand) clears the PTEs, invalidates the TLB, removes the mapping and
 *   drops the reference; the pages go last: clean, nothing leaked.
 */
import { GemObject } from "../drm/gem-object.js";
import { GpuVm } from "../drm/gpuvm.js";
import { Mapping } from "../drm/mapping.js";
import { boObtain, type VmBo } from "../drm/vm-bo.js";
import { GpuPageTable } from "../device/page-table.js";
import { PhysMem } from "../device/phys-mem.js";
import { GpuTlb } from "../device/tlb.js";
import { access } from "../kernel/access.js";
import type { Effect } from "../kernel/effect.js";
import { kfree, SimObject } from "../kernel/heap.js";
import { GFP_KERNEL, PAGE_SIZE } from "../kernel/memory.js";
import type { Sim } from "../kernel/sim.js";
import { reservationWwClass } from "../dma-buf/dma-resv.js";
import { WwAcquireCtx } from "../locking/ww-mutex.js";
import type { CatalogScenario } from "./scenario.js";

const VM_RANGE = 0x100000;
const BO_ADDR = 0x10000;
const BO_SIZE = 0x4000;

/** Run `last` when the second of two tasks calls the returned `done`. */
function joinTwo(last: () => Generator<Effect, void, unknown>): () => Generator<Effect, void, unknown> {
  let running = 2;
  return function* done() {
    if (--running > 0) return;
    yield* last();
  };
}

// --- (a) freeing the VM by the driver's own count ---------------------------

/** What the driver's postclose does with the VM once its own count of users is zero. */
type Postclose = (vm: GpuVm) => Generator<Effect, void, unknown>;

/**
 * A VM of the importer's file and a BO another process exported to it
 * (the exporter's reference is "creator"), mapped once. postclose/2 lets the
 * VM go while evict/3 (the exporter's memory pressure) moves the BO; the
 * last of them closes the importer's handle, whose close unmaps the BO.
 */
function sharedBoScenario(postclose: Postclose): (sim: Sim) => void {
  return (sim) => {
    const root = new GemObject(sim, { name: "root", size: 0x1000 });
    const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: VM_RANGE, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
    const bo = new GemObject(sim, { name: "bo", size: BO_SIZE });
    const m = new Mapping(sim, { name: "m", addr: BO_ADDR, range: BO_SIZE, obj: bo });
    sim.spawn("setup", "process", function* () {
      yield* bo.open();
      const vmBo = (yield* boObtain(vm, bo, "driver")) as VmBo;
      yield* m.insert(vm);
      yield* m.link(vmBo);
      // INVARIANT: the mapping holds the VmBo, the VmBo and the mapping hold the VM.
      yield* vmBo.put("driver");
      const done = joinTwo(function* () {
        // The importer's handle closes: its close callback unmaps the BO.
        yield* m.unlink();
        yield* m.remove();
        yield* kfree(m);
        yield* bo.close();
        yield* bo.put("creator");
        yield* root.put("creator");
      });
      sim.spawn("postclose", "process", function* () {
        yield* postclose(vm);
        yield* done();
      });
      sim.spawn("evict", "process", function* () {
        // The exporter moves the BO: every importer's mappings of it must be rebound.
        yield* bo.resv.lock(null);
        for (const vb of bo.vmBos()) {
          for (const va of vb.mappings()) {
            // The move notification looks each range up in vm_bo->vm's tree (drm_gpuva_find)...
            yield* access(vb.vm, "read");
            const found = vb.vm.find(va.addr, va.range);
            // ...and marks the mapping for the VM's next rebind.
            if (found !== null) yield* found.invalidate(true);
          }
        }
        yield* bo.resv.unlock();
        yield* done();
      });
    });
  };
}

/** BUG: the driver's own count of the VM's users said zero; the VmBo and the mapping were not asked. */
function* freeByOwnCount(vm: GpuVm): Generator<Effect, void, unknown> {
  yield* kfree(vm);
}

/** drm_gpuvm_put(): the file's reference goes; the VmBo's and the mapping's keep the VM. */
function* putFileReference(vm: GpuVm): Generator<Effect, void, unknown> {
  yield* vm.put("creator");
}

// --- (b) the VM's destructor reached with resv locks held -------------------

/** The driver's unbind: drops its VmBo under the VM's and the BO's resv (drm_exec-style, one acquire context). */
type Unbind = (sim: Sim, vm: GpuVm, vmBo: VmBo) => Generator<Effect, void, unknown>;

/**
 * The driver's vm_destroy (ops.vmFree): tear the page tables down under
 * the VM's resv, then drop the root page-table BO and free the VM.
 */
function vmDestroy(root: GemObject): (vm: GpuVm) => Generator<Effect, void, unknown> {
  return function* (vm) {
    yield* vm.resv.lock(null);
    // (the page-table BOs would be freed here)
    yield* vm.resv.unlock();
    yield* root.put("vm_destroy");
    yield* kfree(vm);
  };
}

function destroyScenario(unbind: Unbind): (sim: Sim) => void {
  return (sim) => {
    const root = new GemObject(sim, { name: "root", size: 0x1000 });
    const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: VM_RANGE, resvObj: root, ops: { vmFree: vmDestroy(root) } });
    const bo = new GemObject(sim, { name: "bo", size: BO_SIZE });
    sim.spawn("setup", "process", function* () {
      // The VM keeps its root page-table BO until vm_destroy.
      yield* root.get("vm_destroy");
      const vmBo = (yield* boObtain(vm, bo, "driver")) as VmBo;
      const done = joinTwo(function* () {
        yield* bo.put("creator");
        yield* root.put("creator");
      });
      sim.spawn("unbind", "process", function* () {
        yield* unbind(sim, vm, vmBo);
        yield* done();
      });
      sim.spawn("postclose", "process", function* () {
        yield* vm.put("creator");
        yield* done();
      });
    });
  };
}

/** BUG: the VmBo's put may drop the VM's last reference, and vm_destroy runs under both resvs. */
function* unbindUnderResv(sim: Sim, vm: GpuVm, vmBo: VmBo): Generator<Effect, void, unknown> {
  const ctx = yield* WwAcquireCtx.init(sim, reservationWwClass(sim));
  yield* vm.resv.lock(ctx);
  yield* vmBo.obj.resv.lock(ctx);
  const bo = vmBo.obj;
  yield* vmBo.putLocked("driver");
  yield* bo.resv.unlock();
  yield* vm.resv.unlock();
  ctx.fini();
}

/** The dance: a VM reference of our own across the locked section; its put, after the unlocks, may be the last. */
function* unbindRefDance(sim: Sim, vm: GpuVm, vmBo: VmBo): Generator<Effect, void, unknown> {
  // ORDER: the VM reference before the locks, dropped after the unlocks.
  yield* vm.get("unbind");
  yield* unbindUnderResv(sim, vm, vmBo);
  yield* vm.put("unbind");
}

// --- (c) a BO closed while its mappings remain ------------------------------

/** The BO's backing store: its pages, allocated at creation and freed at the BO's free. */
export class BackingStore extends SimObject {
  /** The frames (pfns). Locking: set at creation, emptied by the free path only. */
  readonly pages: number[] = [];

  constructor(sim: Sim) {
    super(sim, "BackingStore", { name: "bo backing store", static: true });
  }
}

/** The world of (c): memory, the VM's page table and TLB, and the BO's pages mapped at BO_ADDR. */
interface CloseWorld {
  readonly sim: Sim;
  readonly mem: PhysMem;
  readonly pt: GpuPageTable;
  readonly tlb: GpuTlb;
  readonly vm: GpuVm;
  readonly root: GemObject;
  readonly bo: GemObject;
  readonly store: BackingStore;
  /** amdgpu's vm->freed: mappings whose PTEs still need clearing, each holding a BO reference. Locking: vm.resv. */
  readonly freed: Mapping[];
}

/** drm_gem_object_funcs.close of the driver: called when the handle closes, cannot fail, cannot update page tables. */
type GemClose = (w: CloseWorld, m: Mapping) => Generator<Effect, void, unknown>;

function* freePages(w: CloseWorld): Generator<Effect, void, unknown> {
  yield* access(w.store, "write");
  for (const pfn of w.store.pages.splice(0)) yield* w.mem.freePage(pfn);
}

/**
 * The worker of the freed list (amdgpu_vm_clear_freed() run from a work
 * item): under the VM's resv, clear each freed mapping's PTEs, invalidate
 * the TLB, take the mapping out of the tree, then drop its BO reference.
 */
function* clearFreed(w: CloseWorld): Generator<Effect, void, unknown> {
  // RELIES ON: the queued work's VM reference ("clear_freed"): removing the last mapping may drop every other one.
  yield* w.vm.resv.lock(null);
  yield* access(w.freed, "write");
  const todo = w.freed.splice(0);
  for (const m of todo) {
    yield* w.pt.unmap(m.addr, m.range);
    yield* w.tlb.invalidate(m.addr, m.range);
    yield* m.remove();
  }
  yield* w.vm.resv.unlock();
  for (const m of todo) {
    const obj = m.gem.obj as GemObject;
    yield* kfree(m);
    // ORDER: the PTEs are gone: the BO (and its pages) may go now.
    yield* obj.put("vm freed");
  }
  yield* w.vm.put("clear_freed");
}

/** BUG: the close frees the backing pages at once, though the mapping's PTEs still point at them. */
function* closeFreesPages(w: CloseWorld, m: Mapping): Generator<Effect, void, unknown> {
  yield* freePages(w);
  yield* m.unlink();
  // ORDER: a VM reference across the locked section: the mapping's may be the last.
  yield* w.vm.get("close");
  yield* w.vm.resv.lock(null);
  yield* w.pt.unmap(m.addr, m.range);
  yield* w.tlb.invalidate(m.addr, m.range);
  yield* m.remove();
  yield* w.vm.resv.unlock();
  yield* w.vm.put("close");
  yield* kfree(m);
}

/** The mapping goes on the VM's freed list with a BO reference; a worker clears it later. */
export function* closeDefersClear(w: CloseWorld, m: Mapping): Generator<Effect, void, unknown> {
  const obj = w.bo;
  // ORDER: the freed list's BO reference before the handle's goes, so the pages outlive the PTEs.
  yield* obj.get("vm freed");
  yield* m.unlink();
  // ORDER: the work's VM reference, taken while the mapping's still holds the VM.
  yield* w.vm.get("clear_freed");
  yield* w.vm.resv.lock(null);
  yield* access(w.freed, "write");
  w.freed.push(m);
  yield* w.vm.resv.unlock();
  // The worker is spawned for this work and exits when the list is empty.
  w.sim.spawn("kworker/u:1", "process", () => clearFreed(w));
}

/**
 * The world of (c) with `close` as the driver's GEM close; `observe`
 * (tests) gets the memory, page table and backing store once built.
 */
export function closeScenario(close: GemClose, observe?: (w: { readonly mem: PhysMem; readonly pt: GpuPageTable; readonly store: BackingStore }) => void): (sim: Sim) => void {
  return (sim) => {
    const mem = new PhysMem(sim, { name: "ram", pages: 64 });
    const pt = new GpuPageTable(sim, mem, { name: "vm page table" });
    const tlb = new GpuTlb(sim, { name: "vm tlb" });
    const root = new GemObject(sim, { name: "root", size: 0x1000 });
    const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: VM_RANGE, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
    const store = new BackingStore(sim);
    const bo = new GemObject(sim, {
      name: "bo",
      size: BO_SIZE,
      // The last reference frees the pages (whatever the close left).
      free: () => freePages(w),
    });
    const w: CloseWorld = { sim, mem, pt, tlb, vm, root, bo, store, freed: [] };
    sim.share(w.freed);
    observe?.(w);
    const m = new Mapping(sim, { name: "m", addr: BO_ADDR, range: BO_SIZE, obj: bo });
    sim.spawn("setup", "process", function* () {
      for (let i = 0; i < BO_SIZE / PAGE_SIZE; i++) {
        const pfn = yield* mem.allocPage(store, GFP_KERNEL);
        if (pfn !== null) store.pages.push(pfn);
      }
      yield* bo.open();
      yield* bo.put("creator");
      const vmBo = (yield* boObtain(vm, bo, "driver")) as VmBo;
      yield* vm.resv.lock(null);
      yield* m.insert(vm);
      for (const [i, pfn] of store.pages.entries()) yield* pt.map(BO_ADDR + i * PAGE_SIZE, pfn, 4096, { read: true, write: true });
      yield* vm.resv.unlock();
      yield* m.link(vmBo);
      yield* vmBo.put("driver");
      sim.spawn("killed", "process", function* () {
        // The process is killed (OOM): its handle closes with the mapping in place.
        yield* close(w, m);
        yield* bo.close();
      });
      sim.spawn("postclose", "process", function* () {
        yield* vm.put("creator");
        yield* root.put("creator");
      });
    });
  };
}

export const vmWhoRefcountsWhom: CatalogScenario = {
  name: "vm-who-refcounts-whom",
  title: "Who refcounts whom: a VM freed by the driver's own count while a shared BO's mapping points to it",
  description:
    "A driver counts its VM's users itself and frees the VM when that count reaches zero, but a BO another " +
    "process shared still has a VmBo and a mapping pointing to the VM, and its move notification and unmap then touch " +
    "freed memory. In GPUVM every mapping and VmBo holds a VM reference, so the fix is to drop the file's " +
    "reference and let the last mapping free the VM.",
  expect: "use-after-free",
  variants: { buggy: sharedBoScenario(freeByOwnCount), fixed: sharedBoScenario(putFileReference) },
  more: [
    { name: "destroy-under-resv", title: "The VmBo put under both resvs is the VM's last: vm_destroy runs with them held and locks the VM's resv", scenario: destroyScenario(unbindUnderResv), expect: "recursive-locking" },
    { name: "destroy-ref-dance", title: "A VM reference held across the locked section: the last put comes after the unlocks", scenario: destroyScenario(unbindRefDance), expect: null },
    { name: "close-frees-pages", title: "A BO closed with its mapping in place frees its pages while the PTEs still point at them", scenario: closeScenario(closeFreesPages), expect: "phys-page-still-mapped" },
    { name: "close-deferred-clear", title: "The close queues the mapping on the VM's freed list; a worker clears the PTEs before the pages go", scenario: closeScenario(closeDefersClear), expect: null },
  ],
};
