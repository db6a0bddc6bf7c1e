/**
 * gem-vmbo-list-locking: the GEM object's VmBo list under external locking
 * versus an internal lock.
 *
 * Each GEM object lists its VmBos, and each VmBo its mappings. Which lock
 * protects those lists depends on the VM: the GEM's resv normally, the
 * GEM's own gpuva mutex in an immediate-mode VM (whose drivers change
 * mappings in the fence-signalling path, where a resv may not be taken).
 * The kernel's GPUVM was designed with external locking, so that drivers
 * could avoid lock inversions (seed 004: Danilo Krummrich); every
 * `drm_gpuva_link()` / `drm_gpuva_unlink()` caller must take the right lock
 * itself, and the reference dance around the last put besides. Boris
 * Brezillon (seeds 000 and 004) found that this "leaks to users": some
 * paths put under the resv, others under the custom lock, and it only works
 * by luck. The review settled on internal-locking variants next to the
 * `_locked` ones. It is hard because the wrong lock is the right one in the
 * other mode: the same driver code is correct in a plain VM and broken in an
 * immediate-mode one.
 *
 * Buggy: an immediate-mode VM; the driver's bind and unbind take the GEM's
 * resv, as its code for plain VMs does, around linkLocked / unlinkLocked.
 * Every list change asserts the gpuva mutex and is reported
 * (`lock-not-held`) whatever the schedule; and since nothing serialises
 * unbind with the bind that takes the mutex correctly (inside boObtain),
 * the list races. Lines are steps in schedule order (round-robin):
 *
 *   bind/2                                    unbind/3
 *   1. boObtain(vm, bo): mutex_lock(
 *      bo->gpuva.lock), look bo's list up
 *                                             2. dma_resv_lock(bo.resv)
 *                                             3. drm_gpuva_unlink(m0): asserts
 *                                                bo->gpuva.lock => lock-not-held;
 *                                                drm_gpuvm_bo_put(vm_bo): 1 -> 0
 *   4. found vm_bo: kref_get
 *      => refcount-inc-from-zero
 *                                             5. destroy: off bo's list (asserts
 *                                                the mutex: lock-not-held),
 *                                                kfree(vm_bo)
 *   6. drm_gpuva_link(m1, vm_bo)
 *      => use-after-free
 *
 * Fixed (external locking done right): the lock gemGpuvaLock(vm, bo) names
 * (the gpuva mutex here), and the GEM reference dance around the unlink.
 * Also clean: the same operations with the internal-locking `link()` /
 * `unlink()`, and the buggy code in a plain VM, where the resv is the lock.
 */
import { GemObject, gemGpuvaLock } from "../drm/gem-object.js";
import { GpuVm } from "../drm/gpuvm.js";
import { Mapping } from "../drm/mapping.js";
import { boObtain, type VmBo } from "../drm/vm-bo.js";
import type { Effect } from "../kernel/effect.js";
import { kfree } from "../kernel/heap.js";
import type { Sim } from "../kernel/sim.js";
import type { CatalogScenario } from "./scenario.js";

/** The driver's two operations on the GEM's VmBo list: link a new mapping, unlink (and free) an old one. */
interface Driver {
  link(vmBo: VmBo, m: Mapping): Generator<Effect, void, unknown>;
  unlink(m: Mapping): Generator<Effect, void, unknown>;
}

/** The GEM object a mapping maps (every mapping here maps one). */
function gemOf(m: Mapping): GemObject {
  const obj = m.gem.obj;
  if (obj === null) throw new Error(`${m.label} maps no GEM object`);
  return obj;
}

/** External locking with the GEM's resv: right in a plain VM only. */
const resvLocking: Driver = {
  *link(vmBo, m) {
    yield* gemOf(m).resv.lock(null);
    yield* m.linkLocked(vmBo);
    yield* gemOf(m).resv.unlock();
  },
  *unlink(m) {
    const obj = gemOf(m);
    yield* obj.get("unbind");
    yield* obj.resv.lock(null);
    yield* m.unlinkLocked();
    yield* obj.resv.unlock();
    yield* obj.put("unbind");
  },
};

/** External locking with the lock the VM's mode names (drm_gem_gpuva_assert_lock_held()'s). */
const modeLocking: Driver = {
  *link(vmBo, m) {
    const lock = gemGpuvaLock(vmBo.vm, vmBo.obj);
    yield* lock.lock();
    yield* m.linkLocked(vmBo);
    yield* lock.unlock();
  },
  *unlink(m) {
    const obj = gemOf(m);
    const vm = m.vm as GpuVm;
    // ORDER: a GEM reference before the lock: the unlink may drop the GEM's last other one.
    yield* obj.get("unbind");
    const lock = gemGpuvaLock(vm, obj);
    yield* lock.lock();
    yield* m.unlinkLocked();
    yield* lock.unlock();
    yield* obj.put("unbind");
  },
};

/** Internal locking: the library takes the lock (and does the dance). */
const internalLocking: Driver = {
  *link(vmBo, m) {
    yield* m.link(vmBo);
  },
  *unlink(m) {
    yield* m.unlink();
  },
};

/**
 * Setup maps bo at m0 in the VM. Then bind/2 maps it again at m1 (obtain,
 * insert, link) while unbind/3 unmaps m0 (unlink, remove, free). The last
 * task to end unmaps m1 and tears everything down.
 */
function scenario(immediateMode: boolean, driver: Driver): (sim: Sim) => void {
  return (sim) => {
    const root = new GemObject(sim, { name: "root", size: 0x1000 });
    const vm = GpuVm.create(sim, { name: "vm", immediateMode, mmStart: 0, mmRange: 0x100000, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
    const bo = new GemObject(sim, { name: "bo", size: 0x10000 });
    const m0 = new Mapping(sim, { name: "m0", addr: 0x10000, range: 0x10000, obj: bo });
    const m1 = new Mapping(sim, { name: "m1", addr: 0x20000, range: 0x10000, obj: bo });
    function* unmap(m: Mapping): Generator<Effect, void, unknown> {
      yield* driver.unlink(m);
      yield* m.remove();
      yield* kfree(m);
    }
    sim.spawn("setup", "process", function* () {
      const vmBo = (yield* boObtain(vm, bo, "setup")) as VmBo;
      yield* m0.insert(vm);
      yield* m0.link(vmBo);
      yield* vmBo.put("setup");
      let running = 2;
      function* done(): Generator<Effect, void, unknown> {
        if (--running > 0) return;
        yield* unmap(m1);
        yield* bo.put("creator");
        yield* vm.put("creator");
        yield* root.put("creator");
      }
      sim.spawn("bind", "process", function* () {
        const b = yield* boObtain(vm, bo, "bind");
        if (b !== "nomem") {
          yield* m1.insert(vm);
          yield* driver.link(b, m1);
          yield* b.put("bind");
        }
        yield* done();
      });
      sim.spawn("unbind", "process", function* () {
        yield* unmap(m0);
        yield* done();
      });
    });
  };
}

export const gemVmboListLocking: CatalogScenario = {
  name: "gem-vmbo-list-locking",
  title: "A GEM's VmBo list changed under the wrong lock: the resv in an immediate-mode VM",
  description:
    "A driver links and unlinks mappings with external locking, taking the GEM object's reservation lock " +
    "as its code for plain VMs does. In an immediate-mode VM the GEM's VmBo list is protected by the GEM's " +
    "gpuva mutex instead, so every list change runs without its lock. Taking the lock the VM's mode names, " +
    "or letting the library lock internally, is clean.",
  expect: "lock-not-held",
  variants: { buggy: scenario(true, resvLocking), fixed: scenario(true, modeLocking) },
  more: [
    { name: "internal", title: "The same operations with internal locking: link() and unlink()", scenario: scenario(true, internalLocking), expect: null },
    { name: "plain-vm", title: "The buggy driver code in a plain VM, where the resv is the lock", scenario: scenario(false, resvLocking), expect: null },
  ],
};
