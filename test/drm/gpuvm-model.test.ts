/**
 * Model-based test of the GPUVM core (fast-check's commands API) in every
 * VM mode (plain spinlock lists, resvProtected, immediateMode, two-list).
 *
 * How it runs: each command is one task run to completion with `sim.run()`
 * (deterministic, one task at a time: the VA space needs no lock of its
 * own), then the test compares the real structures with a small reference
 * model: the mappings (address, length, GEM, offset), and per GEM whether
 * its handle is open, the driver's own VmBo references, whether its VmBo is
 * evicted, on the extobj list, on the evict list, and how many zombies of it
 * wait for cleanup. After every command: `vm.checkInvariants()` is empty, the
 * tree equals the model's mappings, and every refcount (VM, each GEM, each
 * VmBo) equals what the model implies. At the end everything is torn down
 * and the Sim must hold no report and no leak.
 *
 * Commands: obtain (internal locking, or under a DrmExec), put / putDeferred,
 * map and unmap THROUGH `vm.smMap` / `vm.smUnmap` with step callbacks that
 * apply the ops as a driver does (gpuvaMap / gpuvaRemap / gpuvaUnmap plus
 * link / unlink, or unlinkDeferred in immediate mode; the VM's and the
 * touched GEMs' resvs held by a DrmExec locked with prepareVm +
 * smMapExecLock), extobjAdd, evict (vmBo.evict or vm.gemEvict), validate
 * (execLockArray + vm.validate with a vmBoValidate that clears the flag),
 * boDeferredCleanup, find, and GEM handle close.
 *
 * The driver: in the non-immediate modes every command that needs locks runs
 * under a DrmExec (VM resv + the GEMs' resvs) and uses the `Locked` variants;
 * in immediate mode the GEM's VmBo list is its gpuvaLock mutex, which the
 * unsuffixed variants take themselves (under the DrmExec's resvs).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  boFind,
  boObtain,
  boObtainLocked,
  DrmExec,
  execLock,
  execLockArray,
  gemGpuvaLock,
  GpuVmExec,
  gpuvaMap,
  gpuvaRemap,
  gpuvaUnmap,
  kfree,
  Mapping,
  type Effect,
  type GemObject,
  type GpuVaOpMap,
  type GpuVaOpRemap,
  type GpuVaOpUnmap,
  type GpuVmOps,
  type Sim,
  type VmBo,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { ALL_VM_MODES, world, type VmMode, type World } from "../support/gpuvm-world.js";

const PAGE = 0x1000;
const PAGES = 12;
/** g0 shares the VM's resv (private); g1 and g2 are external. */
const GEMS = 3;
const EXTERNAL = [false, true, true];
/** Runs per mode (the file stays under 10 s); MODEL_SEED=n picks another seed for a longer hunt. */
const RUNS = 50;

interface ModelVa {
  addr: number;
  pages: number;
  /** GEM index, or -1: sparse. */
  g: number;
  /** Offset in pages. */
  off: number;
}

interface GemModel {
  handle: boolean;
  freed: boolean;
  drvRefs: number;
  evicted: boolean;
  onExtobj: boolean;
  onEvict: boolean;
  zombies: number;
}

interface Model {
  mode: VmMode;
  vas: ModelVa[];
  gems: GemModel[];
}

interface Real {
  sim: Sim;
  mode: VmMode;
  w: World;
  gems: GemObject[];
  /** The current command's step-callback settings. */
  step: { deferredUnlink: boolean };
}

const immediate = (r: { mode: VmMode }): boolean => r.mode === "immediateMode";
const resvProtected = (m: { mode: VmMode }): boolean => m.mode === "resvProtected";

function gem(r: Real, g: number): GemObject {
  const o = r.gems[g];
  if (o === undefined) throw new Error(`no gem ${g}`);
  return o;
}

function gm(m: Model | Readonly<Model>, g: number): GemModel {
  const x = m.gems[g];
  if (x === undefined) throw new Error(`no gem ${g}`);
  return x;
}

/** The live (non-zombie) VmBo of gem g in the VM, or null; a plain read between commands. */
function vmBoOf(r: Real, g: number): VmBo | null {
  const o = gem(r, g);
  if (o.isFreed) return null;
  return o.vmBos().find((b) => b.vm === r.w.vm) ?? null;
}

function mappedCount(m: Readonly<Model>, g: number): number {
  return m.vas.filter((v) => v.g === g).length;
}

function vmBoRefs(m: Readonly<Model>, g: number): number {
  return gm(m, g).drvRefs + mappedCount(m, g);
}

// --- the driver's locking -------------------------------------------------

/** Lock the VM's resv and `objs`' resvs in a DrmExec (duplicates ignored: a private GEM shares the VM's resv), run `body`, unlock. */
function* underExec(r: Real, objs: readonly GemObject[], body: (exec: DrmExec) => Generator<Effect, void, unknown>): Generator<Effect, void, unknown> {
  const exec = new DrmExec(r.sim, { ignoreDuplicates: true });
  const got = yield* exec.untilAllLocked(function* () {
    const a = yield* r.w.vm.prepareVm(exec, 1);
    if (a !== "ok") return a;
    for (const o of objs) {
      const b = yield* exec.prepareObj(o, 1);
      if (b !== "ok") return b;
    }
    return "ok";
  });
  expect(got).toBe("ok");
  yield* body(exec);
  yield* exec.fini();
}

/** Obtain under the GEM's list lock: the Locked variant (resv held by the exec), or in immediate mode boObtain (prealloc + gpuvaLock). */
function* obtainHeld(r: Real, obj: GemObject, holder: string): Generator<Effect, VmBo, unknown> {
  const b = immediate(r) ? yield* boObtain(r.w.vm, obj, holder) : yield* boObtainLocked(r.w.vm, obj, holder);
  if (b === "nomem") throw new Error("nomem");
  return b;
}

function* putHeld(r: Real, b: VmBo, holder: string, deferred = false): Generator<Effect, void, unknown> {
  if (immediate(r)) {
    if (deferred) yield* b.putDeferred(holder);
    else yield* b.put(holder);
  } else yield* b.putLocked(holder);
}

function* linkHeld(r: Real, va: Mapping, b: VmBo): Generator<Effect, void, unknown> {
  if (immediate(r)) yield* va.link(b);
  else yield* va.linkLocked(b);
}

function* unlinkHeld(r: Real, va: Mapping): Generator<Effect, void, unknown> {
  if (va.gem.obj === null) return;
  if (immediate(r)) {
    if (r.step.deferredUnlink) yield* va.unlinkDeferred();
    else yield* va.unlink();
  } else yield* va.unlinkLocked();
}

/** The VM's step callbacks and vmBoValidate: what a driver's do. */
function driverOps(real: { r: Real | null }): Partial<GpuVmOps> {
  const R = (): Real => {
    if (real.r === null) throw new Error("no world yet");
    return real.r;
  };
  return {
    *smStepMap(op: GpuVaOpMap) {
      const r = R();
      const va = Mapping.fromOp(r.sim, op);
      const obj = va.gem.obj;
      const b = obj === null ? null : yield* obtainHeld(r, obj, "sm_map");
      yield* gpuvaMap(r.w.vm, va, op.map);
      if (b !== null) {
        yield* linkHeld(r, va, b);
        yield* putHeld(r, b, "sm_map");
      }
      return "ok";
    },
    *smStepRemap(op: GpuVaOpRemap<Mapping>) {
      const r = R();
      const old = op.remap.unmap.va;
      const b = old.vmBo;
      const prev = op.remap.prev === null ? null : Mapping.fromOp(r.sim, { map: op.remap.prev });
      const next = op.remap.next === null ? null : Mapping.fromOp(r.sim, { map: op.remap.next });
      yield* gpuvaRemap(prev, next, op.remap);
      // ORDER: link the remainders before unlinking the old mapping, so the VmBo never drops to zero here.
      if (b !== null) {
        if (prev !== null) yield* linkHeld(r, prev, b);
        if (next !== null) yield* linkHeld(r, next, b);
      }
      yield* unlinkHeld(r, old);
      yield* kfree(old);
      return "ok";
    },
    *smStepUnmap(op: GpuVaOpUnmap<Mapping>) {
      const r = R();
      const old = op.unmap.va;
      yield* gpuvaUnmap(op.unmap);
      yield* unlinkHeld(r, old);
      yield* kfree(old);
      return "ok";
    },
    *vmBoValidate(vmBo: VmBo) {
      // "Make it resident": clear the flag (its GEM's resv is held by the exec).
      yield* vmBo.evict(false);
      return "ok";
    },
  };
}

// --- the reference model's transitions -------------------------------------

/** Cut [a, a + n) out of the model's mappings (what smUnmap, and smMap before its map step, do). */
function cut(m: Model, a: number, n: number): void {
  const out: ModelVa[] = [];
  for (const v of m.vas) {
    const end = v.addr + v.pages;
    if (end <= a || v.addr >= a + n) {
      out.push(v);
      continue;
    }
    if (v.addr < a) out.push({ ...v, pages: a - v.addr });
    if (end > a + n) out.push({ addr: a + n, pages: end - (a + n), g: v.g, off: v.off + (a + n - v.addr) }); // the kernel shifts the offset of a sparse remainder too
  }
  m.vas = out.sort((x, y) => x.addr - y.addr);
}

/**
 * After a walk: a GEM whose VmBo had references before and whose mappings
 * were all removed (none kept as a remainder or untouched) with no driver
 * reference lost its VmBo during the walk (the map step, if any, obtains a
 * new one): freed, or a zombie with deferred unlinks.
 */
function walkDeaths(m: Model, before: ModelVa[], a: number, n: number, deferred: boolean): void {
  for (let g = 0; g < GEMS; g++) {
    const x = gm(m, g);
    const had = before.filter((v) => v.g === g);
    if (had.length === 0 || x.drvRefs > 0) continue;
    const kept = had.filter((v) => !(v.addr >= a && v.addr + v.pages <= a + n)).length;
    if (kept > 0) continue;
    vmBoGone(m, g, deferred);
  }
}

/** The live VmBo of g lost its last reference. */
function vmBoGone(m: Model, g: number, deferred: boolean): void {
  const x = gm(m, g);
  if (deferred) x.zombies++;
  x.evicted = false;
  x.onExtobj = false;
  x.onEvict = false;
  gemMaybeFreed(m, g);
}

function gemMaybeFreed(m: Model, g: number): void {
  const x = gm(m, g);
  if (!x.handle && x.zombies === 0 && vmBoRefs(m, g) === 0) x.freed = true;
}

function lockMode(m: Readonly<Model>): boolean {
  return !resvProtected(m);
}

function modelEvict(m: Model, g: number, flag: boolean): void {
  const x = gm(m, g);
  x.evicted = flag;
  if (!lockMode(m) && EXTERNAL[g] === true) return;
  x.onEvict = flag;
}

// --- checking ---------------------------------------------------------------

/** Commands run, per mode (the test asserts the sequences do real work). */
const ran = new Map<string, number>();

function check(m: Readonly<Model>, r: Real): void {
  ran.set(r.mode, (ran.get(r.mode) ?? 0) + 1);
  expect(r.w.vm.checkInvariants()).toEqual([]);
  const tree = r.w.vm.vas().map((va) => ({ addr: va.addr / PAGE, pages: va.range / PAGE, g: va.gem.obj === null ? -1 : r.gems.indexOf(va.gem.obj), off: va.gem.offset / PAGE }));
  expect(tree).toEqual(m.vas);
  let live = 0;
  let zombies = 0;
  for (let g = 0; g < GEMS; g++) {
    const x = gm(m, g);
    const o = gem(r, g);
    zombies += x.zombies;
    expect(o.isFreed, `g${g} freed`).toBe(x.freed);
    if (x.freed) continue;
    const refs = vmBoRefs(m, g);
    const b = vmBoOf(r, g);
    if (refs === 0) expect(b, `g${g} has no VmBo`).toBeNull();
    else {
      if (b === null) throw new Error(`g${g} should have a VmBo with ${refs} references`);
      live++;
      expect(b.refcount.read(), `g${g}'s VmBo refcount`).toBe(refs);
      expect(b.evicted, `g${g}'s VmBo evicted`).toBe(x.evicted);
      expect(r.w.vm.extobj.entries().includes(b), `g${g}'s VmBo on extobj`).toBe(x.onExtobj);
      expect(r.w.vm.evict.entries().includes(b), `g${g}'s VmBo on evict`).toBe(x.onEvict);
    }
    expect(o.refcount.read(), `g${g}'s refcount`).toBe((x.handle ? 1 : 0) + (refs > 0 ? 1 : 0) + x.zombies);
  }
  expect(r.w.vm.deferredVmBos().length).toBe(zombies);
  expect(r.w.vm.refcount.read()).toBe(1 + m.vas.length + live + zombies);
}

// --- commands ---------------------------------------------------------------

type Cmd = fc.Command<Model, Real>;

function usable(m: Readonly<Model>, g: number): boolean {
  const x = gm(m, g);
  return !x.freed && x.handle;
}

class Obtain implements Cmd {
  constructor(
    readonly g: number,
    readonly viaExec: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return usable(m, this.g);
  }
  run(m: Model, r: Real): void {
    const obj = gem(r, this.g);
    if (this.viaExec) {
      r.sim.run(function* () {
        yield* underExec(r, [obj], function* () {
          yield* obtainHeld(r, obj, "drv");
        });
      });
    } else {
      r.sim.run(function* () {
        expect(yield* boObtain(r.w.vm, obj, "drv")).not.toBe("nomem");
      });
    }
    gm(m, this.g).drvRefs++;
    check(m, r);
  }
  toString(): string {
    return `obtain(g${this.g}${this.viaExec ? ", exec" : ""})`;
  }
}

class Put implements Cmd {
  constructor(
    readonly g: number,
    readonly deferred: boolean,
    readonly viaExec: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return gm(m, this.g).drvRefs > 0;
  }
  run(m: Model, r: Real): void {
    const b = vmBoOf(r, this.g);
    if (b === null) throw new Error(`no VmBo of g${this.g}`);
    const deferred = this.deferred && immediate(r);
    // The last put of a VmBo that may sit on a resv-protected list needs the VM's resv: go through the exec there.
    const viaExec = this.viaExec || r.mode === "resvProtected" || r.mode === "twoList";
    const obj = gem(r, this.g);
    r.sim.run(function* () {
      if (viaExec) {
        yield* underExec(r, [obj], function* () {
          yield* putHeld(r, b, "drv", deferred);
        });
      } else if (deferred) yield* b.putDeferred("drv");
      else yield* b.put("drv");
    });
    const x = gm(m, this.g);
    x.drvRefs--;
    if (vmBoRefs(m, this.g) === 0) vmBoGone(m, this.g, deferred);
    check(m, r);
  }
  toString(): string {
    return `put(g${this.g}${this.deferred ? ", deferred" : ""}${this.viaExec ? ", exec" : ""})`;
  }
}

class MapReq implements Cmd {
  constructor(
    readonly addr: number,
    readonly pages: number,
    readonly g: number,
    readonly off: number,
    readonly deferred: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return this.addr + this.pages <= PAGES && (this.g < 0 || usable(m, this.g));
  }
  run(m: Model, r: Real): void {
    const { addr, pages, g, off } = this;
    const obj = g < 0 ? null : gem(r, g);
    const req = { map: { va: { addr: addr * PAGE, range: pages * PAGE }, gem: { obj, offset: g < 0 ? 0 : off * PAGE } } };
    r.step.deferredUnlink = this.deferred && immediate(r);
    r.sim.run(function* () {
      const exec = new DrmExec(r.sim, { ignoreDuplicates: true });
      const got = yield* exec.untilAllLocked(function* () {
        const a = yield* r.w.vm.prepareVm(exec, 1);
        if (a !== "ok") return a;
        return yield* r.w.vm.smMapExecLock(exec, 1, req);
      });
      expect(got).toBe("ok");
      expect(yield* r.w.vm.smMap(req)).toBe("ok");
      yield* exec.fini();
    });
    const before = m.vas;
    cut(m, addr, pages);
    walkDeaths(m, before, addr, pages, r.step.deferredUnlink);
    m.vas = [...m.vas, { addr, pages, g, off: g < 0 ? 0 : off }].sort((x, y) => x.addr - y.addr);
    check(m, r);
  }
  toString(): string {
    return `smMap([${this.addr}, +${this.pages}), ${this.g < 0 ? "sparse" : `g${this.g}@${this.off}`}${this.deferred ? ", deferred" : ""})`;
  }
}

class UnmapReq implements Cmd {
  constructor(
    readonly addr: number,
    readonly pages: number,
    readonly deferred: boolean,
  ) {}
  check(): boolean {
    return this.addr + this.pages <= PAGES;
  }
  run(m: Model, r: Real): void {
    const { addr, pages } = this;
    r.step.deferredUnlink = this.deferred && immediate(r);
    r.sim.run(function* () {
      const exec = new DrmExec(r.sim, { ignoreDuplicates: true });
      const got = yield* exec.untilAllLocked(function* () {
        const a = yield* r.w.vm.prepareVm(exec, 1);
        if (a !== "ok") return a;
        return yield* r.w.vm.smUnmapExecLock(exec, addr * PAGE, pages * PAGE);
      });
      expect(got).toBe("ok");
      expect(yield* r.w.vm.smUnmap(addr * PAGE, pages * PAGE)).toBe("ok");
      yield* exec.fini();
    });
    const before = m.vas;
    cut(m, addr, pages);
    walkDeaths(m, before, addr, pages, r.step.deferredUnlink);
    check(m, r);
  }
  toString(): string {
    return `smUnmap([${this.addr}, +${this.pages})${this.deferred ? ", deferred" : ""})`;
  }
}

class ExtobjAdd implements Cmd {
  constructor(readonly g: number) {}
  check(m: Readonly<Model>): boolean {
    return !gm(m, this.g).freed && vmBoRefs(m, this.g) > 0;
  }
  run(m: Model, r: Real): void {
    const b = vmBoOf(r, this.g);
    if (b === null) throw new Error(`no VmBo of g${this.g}`);
    r.sim.run(function* () {
      yield* underExec(r, [b.obj], function* () {
        yield* b.extobjAdd();
      });
    });
    if (EXTERNAL[this.g] === true) gm(m, this.g).onExtobj = true;
    check(m, r);
  }
  toString(): string {
    return `extobjAdd(g${this.g})`;
  }
}

class Evict implements Cmd {
  constructor(
    readonly g: number,
    readonly flag: boolean,
    readonly whole: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return !gm(m, this.g).freed && (this.whole || vmBoRefs(m, this.g) > 0);
  }
  run(m: Model, r: Real): void {
    const { flag, whole } = this;
    const obj = gem(r, this.g);
    const b = vmBoOf(r, this.g);
    r.sim.run(function* () {
      yield* underExec(r, [obj], function* () {
        if (whole) {
          const lock = gemGpuvaLock(r.w.vm, obj);
          if (immediate(r)) yield* lock.lock();
          yield* r.w.vm.gemEvict(obj, flag);
          if (immediate(r)) yield* lock.unlock();
        } else if (b !== null) yield* b.evict(flag);
      });
    });
    if (vmBoRefs(m, this.g) > 0) modelEvict(m, this.g, flag);
    check(m, r);
  }
  toString(): string {
    return `${this.whole ? "gemEvict" : "evict"}(g${this.g}, ${this.flag})`;
  }
}

/** In the resv-protected list modes prepareObjects moves evicted external VmBos onto the evict list. */
function modelPrepareObjects(m: Model): void {
  if (m.mode === "plain" || m.mode === "immediateMode") return;
  for (let g = 0; g < GEMS; g++) {
    const x = gm(m, g);
    if (!x.freed && vmBoRefs(m, g) > 0 && x.onExtobj && x.evicted) x.onEvict = true;
  }
}

class PrepareObjects implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.sim.run(function* () {
      const ve = new GpuVmExec({ vm: r.w.vm, numFences: 1, flags: { ignoreDuplicates: true } });
      expect(yield* execLock(ve)).toBe("ok");
      yield* ve.exec.fini();
    });
    modelPrepareObjects(m);
    check(m, r);
  }
  toString(): string {
    return "execLock";
  }
}

class Validate implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    const objs = r.gems.filter((o, g) => !o.isFreed && vmBoRefs(m, g) > 0);
    r.sim.run(function* () {
      const ve = new GpuVmExec({ vm: r.w.vm, numFences: 1, flags: { ignoreDuplicates: true } });
      expect(yield* execLockArray(ve, objs)).toBe("ok");
      expect(yield* r.w.vm.validate(ve.exec)).toBe("ok");
      yield* ve.exec.fini();
    });
    modelPrepareObjects(m);
    for (let g = 0; g < GEMS; g++) {
      const x = gm(m, g);
      if (x.freed || vmBoRefs(m, g) === 0) continue;
      if (x.onEvict) {
        modelEvict(m, g, false);
        x.onEvict = false;
      }
    }
    check(m, r);
  }
  toString(): string {
    return "validate";
  }
}

class Cleanup implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, r: Real): void {
    r.sim.run(function* () {
      yield* r.w.vm.boDeferredCleanup();
    });
    for (let g = 0; g < GEMS; g++) {
      gm(m, g).zombies = 0;
      gemMaybeFreed(m, g);
    }
    check(m, r);
  }
  toString(): string {
    return "boDeferredCleanup";
  }
}

class Find implements Cmd {
  constructor(readonly g: number) {}
  check(m: Readonly<Model>): boolean {
    return !gm(m, this.g).freed;
  }
  run(m: Model, r: Real): void {
    const obj = gem(r, this.g);
    r.sim.run(function* () {
      const lock = gemGpuvaLock(r.w.vm, obj);
      yield* lock.lock();
      const b = yield* boFind(r.w.vm, obj, "find");
      yield* lock.unlock();
      if (b !== null) yield* b.put("find");
    });
    check(m, r);
  }
  toString(): string {
    return `find(g${this.g})`;
  }
}

class Close implements Cmd {
  constructor(readonly g: number) {}
  check(m: Readonly<Model>): boolean {
    return usable(m, this.g);
  }
  run(m: Model, r: Real): void {
    const obj = gem(r, this.g);
    r.sim.run(function* () {
      yield* obj.close();
    });
    gm(m, this.g).handle = false;
    gemMaybeFreed(m, this.g);
    check(m, r);
  }
  toString(): string {
    return `close(g${this.g})`;
  }
}

/** Userspace opens a handle again (say, by importing the object): the GEM must still be alive. */
class Open implements Cmd {
  constructor(readonly g: number) {}
  check(m: Readonly<Model>): boolean {
    return !gm(m, this.g).freed && !gm(m, this.g).handle;
  }
  run(m: Model, r: Real): void {
    const obj = gem(r, this.g);
    r.sim.run(function* () {
      yield* obj.open();
    });
    gm(m, this.g).handle = true;
    check(m, r);
  }
  toString(): string {
    return `open(g${this.g})`;
  }
}

function commands(): fc.Arbitrary<Iterable<Cmd>> {
  const g = fc.integer({ min: 0, max: GEMS - 1 });
  const gOrSparse = fc.integer({ min: -1, max: GEMS - 1 });
  // A span inside the VA space: [a, a + n) with 1 <= n <= 5.
  const span = fc.tuple(fc.integer({ min: 0, max: PAGES - 1 }), fc.integer({ min: 1, max: 5 })).map(([a, n]) => [a, Math.min(n, PAGES - a)] as const);
  const b = fc.boolean();
  return fc.commands(
    [
      fc.tuple(g, b).map(([x, e]) => new Obtain(x, e)),
      fc.tuple(g, b, b).map(([x, d, e]) => new Put(x, d, e)),
      fc.tuple(span, gOrSparse, fc.integer({ min: 0, max: 8 }), b).map(([[a, n], x, o, d]) => new MapReq(a, n, x, o, d)),
      fc.tuple(span, gOrSparse, fc.integer({ min: 0, max: 8 }), b).map(([[a, n], x, o, d]) => new MapReq(a, n, x, o, d)),
      fc.tuple(span, gOrSparse, fc.integer({ min: 0, max: 8 }), b).map(([[a, n], x, o, d]) => new MapReq(a, n, x, o, d)),
      fc.tuple(span, b).map(([[a, n], d]) => new UnmapReq(a, n, d)),
      fc.tuple(span, b).map(([[a, n], d]) => new UnmapReq(a, n, d)),
      g.map((x) => new ExtobjAdd(x)),
      fc.tuple(g, b, b).map(([x, f, w]) => new Evict(x, f, w)),
      fc.constant(new Validate()),
      fc.constant(new PrepareObjects()),
      fc.constant(new Cleanup()),
      g.map((x) => new Find(x)),
      g.map((x) => new Close(x)),
      g.map((x) => new Open(x)),
    ],
    { maxCommands: 40, size: "max" },
  );
}

/** Tear down: unmap everything, put the driver's references, clean up, close the handles, drop the VM. */
function teardown(m: Model, r: Real): void {
  new UnmapReq(0, PAGES, false).run(m, r);
  for (let g = 0; g < GEMS; g++) while (gm(m, g).drvRefs > 0) new Put(g, false, false).run(m, r);
  new Cleanup().run(m, r);
  for (let g = 0; g < GEMS; g++) if (usable(m, g)) new Close(g).run(m, r);
  for (let g = 0; g < GEMS; g++) expect(gem(r, g).isFreed, `g${g} freed at the end`).toBe(true);
  r.sim.run(function* () {
    yield* r.w.vm.put("creator");
    yield* r.w.root.put("creator");
  });
}

function setup(mode: VmMode): { model: Model; real: Real } {
  const sim = collectingSim();
  const holder: { r: Real | null } = { r: null };
  const w = world(sim, mode, { ops: driverOps(holder) });
  const gems = EXTERNAL.map((ext, i) => (ext ? w.bo(`g${i}`, true) : w.privateBo(`g${i}`)));
  // Userspace holds a handle; the creator's reference goes, so the handle and the VmBos keep each GEM alive.
  sim.run(function* () {
    for (const o of gems) {
      yield* o.open();
      yield* o.put("creator");
    }
  });
  const real: Real = { sim, mode, w, gems, step: { deferredUnlink: false } };
  holder.r = real;
  const model: Model = {
    mode,
    vas: [],
    gems: gems.map(() => ({ handle: true, freed: false, drvRefs: 0, evicted: false, onExtobj: false, onEvict: false, zombies: 0 })),
  };
  return { model, real };
}

describe.each(ALL_VM_MODES)("GPUVM core model (%s)", (mode) => {
  it("random command sequences keep the invariants and refcounts, and tear down clean", () => {
    fc.assert(
      fc.property(commands(), (cmds) => {
        const { model, real } = setup(mode);
        fc.modelRun(() => ({ model, real }), cmds);
        teardown(model, real);
        expect(real.sim.reports).toEqual([]);
        expect(real.sim.teardown()).toEqual([]);
      }),
      { numRuns: RUNS, seed: Number(process.env["MODEL_SEED"] ?? 10) },
    );
    // Each run's teardown alone checks a handful of times; the random commands must add many more.
    expect(ran.get(mode) ?? 0).toBeGreaterThan(RUNS * 12);
  });
});

describe("directed cases the model found", () => {
  it("resvProtected: an external VmBo moved to the evict list, then un-evicted, is a legal state until validate() drops it", () => {
    const { model, real } = setup("resvProtected");
    const cmds: Cmd[] = [new Obtain(1, true), new ExtobjAdd(1), new Evict(1, true, false), new PrepareObjects(), new Evict(1, false, false)];
    for (const c of cmds) c.run(model, real);
    const b = vmBoOf(real, 1);
    expect(b?.evicted).toBe(false);
    expect(real.w.vm.evict.entries()).toEqual([b]);
    expect(real.w.vm.checkInvariants()).toEqual([]);
    new Validate().run(model, real);
    expect(real.w.vm.evict.entries()).toEqual([]);
    teardown(model, real);
    expect(real.sim.reports).toEqual([]);
    expect(real.sim.teardown()).toEqual([]);
  });
});

describe("Mapping.fromOp in a step callback", () => {
  it("takes the op a step callback receives as typed; an op whose GEM is no GemObject is an ArgumentError naming init.obj", () => {
    const sim = collectingSim();
    const op: GpuVaOpMap = { op: "map", map: { va: { addr: 0, range: PAGE }, gem: { obj: null, offset: 0 } } };
    expect(Mapping.fromOp(sim, op).range).toBe(PAGE);
    const notGem = { label: "fake", resv: {}, get: () => undefined, put: () => undefined } as unknown as GpuVaOpMap["map"]["gem"]["obj"];
    const bad: GpuVaOpMap = { op: "map", map: { va: { addr: 0, range: PAGE }, gem: { obj: notGem, offset: 0 } } };
    let caught: unknown = null;
    try {
      Mapping.fromOp(sim, bad);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ArgumentError);
    expect((caught as ArgumentError).argument).toBe("init.obj");
  });
});
