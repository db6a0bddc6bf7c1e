/**
 * vm-bo-last-gem-ref: dropping a VmBo that holds the last reference to its
 * GEM object while holding that GEM's reservation lock.
 *
 * A VmBo holds a reference of its GEM object, and the GEM's VmBo list is
 * protected by the GEM's own resv (outside immediate mode), so the last
 * drm_gpuvm_bo_put() must run under that resv. When userspace has closed
 * its handle meanwhile, the VmBo's reference is the GEM's last one: the put
 * frees the GEM, and with it the resv the caller still holds, and the
 * caller's unlock touches freed memory. Boris Brezillon called the cure a
 * "dance" that users must learn (seed 000: take a GEM reference, lock, put
 * the VmBo, unlock, drop the GEM reference), and came back to it in the
 * Rust GPUVM review (seed 004), where Danilo Krummrich traced it to the
 * choice of external locking and proposed internal-locking variants. It is
 * hard because the bug needs a race: while the handle is open, the same
 * code is correct.
 *
 * Buggy. Lines are steps in schedule order; the explorer finds this one
 * (and the other order, where close/3 goes first and the put in unbind/2
 * frees the object itself):
 *
 *   unbind/2                                 close/3
 *   1. dma_resv_lock(bo.resv)
 *   2. drm_gpuvm_bo_put(vm_bo): 1 -> 0,
 *      destroy: off bo's VmBo list, kfree,
 *      drm_gem_object_put(bo): 2 -> 1
 *                                            3. drm_gem_handle_delete(bo):
 *                                               drm_gem_object_put(bo): 1 -> 0
 *                                               dma_resv_fini(bo.resv), locked
 *                                               => resv-misuse
 *                                               kfree(bo), its resv with it
 *                                               => lock-held-at-free
 *   4. dma_resv_unlock(bo.resv)
 *      => use-after-free of the lock
 *
 * Fixed (the dance): 0. drm_gem_object_get(bo) before the lock; the last
 * GEM put happens after the unlock, whichever task makes it. The other
 * variants use the library's internal-locking `VmBo.put()` and
 * `Mapping.unlink()`, which do the dance themselves.
 */
import { GemObject } from "../drm/gem-object.js";
import { GpuVm } from "../drm/gpuvm.js";
import { Mapping } from "../drm/mapping.js";
import { boObtain, VmBo } from "../drm/vm-bo.js";
import type { Effect } from "../kernel/effect.js";
import { kfree } from "../kernel/heap.js";
import type { Sim } from "../kernel/sim.js";
import type { CatalogScenario } from "./scenario.js";

/** The VM, its root object, and an external GEM object userspace holds open by one handle. */
interface World {
  readonly vm: GpuVm;
  readonly root: GemObject;
  readonly bo: GemObject;
}

function world(sim: Sim): World {
  const root = new GemObject(sim, { name: "root", size: 0x1000 });
  const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 0x100000, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
  const bo = new GemObject(sim, { name: "bo", size: 0x10000 });
  return { vm, root, bo };
}

/** The driver's unbind path, given the VmBo (and its mapping, if any) to let go of. */
type Unbind = (w: World, vmBo: VmBo, mapping: Mapping | null) => Generator<Effect, void, unknown>;

/**
 * Setup: bo gets a handle (its creator's reference goes, so the handle's is
 * the only one userspace has), and a VmBo in the VM (with one mapping when
 * `withMapping`). Then two tasks race: `unbind` lets go of the VmBo, `close`
 * closes the handle. The last of them tears the VM down.
 */
function scenario(unbind: Unbind, withMapping: boolean): (sim: Sim) => void {
  return (sim) => {
    const w = world(sim);
    sim.spawn("setup", "process", function* () {
      yield* w.bo.open();
      yield* w.bo.put("creator");
      const vmBo = (yield* boObtain(w.vm, w.bo, "driver")) as VmBo;
      let mapping: Mapping | null = null;
      if (withMapping) {
        mapping = new Mapping(sim, { addr: 0x10000, range: 0x10000, obj: w.bo });
        yield* mapping.insert(w.vm);
        yield* mapping.link(vmBo);
        // The mapping's reference keeps the VmBo; the driver's goes.
        yield* vmBo.put("driver");
      }
      let running = 2;
      function* done(): Generator<Effect, void, unknown> {
        if (--running > 0) return;
        yield* w.vm.put("creator");
        yield* w.root.put("creator");
      }
      sim.spawn("unbind", "process", function* () {
        yield* unbind(w, vmBo, mapping);
        yield* done();
      });
      sim.spawn("close", "process", function* () {
        yield* w.bo.close();
        yield* done();
      });
    });
  };
}

/** BUG: the VmBo's put may drop the GEM's last reference, and free the resv held around it. */
function* unbindBuggy(w: World, vmBo: VmBo): Generator<Effect, void, unknown> {
  yield* w.bo.resv.lock(null);
  yield* vmBo.putLocked("driver");
  yield* w.bo.resv.unlock();
}

/** The dance: a GEM reference of our own keeps the object, and its resv, until after the unlock. */
function* unbindDance(w: World, vmBo: VmBo): Generator<Effect, void, unknown> {
  const obj = vmBo.obj;
  // ORDER: the reference before the lock, dropped after the unlock.
  yield* obj.get("unbind");
  yield* obj.resv.lock(null);
  yield* vmBo.putLocked("driver");
  yield* obj.resv.unlock();
  yield* obj.put("unbind");
}

/** Internal locking: VmBo.put() takes the GEM reference and the lock itself. */
function* unbindInternalPut(_w: World, vmBo: VmBo): Generator<Effect, void, unknown> {
  yield* vmBo.put("driver");
}

/** Internal locking on the mapping path: Mapping.unlink() drops the VmBo's last reference, the dance inside. */
function* unbindInternalUnlink(_w: World, _vmBo: VmBo, mapping: Mapping | null): Generator<Effect, void, unknown> {
  if (mapping === null) return;
  yield* mapping.unlink();
  yield* mapping.remove();
  yield* kfree(mapping);
}

const buggy = scenario(unbindBuggy, false);
const fixed = scenario(unbindDance, false);
const internalPut = scenario(unbindInternalPut, false);
const internalUnlink = scenario(unbindInternalUnlink, true);

export const vmBoLastGemRef: CatalogScenario = {
  name: "vm-bo-last-gem-ref",
  title: "A VmBo's put frees its GEM object, and the resv held around the put",
  description:
    "A driver drops a VmBo under its GEM object's reservation lock while userspace closes the object's " +
    "handle, so the VmBo's reference can be the GEM's last one. The object is then finalised and freed with its " +
    "resv still locked, and the unlock is a use-after-free. The fix takes a GEM reference before the lock and " +
    "drops it after the unlock, as the internal-locking put and unlink do.",
  // The first sign: dma_resv_fini() of the locked resv; the held lock freed and the unlock's use-after-free follow.
  expect: "resv-misuse",
  variants: { buggy, fixed },
  more: [
    { name: "internal-put", title: "VmBo.put(): internal locking, the dance inside", scenario: internalPut, expect: null },
    { name: "internal-unlink", title: "Mapping.unlink() drops the VmBo's last reference, the dance inside", scenario: internalUnlink, expect: null },
  ],
};
