/**
 * Bad input to the GPUVM core (GemObject, GpuVm, VmBo functions, Mapping):
 * each case throws the typed error naming the argument, and the state is
 * unchanged (no object made, refcounts, tree and lists as they were).
 */
import { describe, expect, it } from "vitest";
import { expectThrows, nextId } from "./helpers.js";
import {
  ArgumentError,
  ArgumentRangeError,
  boCreate,
  boFind,
  boObtain,
  boObtainLocked,
  boObtainPrealloc,
  GemObject,
  GpuVm,
  Mapping,
  Sim,
  VmBo,
  type GpuVmOptions,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { world, type World } from "../support/gpuvm-world.js";

type Cls = typeof ArgumentError | typeof ArgumentRangeError;

/** What must not change: refcounts, the tree, the GEM lists. */
function snapshot(w: World): string {
  return JSON.stringify({ vm: w.vm.refcount.count, root: w.root.refcount.count, vas: w.vm.tree.entries().map((e) => [e.addr, e.range]), gem: w.root.gpuva.length });
}

describe("bad input: GemObject", () => {
  const CASES: readonly [string, unknown, Cls, string][] = [
    ["options null", null, ArgumentError, "options"],
    ["no size", {}, ArgumentError, "size"],
    ["size zero", { size: 0 }, ArgumentRangeError, "size"],
    ["size fractional", { size: 1.5 }, ArgumentRangeError, "size"],
    ["size a string", { size: "4096" }, ArgumentError, "size"],
    ["unknown key", { size: 1, color: "red" }, ArgumentError, "color"],
    ["resv not a DmaResv", { size: 1, resv: {} }, ArgumentError, "resv"],
    ["free not a function", { size: 1, free: 3 }, ArgumentError, "free"],
  ];
  it.each(CASES)("%s", (_name, options, cls, argument) => {
    const sim = collectingSim();
    const id = nextId(sim);
    expectThrows(() => new GemObject(sim, options as never), cls, argument);
    expect(nextId(sim)).toBe(id + 1);
  });
  it("a resv of another Sim", () => {
    const sim = collectingSim();
    const other = new GemObject(collectingSim(), { size: 1 });
    const id = nextId(sim);
    expectThrows(() => new GemObject(sim, { size: 1, resv: other.resv }), ArgumentError, "resv");
    expect(nextId(sim)).toBe(id + 1);
  });
  it("not a Sim", () => {
    const notSim: unknown = {};
    expectThrows(() => new GemObject(notSim as Sim, { size: 1 }), ArgumentError, "sim");
  });
});

describe("bad input: GpuVm.create", () => {
  function base(sim: Sim): GpuVmOptions {
    return { name: "vm", mmStart: 0, mmRange: 0x10000, resvObj: new GemObject(sim, { size: 1, name: "root" }), ops: { vmFree: () => undefined } };
  }
  const CASES: readonly [string, (o: GpuVmOptions) => unknown, Cls, string][] = [
    ["no name", (o) => ({ ...o, name: undefined }), ArgumentError, "name"],
    ["empty name", (o) => ({ ...o, name: "" }), ArgumentError, "name"],
    ["mmStart negative", (o) => ({ ...o, mmStart: -1 }), ArgumentRangeError, "mmStart"],
    ["mmRange zero", (o) => ({ ...o, mmRange: 0 }), ArgumentRangeError, "mmRange"],
    ["mmRange non-integer", (o) => ({ ...o, mmRange: 0.5 }), ArgumentRangeError, "mmRange"],
    ["overflow", (o) => ({ ...o, mmStart: Number.MAX_SAFE_INTEGER, mmRange: 2 }), ArgumentRangeError, "mmRange"],
    ["reserve overflow", (o) => ({ ...o, reserveOffset: Number.MAX_SAFE_INTEGER, reserveRange: 2 }), ArgumentRangeError, "reserveRange"],
    ["reserveRange negative", (o) => ({ ...o, reserveRange: -1 }), ArgumentRangeError, "reserveRange"],
    ["resvProtected not boolean", (o) => ({ ...o, resvProtected: 1 }), ArgumentError, "resvProtected"],
    ["listMode resv without resvProtected", (o) => ({ ...o, listMode: "resv" }), ArgumentError, "listMode"],
    ["listMode spinlock with resvProtected", (o) => ({ ...o, listMode: "spinlock", resvProtected: true }), ArgumentError, "listMode"],
    ["listMode unknown", (o) => ({ ...o, listMode: "rcu" }), ArgumentError, "listMode"],
    ["no resvObj", (o) => ({ ...o, resvObj: undefined }), ArgumentError, "resvObj"],
    ["resvObj not a GEM", (o) => ({ ...o, resvObj: {} }), ArgumentError, "resvObj"],
    ["no ops", (o) => ({ ...o, ops: undefined }), ArgumentError, "ops"],
    ["no vmFree", (o) => ({ ...o, ops: {} }), ArgumentError, "ops.vmFree"],
    ["vmBoAlloc not a function", (o) => ({ ...o, ops: { vmFree: () => undefined, vmBoAlloc: 1 } }), ArgumentError, "ops.vmBoAlloc"],
    ["unknown key", (o) => ({ ...o, flags: 1 }), ArgumentError, "flags"],
  ];
  it.each(CASES)("%s", (_name, edit, cls, argument) => {
    const sim = collectingSim();
    const o = base(sim);
    const id = nextId(sim);
    expectThrows(() => GpuVm.create(sim, edit(o) as GpuVmOptions), cls, argument);
    expect(nextId(sim)).toBe(id + 1);
    expect(o.resvObj.refcount.count).toBe(1);
  });
  it("options null; a resvObj of another Sim", () => {
    const sim = collectingSim();
    expectThrows(() => GpuVm.create(sim, null as never), ArgumentError, "options");
    const foreign = base(collectingSim());
    expectThrows(() => GpuVm.create(sim, foreign), ArgumentError, "resvObj");
    expect(foreign.resvObj.refcount.count).toBe(1);
  });
});

describe("bad input: GpuVm queries", () => {
  const sim = collectingSim();
  const w = world(sim, "plain");
  const CASES: readonly [string, () => unknown, Cls, string][] = [
    ["rangeValid negative addr", () => w.vm.rangeValid(-1, 1), ArgumentRangeError, "addr"],
    ["rangeValid fractional range", () => w.vm.rangeValid(0, 0.5), ArgumentRangeError, "range"],
    ["findFirst zero range", () => w.vm.findFirst(0, 0), ArgumentRangeError, "range"],
    ["find string addr", () => w.vm.find("0" as never, 1), ArgumentError, "addr"],
    ["intervalEmpty overflow", () => w.vm.intervalEmpty(Number.MAX_SAFE_INTEGER, 2), ArgumentRangeError, "range"],
    ["vasInRange NaN", () => w.vm.vasInRange(NaN, 1), ArgumentRangeError, "addr"],
    ["findPrev negative", () => w.vm.findPrev(-1), ArgumentRangeError, "start"],
    ["findNext fractional", () => w.vm.findNext(0.5), ArgumentRangeError, "end"],
    ["isExtobj not a GEM", () => w.vm.isExtobj({} as never), ArgumentError, "obj"],
  ];
  it.each(CASES)("%s", (_name, f, cls, argument) => {
    const before = snapshot(w);
    expectThrows(f, cls, argument);
    expect(snapshot(w)).toBe(before);
  });
});

describe("bad input: VmBo functions", () => {
  it("a VM or GEM of the wrong type or of another Sim; a bad holder", () => {
    const sim = collectingSim();
    const w = world(sim, "plain");
    const foreign = new GemObject(collectingSim(), { size: 1 });
    const bo = w.bo("bo");
    const before = snapshot(w);
    for (const f of [boCreate, boFind, boObtain, boObtainLocked]) {
      expectThrows(() => f({} as never, bo), ArgumentError, "vm");
      expectThrows(() => f(w.vm, {} as never), ArgumentError, "obj");
      expectThrows(() => f(w.vm, foreign), ArgumentError, "obj");
      expectThrows(() => f(w.vm, bo, 3 as never), ArgumentError, "holder");
    }
    expectThrows(() => boObtainPrealloc({} as never), ArgumentError, "vmBo");
    expectThrows(() => new VmBo(w.vm, foreign), ArgumentError, "obj");
    expect(snapshot(w)).toBe(before);
    expect(bo.refcount.count).toBe(1);
  });
});

describe("bad input: Mapping", () => {
  const INITS: readonly [string, unknown, Cls, string][] = [
    ["init null", null, ArgumentError, "init"],
    ["no addr", { range: 1 }, ArgumentError, "init.addr"],
    ["negative addr", { addr: -1, range: 1 }, ArgumentRangeError, "init.addr"],
    ["zero range", { addr: 0, range: 0 }, ArgumentRangeError, "init.range"],
    ["fractional range", { addr: 0, range: 1.5 }, ArgumentRangeError, "init.range"],
    ["overflow", { addr: Number.MAX_SAFE_INTEGER, range: 1 }, ArgumentRangeError, "init.range"],
    ["obj not a GEM", { addr: 0, range: 1, obj: {} }, ArgumentError, "init.obj"],
    ["negative offset", { addr: 0, range: 1, offset: -1 }, ArgumentRangeError, "init.offset"],
    ["sparse not boolean", { addr: 0, range: 1, sparse: "yes" }, ArgumentError, "init.sparse"],
  ];
  it.each(INITS)("new Mapping: %s", (_name, init, cls, argument) => {
    const sim = collectingSim();
    const id = nextId(sim);
    expectThrows(() => new Mapping(sim, init as never), cls, argument);
    expect(nextId(sim)).toBe(id + 1);
  });

  it("insert: outside the VM, overlapping the kernel-reserved range or a mapping, a VM of another Sim: nothing changes", () => {
    const sim = collectingSim();
    const w = world(sim, "plain", { reserveOffset: 0x8000, reserveRange: 0x1000 });
    const other = world(collectingSim(), "plain");
    sim.run(function* () {
      const a = new Mapping(sim, { addr: 0x1000, range: 0x1000 });
      yield* a.insert(w.vm);
      const before = snapshot(w);
      const cases: [Mapping, Cls, string][] = [
        [new Mapping(sim, { addr: 0xff000, range: 0x2000 }), ArgumentRangeError, "range"],
        [new Mapping(sim, { addr: 0x7800, range: 0x1000 }), ArgumentRangeError, "range"],
        [new Mapping(sim, { addr: 0x1800, range: 0x1000 }), ArgumentError, "addr"],
      ];
      for (const [m, cls, argument] of cases) {
        expectThrows(() => m.insert(w.vm), cls, argument);
        expect(m.state).toBe("prepared");
      }
      expectThrows(() => new Mapping(sim, { addr: 0, range: 1 }).insert(other.vm), ArgumentError, "vm");
      expectThrows(() => a.insert({} as never), ArgumentError, "vm");
      expect(snapshot(w)).toBe(before);
    });
  });

  it("link: a VmBo of another VM or of another GEM; invalidate: not a boolean", () => {
    const sim = collectingSim();
    const w = world(sim, "plain");
    const w2 = world(sim, "plain");
    sim.run(function* () {
      const bo = w.bo("bo");
      const bo2 = w.bo("bo2");
      const vb = (yield* boObtain(w.vm, bo)) as VmBo;
      const vbOther = (yield* boObtain(w2.vm, bo)) as VmBo;
      const vb2 = (yield* boObtain(w.vm, bo2)) as VmBo;
      const m = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* m.insert(w.vm);
      const before = [vb.refcount.count, vbOther.refcount.count, vb2.refcount.count];
      expectThrows(() => m.link(vbOther), ArgumentError, "vmBo");
      expectThrows(() => m.linkLocked(vb2), ArgumentError, "vmBo");
      expectThrows(() => m.link({} as never), ArgumentError, "vmBo");
      expectThrows(() => m.invalidate(1 as never), ArgumentError, "flag");
      expect([vb.refcount.count, vbOther.refcount.count, vb2.refcount.count]).toEqual(before);
      expect(m.vmBo).toBeNull();
      expect(m.invalidated).toBe(false);
    });
  });
});
