/**
 * gpuvm-list-walk: walking a VM's extobj list while other tasks add and
 * remove VmBos and drop references.
 *
 * Before a job runs, the driver locks the VM's resv and the resv of every
 * external object, which it finds on the VM's extobj list
 * (drm_gpuvm_exec_lock(), drm_gpuvm_prepare_objects()). Meanwhile other
 * ioctls bind new objects (a VmBo joins the list) and unbind others (the
 * last VmBo reference goes, and the VmBo leaves the list and is freed). The
 * founding thread (seed 000) argued over how to walk that list: the
 * kernel's snapshot iterator moves each element to a local list under the
 * list's spinlock, takes it only with kref_get_unless_zero() and splices the
 * snapshot back at the end; Thomas Hellström found it "very complex" and
 * pointed to DRM_GPUVM_RESV_PROTECTED (the VM's resv protects the list) and
 * to Xe's two lists (a spinlock-protected one spliced once into a
 * resv-protected one); Boris Brezillon agreed that "there's so many ways
 * this can go wrong if the user doesn't call it the right way, or doesn't
 * protect concurrent list iterations with a separate lock". It is hard
 * because every shortcut works in most schedules: the walk is usually
 * alone, and the element it holds is usually not the one being freed.
 *
 * Buggy: the driver copies the entries under the spinlock and uses them
 * after dropping it. Lines are steps in schedule order; the explorer finds
 * this one:
 *
 *   walker/3                                  churn/2
 *   1. spin_lock(extobj.lock)
 *      entries := [vb0]
 *      spin_unlock(extobj.lock)
 *                                             2. unbind bo0: dma_resv_lock(bo0.resv)
 *   3. drm_exec_lock_obj(vm), then
 *      drm_exec_lock_obj(bo0) ... waits
 *                                             4. drm_gpuvm_bo_put(vb0): 1 -> 0,
 *                                                off the extobj list, kfree(vb0)
 *                                             5. dma_resv_unlock(bo0.resv)
 *   6. (has bo0's resv)
 *      kref_get_unless_zero(vb0)
 *      => use-after-free: vb0 is gone
 *                                             7. bind bo1: vb1 joins the list,
 *                                                for the next walk
 *
 * Fixed: the kernel's snapshot walk (drm_gpuvm_exec_lock() in the default,
 * spinlock-protected mode): vb0 is either taken with a reference before the
 * put (and freed by the walk's own put, under vb0's GEM resv, which the walk
 * holds through drm_exec), or skipped. Also clean: the same walk in a
 * resvProtected VM (binds and unbinds take the VM's resv too) and with the
 * two-list scheme (binds add to the side list under the spinlock; the walk
 * splices it in under the VM's resv). Two snapshot walks of one list at
 * once (two tasks locking only the external objects, without the VM's resv
 * first) are reported as `vm-bo-list-concurrent-walk`.
 */
import { DrmExec } from "../drm/drm-exec.js";
import { GemObject } from "../drm/gem-object.js";
import { GpuVm, type VmBoListMode } from "../drm/gpuvm.js";
import { boObtain, boObtainLocked, type VmBo } from "../drm/vm-bo.js";
import { execLock, GpuVmExec, prepareObjects } from "../drm/vm-bo-list.js";
import type { Effect } from "../kernel/effect.js";
import { kfree } from "../kernel/heap.js";
import type { Sim } from "../kernel/sim.js";
import type { CatalogScenario } from "./scenario.js";

/** A VM, its root object, two external GEM objects; bo0's VmBo is on the extobj list from the start. */
interface World {
  readonly sim: Sim;
  readonly vm: GpuVm;
  readonly root: GemObject;
  readonly bos: readonly GemObject[];
}

function world(sim: Sim, mode: VmBoListMode): World {
  const root = new GemObject(sim, { name: "root", size: 0x1000 });
  const vm = GpuVm.create(sim, {
    name: "vm",
    mmStart: 0,
    mmRange: 0x100000,
    resvObj: root,
    listMode: mode,
    ...(mode === "resv" ? { resvProtected: true } : {}),
    ops: { vmFree: (v) => kfree(v) },
  });
  const bos = ["bo0", "bo1"].map((name) => new GemObject(sim, { name, size: 0x10000 }));
  return { sim, vm, root, bos };
}

/** Whether the VM's resv protects (part of) the lists, so binds and unbinds take it too. */
function vmResvGuardsLists(vm: GpuVm): boolean {
  return vm.listMode !== "spinlock";
}

/** Lock the VM's resv and `obj`'s in one drm_exec loop; the caller fini()s. */
function* lockVmAnd(sim: Sim, vm: GpuVm, obj: GemObject): Generator<Effect, DrmExec, unknown> {
  const exec = new DrmExec(sim);
  yield* exec.untilAllLocked(function* () {
    const r = yield* exec.lockObj(vm.resvObj);
    if (r !== "ok") return r;
    return yield* exec.lockObj(obj);
  });
  return exec;
}

/** Bind: obtain obj's VmBo and put it on the extobj list, as the VM's mode wants. */
function* bind(w: World, obj: GemObject): Generator<Effect, VmBo | null, unknown> {
  if (w.vm.listMode === "resv") {
    const exec = yield* lockVmAnd(w.sim, w.vm, obj);
    const vmBo = yield* boObtainLocked(w.vm, obj, "driver");
    if (vmBo !== "nomem") yield* vmBo.extobjAdd();
    yield* exec.fini();
    return vmBo === "nomem" ? null : vmBo;
  }
  // Spinlock and two-list modes: the list's own spinlock (the side list, in two-list mode).
  const vmBo = yield* boObtain(w.vm, obj, "driver");
  if (vmBo === "nomem") return null;
  yield* vmBo.extobjAdd();
  return vmBo;
}

/** Unbind: drop the driver's VmBo reference (maybe the last), with the locks the VM's mode wants. */
function* unbind(w: World, vmBo: VmBo): Generator<Effect, void, unknown> {
  if (!vmResvGuardsLists(w.vm)) {
    // The GEM's creator reference outlives this put: no GEM reference dance needed around the lock.
    yield* vmBo.obj.resv.lock(null);
    yield* vmBo.putLocked("driver");
    yield* vmBo.obj.resv.unlock();
    return;
  }
  const exec = yield* lockVmAnd(w.sim, w.vm, vmBo.obj);
  yield* vmBo.putLocked("driver");
  yield* exec.fini();
}

/** The kernel's walk: drm_gpuvm_exec_lock() locks the VM's resv, then every external object's. */
function* execLockWalk(w: World): Generator<Effect, void, unknown> {
  const vmExec = new GpuVmExec({ vm: w.vm });
  const r = yield* execLock(vmExec);
  if (r === "ok") yield* vmExec.exec.fini();
}

/** BUG: the entries copied under the spinlock and used after it is dropped. */
function* naiveWalk(w: World): Generator<Effect, void, unknown> {
  const list = w.vm.extobj;
  yield* list.lock.lock();
  const entries = list.entries();
  yield* list.lock.unlock();
  const exec = new DrmExec(w.sim);
  yield* exec.untilAllLocked(function* () {
    // drm_gpuvm_exec_lock()'s order: the VM's resv first, then the external objects.
    const v = yield* exec.lockObj(w.vm.resvObj);
    if (v !== "ok") return v;
    for (const vmBo of entries) {
      // Waits while an unbind holds the object's resv, and that unbind may free vmBo.
      const r = yield* exec.lockObj(vmBo.obj);
      if (r !== "ok") return r;
      // Too late for get_unless_zero: vmBo may be freed memory by now.
      if (yield* vmBo.getUnlessZero("walker")) yield* vmBo.putLocked("walker");
    }
    return "ok";
  });
  yield* exec.fini();
}

/** A walk of the external objects only, without the VM's resv first: nothing serialises two of them. */
function* objectsOnlyWalk(w: World): Generator<Effect, void, unknown> {
  const exec = new DrmExec(w.sim);
  yield* exec.untilAllLocked(function* () {
    const r = yield* prepareObjects(w.vm, exec, 0);
    return r === "busy" ? "ok" : r;
  });
  yield* exec.fini();
}

/**
 * Setup binds bo0; then `walkers` walk the extobj list while churn/2 unbinds
 * bo0 (dropping vb0's last reference) and binds bo1. The last task to end
 * unbinds bo1 and tears everything down.
 */
function scenario(mode: VmBoListMode, walkers: readonly ((w: World) => Generator<Effect, void, unknown>)[]): (sim: Sim) => void {
  return (sim) => {
    const w = world(sim, mode);
    const [bo0, bo1] = w.bos as [GemObject, GemObject];
    sim.spawn("setup", "process", function* () {
      const vb0 = yield* bind(w, bo0);
      let vb1: VmBo | null = null;
      let running = walkers.length + 1;
      function* done(): Generator<Effect, void, unknown> {
        if (--running > 0) return;
        if (vb1 !== null) yield* unbind(w, vb1);
        for (const bo of w.bos) yield* bo.put("creator");
        yield* w.vm.put("creator");
        yield* w.root.put("creator");
      }
      // The unbind/bind ioctl is already on its way when the walk starts.
      sim.spawn("churn", "process", function* () {
        if (vb0 !== null) yield* unbind(w, vb0);
        vb1 = yield* bind(w, bo1);
        yield* done();
      });
      walkers.forEach((walk, i) => {
        sim.spawn(walkers.length === 1 ? "walker" : `walker${i}`, "process", function* () {
          yield* walk(w);
          yield* done();
        });
      });
    });
  };
}

const buggy = scenario("spinlock", [naiveWalk]);
const fixed = scenario("spinlock", [execLockWalk]);

export const gpuvmListWalk: CatalogScenario = {
  name: "gpuvm-list-walk",
  title: "Walking a VM's extobj list while VmBos are bound, unbound and freed",
  description:
    "A driver locks every external object of a VM by walking the VM's extobj list while other tasks bind " +
    "and unbind objects. Copying the entries under the list's spinlock and using them after dropping it " +
    "touches a VmBo another task has freed. The kernel's snapshot walk, a resv-protected list and the " +
    "two-list scheme are clean, and two snapshot walks of one list at once are reported.",
  expect: "use-after-free",
  variants: { buggy, fixed },
  more: [
    { name: "resv-protected", title: "The walk in a resvProtected VM: binds and unbinds take the VM's resv", scenario: scenario("resv", [execLockWalk]), expect: null },
    { name: "two-list", title: "The two-list scheme: binds add to a side list the walk splices in", scenario: scenario("two-list", [execLockWalk]), expect: null },
    {
      name: "concurrent-walks",
      title: "Two snapshot walks of one list at once, without the VM's resv first",
      scenario: scenario("spinlock", [objectsOnlyWalk, objectsOnlyWalk]),
      expect: "vm-bo-list-concurrent-walk",
    },
  ],
};
