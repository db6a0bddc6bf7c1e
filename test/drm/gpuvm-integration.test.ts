/**
 * Split/merge and the extobj/evict lists over the REAL GPUVM objects
 * (GpuVm, VmBo, Mapping, GemObject), where their own tests use fakes
 * (test/support/fake-sm-vm.ts, fake-gpuvm.ts).
 *
 * - Every drawn split/merge case (test/support/sm-cases.ts), in every VM
 *   mode, over a real VM whose mappings are linked to real VmBos, with a
 *   driver's step callbacks doing what a driver does (gpuvaMap / gpuvaRemap
 *   / gpuvaUnmap, link / unlink, kfree), both through smMap and by applying
 *   smMapOpsCreate's list; invariants and refcounts after each case, no
 *   leaks at teardown.
 * - boUnmapOpsCreate over a real VmBo; smMapExecLock / smUnmapExecLock
 *   locking real GEM objects.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  boObtain,
  DmaFence,
  DrmExec,
  execLock,
  execLockArray,
  execLockRange,
  FenceContext,
  gemGpuvaLock,
  GemObject,
  GpuVm,
  GpuVmExec,
  kfree,
  Mapping,
  type Effect,
  type GpuVmOps,
  type Report,
  type Sim,
  type VmBo,
} from "../../src/index.js";
import {
  boUnmapOpsCreate,
  gpuvaMap,
  gpuvaRemap,
  gpuvaUnmap,
  type GpuVaOp,
  type GpuVaOpMap,
  type GpuVaOpMapBody,
  type GpuVaOpPrefetch,
  type GpuVaOpRemap,
  type GpuVaOpUnmap,
  type SmMapReq,
} from "../../src/drm/split-merge.js";
import "../../src/vitest.js";
import { collectingSim } from "../support/collecting-sim.js";
import { TestBo } from "../support/test-bo.js";
import { VM_MODES, world, type VmMode, type World } from "../support/gpuvm-world.js";
import { CASES, req, U, type Case } from "../support/sm-cases.js";

function only<K extends Report["kind"]>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r): r is Extract<Report, { kind: K }> => r.kind === kind);
}

/** The holder tag the driver's obtain uses around a link. */
const DRIVER = "driver";

/**
 * What a driver's sm_step callbacks do (the kernel's DOC "Examples" 2, and
 * panthor / nouveau): apply the op to the tree, link the new mappings to the
 * GEM's VmBo before unlinking the old one (so the VmBo's count never drops
 * to zero in between), free the old mapping.
 */
function driverSteps(sim: Sim, vmOf: () => GpuVm): Required<Pick<GpuVmOps, "smStepMap" | "smStepRemap" | "smStepUnmap">> {
  return {
    *smStepMap(op: GpuVaOpMap<GemObject>): Generator<Effect, string | undefined, unknown> {
      const vm = vmOf();
      const va = Mapping.fromOp(sim, op);
      yield* gpuvaMap(vm, va, op.map);
      const obj = va.gem.obj;
      if (obj === null) return undefined;
      const vmBo = yield* boObtain(vm, obj, DRIVER);
      if (vmBo === "nomem") return "nomem";
      yield* va.link(vmBo);
      yield* vmBo.put(DRIVER);
      return undefined;
    },
    *smStepRemap(op: GpuVaOpRemap<Mapping>): Generator<Effect, void, unknown> {
      const r = op.remap;
      const old = r.unmap.va;
      const vmBo = old.vmBo;
      const prev = r.prev === null ? null : Mapping.fromOp(sim, { map: r.prev });
      const next = r.next === null ? null : Mapping.fromOp(sim, { map: r.next });
      yield* gpuvaRemap(prev, next, r);
      if (vmBo !== null) {
        if (prev !== null) yield* prev.link(vmBo);
        if (next !== null) yield* next.link(vmBo);
      }
      yield* old.unlink();
      yield* kfree(old);
    },
    *smStepUnmap(op: GpuVaOpUnmap<Mapping>): Generator<Effect, void, unknown> {
      const va = op.unmap.va;
      yield* gpuvaUnmap(op.unmap);
      yield* va.unlink();
      yield* kfree(va);
    },
  };
}

/** Apply one op of an ops list with the driver's steps (the DOC's "Examples" 1). */
function* applyOp(steps: ReturnType<typeof driverSteps>, op: GpuVaOp<Mapping>): Generator<Effect, void, unknown> {
  switch (op.op) {
    case "map":
      yield* steps.smStepMap(op, null) as Generator<Effect, unknown, unknown>;
      break;
    case "remap":
      yield* steps.smStepRemap(op, null) as Generator<Effect, unknown, unknown>;
      break;
    case "unmap":
      yield* steps.smStepUnmap(op, null) as Generator<Effect, unknown, unknown>;
      break;
    default:
      break;
  }
}

/** Insert a mapping of `obj` (or none) and link it to the GEM's VmBo, as a driver's bind would. */
function* place(sim: Sim, vm: GpuVm, addr: number, range: number, obj: GemObject | null, offset: number): Generator<Effect, Mapping, unknown> {
  const va = new Mapping(sim, { addr, range, obj, offset });
  yield* va.insert(vm);
  if (obj !== null) {
    const vmBo = (yield* boObtain(vm, obj, DRIVER)) as VmBo;
    yield* va.link(vmBo);
    yield* vmBo.put(DRIVER);
  }
  return va;
}

/**
 * Unmap everything and drop every reference the test made. In
 * resvProtected mode the last put of a VmBo needs the VM's resv as well as
 * the GEM's (drm_gpuvm_bo_destroy()): both are locked in a DrmExec and the
 * mappings unlinked with unlinkLocked(), as a driver does.
 */
function* teardown(w: World, gems: readonly GemObject[]): Generator<Effect, void, unknown> {
  const vm = w.vm;
  if (vm.flags.resvProtected) {
    const exec = new DrmExec<GemObject>(vm.sim, { ignoreDuplicates: true });
    yield* exec.untilAllLocked(function* () {
      const r = yield* vm.prepareVm(exec, 0);
      if (r !== "ok") return r;
      return yield* vm.prepareRange(exec, vm.mmStart, vm.mmRange, 0);
    });
    for (const va of vm.vas()) {
      yield* va.remove();
      yield* va.unlinkLocked();
      yield* kfree(va);
    }
    yield* exec.fini();
  } else {
    for (const va of vm.vas()) {
      yield* va.remove();
      yield* va.unlink();
      yield* kfree(va);
    }
  }
  yield* w.vm.put("creator");
  yield* w.root.put("creator");
  for (const g of gems) yield* g.put("creator");
}

type Row = [number, number, string, number];

interface RealCase {
  readonly sim: Sim;
  readonly w: World;
  readonly a: GemObject;
  readonly b: GemObject;
  readonly steps: ReturnType<typeof driverSteps>;
  readonly olds: Mapping[];
}

function setupReal(c: Case, mode: VmMode): RealCase {
  const sim = collectingSim();
  let vm: GpuVm | null = null;
  const steps = driverSteps(sim, () => vm as GpuVm);
  const w = world(sim, mode, { ops: steps });
  vm = w.vm;
  const a = w.bo("a");
  const b = w.bo("b");
  const gem = (g: "a" | "b" | null): GemObject | null => (g === "a" ? a : g === "b" ? b : null);
  const olds = sim.run(function* () {
    const out: Mapping[] = [];
    for (const [addr, range, g, off] of c.old) out.push(yield* place(sim, w.vm, addr * U, range * U, gem(g), off));
    return out;
  });
  return { sim, w, a, b, steps, olds };
}

function layout(vm: GpuVm): Row[] {
  return vm.vas().map((va) => [va.addr, va.range, va.gem.obj === null ? "-" : va.gem.obj.label, va.gem.offset]);
}

function expectedRows(c: Case, a: GemObject, b: GemObject): Row[] {
  return c.result.map(([addr, range, g, off]) => [addr * U, range * U, g === "a" ? a.label : g === "b" ? b.label : "-", off]);
}

/** The invariants and every refcount the structure implies. */
function expectConsistent(w: World, gems: readonly GemObject[]): void {
  const vm = w.vm;
  expect(vm).toSatisfyInvariants();
  const vas = vm.vas();
  const vmBos = gems.flatMap((g) => g.vmBos());
  for (const vmBo of vmBos) {
    expect(vmBo.state).toBe("linked");
    const linked = vas.filter((va) => va.vmBo === vmBo);
    expect(vmBo.mappings()).toEqual(expect.arrayContaining(linked));
    expect(vmBo.mappings()).toHaveLength(linked.length);
    // Only the mappings hold it: the driver dropped its obtain reference.
    expect(vmBo).toHaveRefcount(linked.length);
  }
  for (const va of vas) {
    expect(va.state).toBe("inserted");
    if (va.gem.obj !== null) expect(va.vmBo?.obj).toBe(va.gem.obj);
  }
  expect(vm).toHaveRefcount(1 + vas.length + vmBos.length);
  for (const g of gems) expect(g).toHaveRefcount(1 + g.vmBos().length);
  // A GEM object no mapping uses any more has no VmBo left.
  for (const g of gems) expect(g.vmBos().length).toBe(vas.some((va) => va.gem.obj === g) ? 1 : 0);
}

function rqOf(c: Case, a: GemObject, b: GemObject): SmMapReq<GemObject> {
  const g = c.req[2] === "a" ? a : c.req[2] === "b" ? b : null;
  return req(c.req[0], c.req[1], g, c.req[3]);
}

describe.each(VM_MODES)("split/merge over real objects in %s mode: the kernel's drawn cases", (mode) => {
  for (const c of CASES) {
    it(`${c.title}: ${c.madvise === true ? "madviseOpsCreate" : "smMapOpsCreate"} names the real mappings; applying the ops with a driver's steps gives the drawn result`, () => {
      const { sim, w, a, b, steps, olds } = setupReal(c, mode);
      const r = rqOf(c, a, b);
      const ops = c.madvise === true ? w.vm.madviseOpsCreate(r) : w.vm.smMapOpsCreate(r);
      expect(ops).toEqual(c.ops((i) => olds[i] as Mapping, a, b));
      sim.run(function* () {
        for (const op of ops) yield* applyOp(steps, op);
      });
      expect(layout(w.vm)).toEqual(expectedRows(c, a, b));
      expectConsistent(w, [a, b]);
      sim.run(() => teardown(w, [a, b]));
      expect(sim.reports).toEqual([]);
      expect(sim).toHaveNoLeaks();
      for (const o of [w.vm, w.root, a, b, ...olds]) expect(o).toBeFreed();
    });

    if (c.madvise !== true) {
      it(`${c.title}: smMap with a driver's steps gives the drawn result, old mappings unlinked and freed`, () => {
        const { sim, w, a, b, olds } = setupReal(c, mode);
        const result = sim.run(() => w.vm.smMap(rqOf(c, a, b), "priv"));
        expect(result).toBe("ok");
        expect(layout(w.vm)).toEqual(expectedRows(c, a, b));
        for (const old of olds) {
          expect(old.state).toBe("removed");
          expect(old.vmBo).toBeNull();
          expect(old).toBeFreed();
        }
        expectConsistent(w, [a, b]);
        sim.run(() => teardown(w, [a, b]));
        expect(sim.reports).toEqual([]);
        expect(sim).toHaveNoLeaks();
      });
    }
  }
});

describe.each(VM_MODES)("split/merge over real objects in %s mode: more", (mode) => {
  it("smUnmap across three mappings of two GEMs: the VmBo of the GEM left unmapped is destroyed, the other keeps its remainder", () => {
    const sim = collectingSim();
    let vm: GpuVm | null = null;
    const w = world(sim, mode, { ops: driverSteps(sim, () => vm as GpuVm) });
    vm = w.vm;
    const a = w.bo("a");
    const b = w.bo("b");
    sim.run(function* () {
      yield* place(sim, w.vm, 0, 2 * U, a, 0);
      yield* place(sim, w.vm, 2 * U, U, b, 0);
      yield* place(sim, w.vm, 3 * U, U, null, 0);
      const vmBoB = b.vmBos()[0] as VmBo;
      expect(yield* w.vm.smUnmap(U, 3 * U)).toBe("ok");
      expect(layout(w.vm)).toEqual([[0, U, a.label, 0]]);
      expect(vmBoB.state).toBe("freed");
      expect(b.vmBos()).toEqual([]);
      expectConsistent(w, [a, b]);
      yield* teardown(w, [a, b]);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });

  it("an aborting step: the walk stops, the tree and the refcounts stay consistent", () => {
    const sim = collectingSim();
    let vm: GpuVm | null = null;
    const steps = driverSteps(sim, () => vm as GpuVm);
    const w = world(sim, mode, { ops: { ...steps, smStepMap: () => "nomem" } });
    vm = w.vm;
    const a = w.bo("a");
    sim.run(function* () {
      yield* place(sim, w.vm, 0, 2 * U, a, 0);
      expect(yield* w.vm.smMap(req(1, 2, a, 0))).toBe("nomem");
      // The remap ran (prev kept), the map did not.
      expect(layout(w.vm)).toEqual([[0, U, a.label, 0]]);
      expectConsistent(w, [a]);
      yield* teardown(w, [a]);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });

  it("boUnmapOpsCreate over a real VmBo: one unmap op per linked mapping, in link order; applying them destroys the VmBo", () => {
    const sim = collectingSim();
    let vm: GpuVm | null = null;
    const steps = driverSteps(sim, () => vm as GpuVm);
    const w = world(sim, mode, { ops: steps });
    vm = w.vm;
    const a = w.bo("a");
    sim.run(function* () {
      const v1 = yield* place(sim, w.vm, 4 * U, U, a, U);
      const v0 = yield* place(sim, w.vm, 0, U, a, 0);
      const vmBo = a.vmBos()[0] as VmBo;
      const lock = gemGpuvaLock(w.vm, a);
      yield* lock.lock();
      const ops = boUnmapOpsCreate(vmBo);
      yield* lock.unlock();
      expect(ops).toEqual([
        { op: "unmap", unmap: { va: v1, keep: false } },
        { op: "unmap", unmap: { va: v0, keep: false } },
      ]);
      expect(sim.reports).toEqual([]);
      for (const op of ops) yield* applyOp(steps, op);
      expect(vmBo.state).toBe("freed");
      expect(w.vm.vas()).toEqual([]);
      expectConsistent(w, [a]);
      yield* teardown(w, [a]);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });

  it("boUnmapOpsCreate without the GEM's gpuva lock: lock-not-held naming that lock, and the ops are still made", () => {
    const sim = collectingSim();
    const w = world(sim, mode);
    const a = w.bo("a");
    sim.run(function* () {
      const v0 = yield* place(sim, w.vm, 0, U, a, 0);
      const vmBo = a.vmBos()[0] as VmBo;
      expect(boUnmapOpsCreate(vmBo)).toEqual([{ op: "unmap", unmap: { va: v0, keep: false } }]);
      const r = only(sim, "lock-not-held");
      expect(r).toHaveLength(1);
      expect(r[0]?.lock).toBe(gemGpuvaLock(w.vm, a).label);
      expect(r[0]?.lock).toContain(mode === "immediateMode" ? "gpuva" : "resv");
      yield* teardown(w, [a]);
    });
    expect(sim).toHaveNoLeaks();
  });

  it("smMapExecLock and smUnmapExecLock lock the real GEM objects the walk would touch", () => {
    const sim = collectingSim();
    const w = world(sim, mode);
    const a = w.bo("a", true);
    const b = w.bo("b", true);
    const c = w.bo("c", true);
    sim.run(function* () {
      yield* place(sim, w.vm, 0, 2 * U, b, 0);
      yield* place(sim, w.vm, 2 * U, U, null, 0);
      yield* place(sim, w.vm, 3 * U, 2 * U, c, 0);
      yield* place(sim, w.vm, 8 * U, U, a, 0);
      const exec = new DrmExec<GemObject>(sim, { ignoreDuplicates: true });
      const r = yield* exec.untilAllLocked(function* () {
        return yield* w.vm.smMapExecLock(exec, 1, req(1, 3, a, 0));
      });
      expect(r).toBe("ok");
      expect(exec.objects()).toEqual([a, b, c]);
      for (const o of [a, b, c]) expect(o.resv.isLocked()).toBe(true);
      yield* exec.fini();
      const exec2 = new DrmExec<GemObject>(sim, { ignoreDuplicates: true });
      const r2 = yield* exec2.untilAllLocked(function* () {
        return yield* w.vm.smUnmapExecLock(exec2, U, 8 * U);
      });
      expect(r2).toBe("ok");
      expect(exec2.objects()).toEqual([b, c, a]);
      yield* exec2.fini();
      yield* teardown(w, [a, b, c]);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });
});

describe("the step callbacks' types with a real GpuVm", () => {
  it("GpuVm.create's ops get ops naming real Mappings and GemObjects, without casts", () => {
    const sim = collectingSim();
    const root = new GemObject(sim, { name: "root", size: 4096 });
    const vm = GpuVm.create(sim, {
      name: "vm",
      mmStart: 0,
      mmRange: 0x10000,
      resvObj: root,
      ops: {
        vmFree: (v) => kfree(v),
        smStepMap(op) {
          expectTypeOf(op.map.gem.obj).toEqualTypeOf<GemObject | null>();
          // drm_gpuva_init_from_op() takes the op as it comes.
          expectTypeOf<typeof Mapping.fromOp>().toBeCallableWith(sim, op);
        },
        smStepRemap(op) {
          expectTypeOf(op.remap.unmap.va).toEqualTypeOf<Mapping>();
          expectTypeOf(op.remap.unmap.va.vmBo).toEqualTypeOf<VmBo | null>();
          expectTypeOf(op.remap.prev).toEqualTypeOf<GpuVaOpMapBody<GemObject> | null>();
          expectTypeOf(gpuvaRemap<Mapping>).toBeCallableWith(null, null, op.remap);
        },
        smStepUnmap(op) {
          expectTypeOf(op.unmap.va).toEqualTypeOf<Mapping>();
          expectTypeOf(gpuvaUnmap<Mapping>).toBeCallableWith(op.unmap);
        },
        vmBoValidate(vmBo) {
          expectTypeOf(vmBo).toEqualTypeOf<VmBo>();
        },
      },
    });
    expectTypeOf<ReturnType<typeof vm.smMapOpsCreate>>().toEqualTypeOf<GpuVaOp<Mapping>[]>();
    expectTypeOf<GpuVaOp<Mapping>>().toEqualTypeOf<GpuVaOpMap<GemObject> | GpuVaOpRemap<Mapping> | GpuVaOpUnmap<Mapping> | GpuVaOpPrefetch<Mapping>>();
    expectTypeOf<Parameters<typeof vm.smMap>[0]>().toEqualTypeOf<SmMapReq<GemObject>>();
    expect(typeof vm.ops.smStepMap).toBe("function");
  });
});

// --- the extobj / evict lists over real objects ------------------------------

/** The VM modes of the lists: the three GpuVm modes, and the two-list design. */
type ListMode = "plain" | "resvProtected" | "twoList" | "immediateMode";
const LIST_MODES: readonly ListMode[] = ["plain", "resvProtected", "twoList", "immediateMode"];

interface ListWorld {
  readonly sim: Sim;
  readonly w: World;
  /** A VM-private object (shares the VM's resv) and two external ones. */
  readonly priv: GemObject;
  readonly ext0: GemObject;
  readonly ext1: GemObject;
  readonly gems: readonly GemObject[];
}

function listWorld(mode: ListMode, ops: Partial<GpuVmOps> = {}, options: { resvProtected?: boolean } = {}): ListWorld {
  const sim = collectingSim();
  const root = new GemObject(sim, { name: "root", size: 4096 });
  const resvProtected = mode === "resvProtected" || options.resvProtected === true;
  const vm = GpuVm.create(sim, {
    name: "vm",
    mmStart: 0,
    mmRange: 0x100000,
    resvObj: root,
    resvProtected,
    immediateMode: mode === "immediateMode",
    ...(mode === "twoList" ? { listMode: "two-list" as const } : {}),
    ops: { vmFree: (v) => kfree(v), ...ops },
  });
  const w: World = {
    root,
    vm,
    bo: (name, external = false) => new GemObject(sim, external ? { name, size: 0x10000 } : { name, size: 0x10000, resv: root.resv }),
    privateBo: (name) => new GemObject(sim, { name, size: 0x10000, resv: root.resv }),
  };
  const priv = w.bo("priv");
  const ext0 = w.bo("ext0", true);
  const ext1 = w.bo("ext1", true);
  return { sim, w, priv, ext0, ext1, gems: [priv, ext0, ext1] };
}

/** Lock the VM's resv and `objs` in a DrmExec (the driver's locked section); the caller fini()s it. */
function* lockAll(vm: GpuVm, objs: readonly GemObject[]): Generator<Effect, DrmExec<GemObject>, unknown> {
  const exec = new DrmExec<GemObject>(vm.sim, { ignoreDuplicates: true });
  const r = yield* exec.untilAllLocked(function* () {
    const a = yield* vm.prepareVm(exec, 1);
    if (a !== "ok") return a;
    return yield* exec.prepareArray(objs, 1);
  });
  expect(r).toBe("ok");
  return exec;
}

/** Map each object once (one page each, in order) and put its VmBo on the extobj list, under the locks a driver's bind holds. */
function* bindAll(lw: ListWorld): Generator<Effect, VmBo[], unknown> {
  const vm = lw.w.vm;
  const out: VmBo[] = [];
  for (const [i, g] of lw.gems.entries()) {
    yield* place(lw.sim, vm, i * U, U, g, 0);
    out.push(g.vmBos()[0] as VmBo);
  }
  const exec = yield* lockAll(vm, lw.gems);
  for (const b of out) yield* b.extobjAdd();
  yield* exec.fini();
  return out;
}

/** Unmap everything, with the VM resv held where a VmBo's destroy needs it (resvProtected, and the two-list main list). */
function* listTeardown(lw: ListWorld): Generator<Effect, void, unknown> {
  const vm = lw.w.vm;
  if (vm.listMode !== "spinlock") {
    const exec = yield* lockAll(vm, lw.gems);
    for (const va of vm.vas()) {
      yield* va.remove();
      // Immediate mode: the GEM's gpuva mutex protects its VmBo list; unlink() takes it.
      yield* (vm.flags.immediateMode ? va.unlink() : va.unlinkLocked());
      yield* kfree(va);
    }
    yield* exec.fini();
  } else {
    for (const va of vm.vas()) {
      yield* va.remove();
      yield* va.unlink();
      yield* kfree(va);
    }
  }
  yield* vm.put("creator");
  yield* lw.w.root.put("creator");
  for (const g of lw.gems) yield* g.put("creator");
}

/** The lock-not-held reports' lock names. */
function notHeld(sim: Sim): string[] {
  return only(sim, "lock-not-held").map((r) => r.lock);
}

describe.each(LIST_MODES)("the extobj and evict lists over real objects in %s mode", (mode) => {
  it("bind, extobjAdd, gemEvict, execLock (prepareVm + prepareObjects), validate, resvAddFence, execLockArray, execLockRange, unbind: clean, no leaks", () => {
    const validated: string[] = [];
    const lw = listWorld(mode, {
      *vmBoValidate(vmBo) {
        validated.push(vmBo.obj.name);
        yield* vmBo.evict(false);
      },
    });
    const { sim, w, priv, ext0, ext1 } = lw;
    const vm = w.vm;
    sim.run(function* () {
      const [bPriv, b0, b1] = (yield* bindAll(lw)) as [VmBo, VmBo, VmBo];
      expect(vm.extobj.entries()).toEqual([b0, b1]);
      expect(vm).toSatisfyInvariants();
      // The memory manager evicts every object (its resv held, and the GEM's gpuva lock in immediate mode).
      for (const g of lw.gems) {
        yield* g.resv.lock(null);
        if (vm.flags.immediateMode) yield* g.gpuvaLock.lock();
        yield* vm.gemEvict(g, true);
        if (vm.flags.immediateMode) yield* g.gpuvaLock.unlock();
        yield* g.resv.unlock();
      }
      for (const b of [bPriv, b0, b1]) expect(b.evicted).toBe(true);
      // resvProtected: external objects only got the flag; prepareObjects moves them.
      expect(vm.evict.entries()).toEqual(vm.flags.resvProtected ? [bPriv] : [bPriv, b0, b1]);
      expect(vm).toSatisfyInvariants();

      const ve = new GpuVmExec({ vm, numFences: 1 });
      expect(yield* execLock(ve)).toBe("ok");
      expect(ve.exec.objects()).toEqual([w.root, ext0, ext1]);
      expect(vm.evict.size).toBe(3);
      expect(yield* vm.validate(ve.exec)).toBe("ok");
      expect(validated.sort()).toEqual(["ext0", "ext1", "priv"]);
      expect(vm.evict.size).toBe(0);
      for (const b of [bPriv, b0, b1]) expect(b.evicted).toBe(false);
      const fence = new DmaFence(new FenceContext(sim, "ring"), { name: "job" });
      yield* vm.resvAddFence(ve.exec, fence, "bookkeep", "write");
      expect(vm.resv.fenceList.map((e) => e.usage)).toEqual(["bookkeep"]);
      expect(ext0.resv.fenceList.map((e) => e.usage)).toEqual(["write"]);
      expect(ext1.resv.fenceList.map((e) => e.usage)).toEqual(["write"]);
      yield* ve.exec.fini();
      yield* fence.signal();
      yield* fence.put();

      const extra = w.bo("extra", true);
      const va = new GpuVmExec({ vm });
      expect(yield* execLockArray(va, [extra])).toBe("ok");
      expect(va.exec.objects()).toEqual([w.root, ext0, ext1, extra]);
      yield* va.exec.fini();
      yield* extra.put("creator");
      const vr = new GpuVmExec({ vm });
      expect(yield* execLockRange(vr, U, 2 * U)).toBe("ok");
      expect(vr.exec.objects()).toEqual([ext0, ext1]);
      yield* vr.exec.fini();
      expect(priv.isFreed).toBe(false);
      yield* listTeardown(lw);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });

  it("a VmBo's last put takes it off the extobj and evict lists", () => {
    const lw = listWorld(mode);
    const { sim, w, ext0 } = lw;
    const vm = w.vm;
    sim.run(function* () {
      const [, b0] = (yield* bindAll(lw)) as [VmBo, VmBo, VmBo];
      // An extra reference so the unmap does not destroy it: the put below does.
      yield* b0.get("extra");
      const exec = yield* lockAll(vm, [ext0]);
      yield* b0.evict(true);
      yield* exec.fini();
      if (!vm.flags.resvProtected) expect(vm.evict.contains(b0)).toBe(true);
      const mapping = vm.vas()[1] as Mapping;
      yield* mapping.unlink();
      yield* mapping.remove();
      yield* kfree(mapping);
      expect(vm.extobj.contains(b0)).toBe(true);
      expect(b0).toHaveRefcount(1);
      // The last put: with the GEM's lock (and the VM resv where the lists need it).
      if (vm.listMode === "spinlock") {
        yield* b0.put("extra");
      } else {
        const e = yield* lockAll(vm, [ext0]);
        yield* (vm.flags.immediateMode ? b0.put("extra") : b0.putLocked("extra"));
        yield* e.fini();
      }
      expect(b0.state).toBe("freed");
      expect(vm.extobj.entries()).not.toContain(b0);
      expect(vm.evict.entries()).not.toContain(b0);
      expect(vm).toSatisfyInvariants();
      yield* listTeardown(lw);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });

  it("each lock assertion fires when its lock is not held: lock-not-held naming the lock", () => {
    const lw = listWorld(mode, { vmBoValidate: () => undefined });
    const { sim, w, priv, ext0 } = lw;
    const vm = w.vm;
    const vmResv = vm.resv.wwMutex.label;
    sim.run(function* () {
      const [bPriv, b0] = (yield* bindAll(lw)) as [VmBo, VmBo, VmBo];
      expect(notHeld(sim)).toEqual([]);

      // extobjAdd: the VM resv in resvProtected mode (one report, for an external or a private object); the list's spinlock (taken inside) otherwise.
      for (const b of [b0, bPriv]) {
        yield* b.extobjAdd();
        expect(notHeld(sim)).toEqual(vm.flags.resvProtected ? [vmResv] : []);
        sim.reports.length = 0;
      }

      // evict: the GEM's resv.
      yield* b0.evict(true);
      expect(notHeld(sim)[0]).toBe(ext0.resv.wwMutex.label);
      sim.reports.length = 0;

      // gemEvict: the GEM's gpuva lock (the gpuvaLock mutex in immediate mode, else its resv), then its resv.
      yield* vm.gemEvict(priv, false);
      expect(notHeld(sim)[0]).toBe(gemGpuvaLock(vm, priv).label);
      expect(notHeld(sim)[0]).toBe(vm.flags.immediateMode ? priv.gpuvaLock.label : priv.resv.wwMutex.label);
      sim.reports.length = 0;

      // prepareObjects and validate: the VM resv where it protects the lists.
      const exec = new DrmExec<GemObject>(sim, { ignoreDuplicates: true });
      yield* exec.untilAllLocked(function* () {
        const r = yield* vm.prepareObjects(exec, 0);
        return r === "busy" ? "interrupted" : r;
      });
      // (two-list: the walk's splice, and the move of the evicted b0 to the evict list's main side)
      expect(new Set(notHeld(sim))).toEqual(new Set(vm.listMode === "spinlock" ? [] : [vmResv]));
      sim.reports.length = 0;
      expect(yield* vm.validate(exec)).toBe("ok");
      expect(notHeld(sim)).toEqual(vm.listMode === "spinlock" ? [] : [vmResv]);
      sim.reports.length = 0;
      yield* exec.fini();

      // A list change without the list's lock (lock = false: "the caller holds it").
      yield* vm.extobj.del(b0, false);
      expect(notHeld(sim)).toEqual([vm.listMode === "spinlock" ? vm.extobj.lock.label : vmResv]);
      sim.reports.length = 0;

      // The last put of a VmBo without the GEM's gpuva lock.
      yield* b0.get("extra");
      const mapping = vm.vas()[1] as Mapping;
      const e = yield* lockAll(vm, [ext0]);
      yield* (vm.flags.immediateMode ? mapping.unlink() : mapping.unlinkLocked());
      yield* e.fini();
      yield* mapping.remove();
      yield* kfree(mapping);
      sim.reports.length = 0;
      yield* b0.putLocked("extra");
      expect(notHeld(sim)).toContain(gemGpuvaLock(vm, ext0).label);
      expect(b0.state).toBe("freed");
      sim.reports.length = 0;
      yield* listTeardown(lw);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });

  it("the VM's last put with a VmBo left on extobj and evict: a gpuvm-teardown report for each list, naming it", () => {
    const lw = listWorld(mode);
    const { sim, w, ext0 } = lw;
    const vm = w.vm;
    sim.run(function* () {
      const b0 = (yield* boObtain(vm, ext0, "leaked")) as VmBo;
      const exec = yield* lockAll(vm, [ext0]);
      yield* b0.extobjAdd();
      yield* b0.evict(true);
      if (vm.flags.resvProtected) yield* vm.evict.add(b0, false);
      yield* exec.fini();
      // A put too many: the VM goes while b0 still holds it.
      yield* vm.put("vm_bo");
      yield* vm.put("creator");
    });
    const r = only(sim, "gpuvm-teardown");
    expect(r.map((x) => x.structure)).toEqual(["extobj", "evict"]);
    for (const x of r) expect(x.left.map((l) => l.object)).toEqual([expect.stringContaining("VmBo")]);
  });
});

describe("zombies and the lists (immediate mode)", () => {
  it.each([false, true])("resvProtected %s: putDeferred's zombie is skipped by prepareObjects, and is off both lists after boDeferredCleanup", (resvProtected) => {
    const lw = listWorld("immediateMode", {}, { resvProtected });
    const { sim, w, ext0, ext1 } = lw;
    const vm = w.vm;
    sim.run(function* () {
      const [, b0] = (yield* bindAll(lw)) as [VmBo, VmBo, VmBo];
      const mapping = vm.vas()[1] as Mapping;
      yield* mapping.remove();
      yield* mapping.unlinkDeferred();
      yield* kfree(mapping);
      expect(b0.state).toBe("zombie");
      expect(vm.deferredVmBos()).toEqual([b0]);
      // Without resvProtected the zombie left the lists at once; with it, it waits for the cleanup (under the VM resv).
      expect(vm.extobj.entries().includes(b0)).toBe(resvProtected);
      const ve = new GpuVmExec({ vm });
      expect(yield* execLock(ve)).toBe("ok");
      expect(ve.exec.objects()).toEqual([w.root, ext1]);
      yield* ve.exec.fini();
      expect(ext0.isFreed).toBe(false);
      yield* vm.boDeferredCleanup();
      expect(b0.state).toBe("freed");
      expect(vm.extobj.entries()).not.toContain(b0);
      expect(vm).toSatisfyInvariants();
      yield* listTeardown(lw);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });
});

describe("the structural fit of GpuVm to the lists' VmBoListOwner", () => {
  it("resvAddFence over a DrmExec that also locked an object that is no GemObject: it gets the extobj usage (its resv is not the VM's)", () => {
    const lw = listWorld("plain");
    const { sim, w } = lw;
    const vm = w.vm;
    sim.run(function* () {
      const other = new TestBo(sim, "other");
      const exec = new DrmExec(sim);
      expect(
        yield* exec.untilAllLocked(function* () {
          const r = yield* vm.prepareVm(exec, 1);
          if (r !== "ok") return r;
          return yield* exec.prepareObj(other, 1);
        }),
      ).toBe("ok");
      const fence = new DmaFence(new FenceContext(sim, "ring"), { name: "job" });
      yield* vm.resvAddFence(exec, fence, "bookkeep", "write");
      expect(vm.resv.fenceList.map((e) => e.usage)).toEqual(["bookkeep"]);
      expect(other.resv.fenceList.map((e) => e.usage)).toEqual(["write"]);
      yield* exec.fini();
      yield* fence.signal();
      yield* fence.put();
      yield* other.put("creator");
      yield* listTeardown(lw);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });

  it("prepareRange / execLockRange of an empty range lock nothing and return ok (the kernel walks no mapping)", () => {
    const lw = listWorld("plain");
    const { sim, w } = lw;
    const vm = w.vm;
    sim.run(function* () {
      yield* bindAll(lw);
      const exec = new DrmExec<GemObject>(sim);
      const r = yield* exec.untilAllLocked(function* () {
        return yield* vm.prepareRange(exec, U, 0, 1);
      });
      expect(r).toBe("ok");
      expect(exec.objects()).toEqual([]);
      yield* exec.fini();
      const vr = new GpuVmExec({ vm });
      expect(yield* execLockRange(vr, U, 0)).toBe("ok");
      expect(vr.exec.objects()).toEqual([]);
      yield* vr.exec.fini();
      yield* listTeardown(lw);
    });
    expect(sim.reports).toEqual([]);
    expect(sim).toHaveNoLeaks();
  });
});

describe("the snapshot walk's own put over real objects", () => {
  it("the walk holding the last reference destroys the VmBo: without the GEM's lock that is lock-not-held; inside a DrmExec locking it, clean", () => {
    for (const locked of [false, true]) {
      const lw = listWorld("plain");
      const { sim, w, ext0 } = lw;
      const vm = w.vm;
      sim.run(function* () {
        const b0 = (yield* boObtain(vm, ext0, "creator")) as VmBo;
        yield* b0.extobjAdd();
        const exec = new DrmExec<GemObject>(sim);
        yield* exec.untilAllLocked(function* () {
          yield* vm.extobj.walk(function* (vmBo) {
            if (locked) yield* exec.lockObj(vmBo.obj);
            // The owner lets go while the walk holds its reference: the walk's put is the last.
            yield* (locked ? vmBo.putLocked("creator") : vmBo.put("creator"));
          });
        });
        yield* exec.fini();
        expect(b0.state).toBe("freed");
        expect(vm.extobj.size).toBe(0);
        yield* listTeardown(lw);
      });
      expect(notHeld(sim)).toEqual(locked ? [] : [ext0.resv.wwMutex.label]);
    }
  });
});
