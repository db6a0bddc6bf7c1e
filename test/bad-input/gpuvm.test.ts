/**
 * Bad input to GpuVm (src/drm/gpuvm.ts):
 * each case throws the typed error naming the argument, and the state is
 * unchanged (no object made, refcounts, tree and lists as they were).
 */
import { describe, expect, it } from "vitest";
import { expectThrows, nextId } from "./helpers.js";
import {
  ArgumentError,
  ArgumentRangeError,
  GemObject,
  GpuVm,
  Sim,
  type GpuVmOptions,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { world, type World } from "../support/gpuvm-world.js";

type Cls = typeof ArgumentError | typeof ArgumentRangeError;

/** What must not change: refcounts, the tree, the GEM lists. */
function snapshot(w: World): string {
  return JSON.stringify({ vm: w.vm.refcount.count, root: w.root.refcount.count, vas: w.vm.tree.entries().map((e) => [e.addr, e.range]), gem: w.root.gpuva.length });
}

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

