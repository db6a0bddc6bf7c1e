/**
 * Bad input to split/merge (src/drm/split-merge.ts): each case throws the
 * typed error naming the argument, at the call, before any step or
 * callback, and leaves the VM as it was (same layout, same references, no
 * callback called, no report).
 */
import { describe, expect, it } from "vitest";
import { expectThrows } from "./helpers.js";
import { ArgumentError, ArgumentRangeError, DrmExec, Sim } from "../../src/index.js";
import {
  boUnmapOpsCreate,
  gpuvaMap,
  gpuvaRemap,
  gpuvaUnmap,
  madviseOpsCreate,
  prefetchOpsCreate,
  smMap,
  smMapExecLock,
  smMapOpsCreate,
  smUnmap,
  smUnmapExecLock,
  smUnmapOpsCreate,
  type SmGem,
} from "../../src/drm/split-merge.js";
import { collectingSim } from "../support/collecting-sim.js";
import { FakeGem, FakeVa, FakeVm } from "../support/fake-sm-vm.js";

const U = 0x1000;
type ErrorClass = typeof ArgumentError | typeof ArgumentRangeError;

interface World {
  readonly sim: Sim;
  readonly vm: FakeVm;
  readonly a: FakeGem;
  readonly va: FakeVa;
  readonly calls: string[];
}

/** A VM over [0, 64 pages) with pages 60..64 kernel-reserved, one mapping, counting callbacks. */
function world(): World {
  const sim = collectingSim();
  const calls: string[] = [];
  const vm = new FakeVm(sim, "vm", {
    mmRange: 64 * U,
    reserveOffset: 60 * U,
    reserveRange: 4 * U,
    ops: {
      smStepMap: () => void calls.push("map"),
      smStepRemap: () => void calls.push("remap"),
      smStepUnmap: () => void calls.push("unmap"),
    },
  });
  const a = new FakeGem(sim, "a");
  const va = vm.place(0, 4 * U, a, 0);
  return { sim, vm, a, va, calls };
}

function expectUnchanged(w: World): void {
  expect(w.vm.layout()).toEqual([[0, 4 * U, w.a.label, 0]]);
  expect(w.vm.refs).toBe(1);
  expect(w.va.state).toBe("inserted");
  expect(w.calls).toEqual([]);
  expect(w.sim.reports).toEqual([]);
}

/** Requests with one bad field, the argument named, the error class. */
const BAD_REQS: readonly [string, (w: World) => unknown, string, ErrorClass][] = [
  ["req null", () => null, "req", ArgumentError],
  ["req a number", () => 1, "req", ArgumentError],
  ["no map", () => ({}), "req.map", ArgumentError],
  ["no va", () => ({ map: { gem: { obj: null, offset: 0 } } }), "req.map.va", ArgumentError],
  ["no gem", () => ({ map: { va: { addr: 0, range: U } } }), "req.map.gem", ArgumentError],
  ["obj not a GEM", () => ({ map: { va: { addr: 0, range: U }, gem: { obj: {}, offset: 0 } } }), "req.map.gem.obj", ArgumentError],
  ["obj undefined", () => ({ map: { va: { addr: 0, range: U }, gem: { offset: 0 } } }), "req.map.gem.obj", ArgumentError],
  ["obj of another Sim", () => ({ map: { va: { addr: 0, range: U }, gem: { obj: new FakeGem(new Sim(), "x"), offset: 0 } } }), "req.map.gem.obj", ArgumentError],
  ["offset negative", (w) => ({ map: { va: { addr: 0, range: U }, gem: { obj: w.a, offset: -1 } } }), "req.map.gem.offset", ArgumentRangeError],
  ["offset a string", (w) => ({ map: { va: { addr: 0, range: U }, gem: { obj: w.a, offset: "0" } } }), "req.map.gem.offset", ArgumentError],
  ["addr a string", () => ({ map: { va: { addr: "0", range: U }, gem: { obj: null, offset: 0 } } }), "req.map.va.addr", ArgumentError],
  ["addr fractional", () => ({ map: { va: { addr: 0.5, range: U }, gem: { obj: null, offset: 0 } } }), "req.map.va.addr", ArgumentRangeError],
  ["addr negative", () => ({ map: { va: { addr: -U, range: U }, gem: { obj: null, offset: 0 } } }), "req.map.va.addr", ArgumentRangeError],
  ["zero length (the kernel accepts it)", () => ({ map: { va: { addr: U, range: 0 }, gem: { obj: null, offset: 0 } } }), "req.map.va.range", ArgumentRangeError],
  ["range NaN", () => ({ map: { va: { addr: U, range: NaN }, gem: { obj: null, offset: 0 } } }), "req.map.va.range", ArgumentRangeError],
  ["addr + range past 2^53", () => ({ map: { va: { addr: U, range: Number.MAX_SAFE_INTEGER }, gem: { obj: null, offset: 0 } } }), "req.map.va.range", ArgumentRangeError],
  ["addr past the VM", () => ({ map: { va: { addr: 64 * U, range: U }, gem: { obj: null, offset: 0 } } }), "req.map.va.addr", ArgumentRangeError],
  ["range past the VM", () => ({ map: { va: { addr: 0, range: 65 * U }, gem: { obj: null, offset: 0 } } }), "req.map.va.range", ArgumentRangeError],
  ["into the kernel-reserved range", () => ({ map: { va: { addr: 56 * U, range: 5 * U }, gem: { obj: null, offset: 0 } } }), "req.map.va.range", ArgumentRangeError],
];

const BAD_RANGES: readonly [string, unknown, unknown, string, ErrorClass][] = [
  ["addr a string", "0", U, "addr", ArgumentError],
  ["addr fractional", 0.5, U, "addr", ArgumentRangeError],
  ["addr negative", -1, U, "addr", ArgumentRangeError],
  ["range undefined", 0, undefined, "range", ArgumentError],
  ["zero length", 0, 0, "range", ArgumentRangeError],
  ["range negative", 0, -U, "range", ArgumentRangeError],
  ["addr + range past 2^53", U, Number.MAX_SAFE_INTEGER, "range", ArgumentRangeError],
  ["addr past the VM", 64 * U, U, "addr", ArgumentRangeError],
  ["range past the VM", 0, 65 * U, "range", ArgumentRangeError],
  ["into the kernel-reserved range", 58 * U, 3 * U, "range", ArgumentRangeError],
];

const NOT_VMS: readonly [string, unknown][] = [
  ["null", null],
  ["a string", "vm"],
  ["an object without a tree", { rangeValid: () => true, ops: {} }],
];

describe("bad input: split/merge requests", () => {
  for (const [what, make, argument, cls] of BAD_REQS) {
    for (const [fn, call] of [
      ["smMap", (w: World, r: unknown) => smMap(w.vm, r as never)],
      ["smMapOpsCreate", (w: World, r: unknown) => smMapOpsCreate(w.vm, r as never)],
      ["madviseOpsCreate", (w: World, r: unknown) => madviseOpsCreate(w.vm, r as never)],
      ["smMapExecLock", (w: World, r: unknown) => smMapExecLock(w.vm, new DrmExec<SmGem>(w.sim), 1, r as never)],
    ] as const) {
      it(`${fn}: ${what} → ${cls.name} naming ${argument}`, () => {
        const w = world();
        expectThrows(() => call(w, make(w)), cls, argument);
        expectUnchanged(w);
      });
    }
  }

  for (const [what, addr, range, argument, cls] of BAD_RANGES) {
    for (const [fn, call] of [
      ["smUnmap", (w: World) => smUnmap(w.vm, addr as number, range as number)],
      ["smUnmapOpsCreate", (w: World) => smUnmapOpsCreate(w.vm, addr as number, range as number)],
      ["prefetchOpsCreate", (w: World) => prefetchOpsCreate(w.vm, addr as number, range as number)],
      ["smUnmapExecLock", (w: World) => smUnmapExecLock(w.vm, new DrmExec<SmGem>(w.sim), addr as number, range as number)],
    ] as const) {
      it(`${fn}: ${what} → ${cls.name} naming ${argument}`, () => {
        const w = world();
        expectThrows(() => call(w), cls, argument);
        expectUnchanged(w);
      });
    }
  }

  for (const [what, vm] of NOT_VMS) {
    it(`every function taking a VM: ${what} → ArgumentError naming vm`, () => {
      const w = world();
      const r = { map: { va: { addr: 0, range: U }, gem: { obj: null, offset: 0 } } };
      expectThrows(() => smMap(vm as never, r), ArgumentError, "vm");
      expectThrows(() => smUnmap(vm as never, 0, U), ArgumentError, "vm");
      expectThrows(() => smMapOpsCreate(vm as never, r), ArgumentError, "vm");
      expectThrows(() => madviseOpsCreate(vm as never, r), ArgumentError, "vm");
      expectThrows(() => smUnmapOpsCreate(vm as never, 0, U), ArgumentError, "vm");
      expectThrows(() => prefetchOpsCreate(vm as never, 0, U), ArgumentError, "vm");
      expectThrows(() => smMapExecLock(vm as never, new DrmExec<SmGem>(w.sim), 1, r), ArgumentError, "vm");
      expectThrows(() => smUnmapExecLock(vm as never, new DrmExec<SmGem>(w.sim), 0, U), ArgumentError, "vm");
      expectThrows(() => gpuvaMap(vm as never, FakeVa.fromOp(w.sim, r.map), r.map), ArgumentError, "vm");
      expectUnchanged(w);
    });
  }

  for (const missing of ["smStepMap", "smStepRemap", "smStepUnmap"] as const) {
    it(`smMap without ${missing} → ArgumentError naming vm.ops.${missing}, no callback called`, () => {
      const w = world();
      const ops = { ...w.vm.ops };
      ops[missing] = undefined;
      w.vm.ops = ops;
      expectThrows(() => smMap(w.vm, { map: { va: { addr: 0, range: U }, gem: { obj: null, offset: 0 } } }), ArgumentError, `vm.ops.${missing}`);
      if (missing !== "smStepMap") expectThrows(() => smUnmap(w.vm, 0, U), ArgumentError, `vm.ops.${missing}`);
      expectUnchanged(w);
    });
  }
});

describe("bad input: exec-lock, boUnmap", () => {
  it("exec not a DrmExec, or of another Sim → ArgumentError naming exec", () => {
    const w = world();
    const r = { map: { va: { addr: 0, range: U }, gem: { obj: w.a, offset: 0 } } };
    expectThrows(() => smMapExecLock(w.vm, {} as never, 1, r), ArgumentError, "exec");
    expectThrows(() => smMapExecLock(w.vm, new DrmExec<SmGem>(new Sim()), 1, r), ArgumentError, "exec");
    expectThrows(() => smUnmapExecLock(w.vm, null as never, 0, U), ArgumentError, "exec");
    expectUnchanged(w);
  });

  it("numFences negative or fractional → ArgumentRangeError naming numFences", () => {
    const w = world();
    const r = { map: { va: { addr: 0, range: U }, gem: { obj: w.a, offset: 0 } } };
    expectThrows(() => smMapExecLock(w.vm, new DrmExec<SmGem>(w.sim), -1, r), ArgumentRangeError, "numFences");
    expectThrows(() => smMapExecLock(w.vm, new DrmExec<SmGem>(w.sim), 0.5, r), ArgumentRangeError, "numFences");
    expectUnchanged(w);
  });

  it("boUnmapOpsCreate of something that is not a VmBo → ArgumentError naming vmBo", () => {
    const w = world();
    expectThrows(() => boUnmapOpsCreate(null as never), ArgumentError, "vmBo");
    expectThrows(() => boUnmapOpsCreate({ vm: w.vm } as never), ArgumentError, "vmBo");
    expectUnchanged(w);
  });
});

describe("bad input: the apply helpers", () => {
  const op = { va: { addr: 8 * U, range: U }, gem: { obj: null, offset: 0 } };

  it("gpuvaMap: op not a map body → naming op; va not prepared, or not made from op → naming va", () => {
    const w = world();
    expectThrows(() => gpuvaMap(w.vm, FakeVa.fromOp(w.sim, op), null as never), ArgumentError, "op");
    expectThrows(() => gpuvaMap(w.vm, w.va, op), ArgumentError, "va");
    expectThrows(() => gpuvaMap(w.vm, new FakeVa(w.sim, { addr: 9 * U, range: U }), op), ArgumentError, "va");
    expectThrows(() => gpuvaMap(w.vm, null as never, op), ArgumentError, "va");
    expectUnchanged(w);
  });

  it("gpuvaRemap: op not a remap body, its mapping not inserted → naming op / op.unmap.va; a missing or wrong remainder → naming prev / next", () => {
    const w = world();
    const [remap] = smUnmapOpsCreate(w.vm, U, U);
    if (remap?.op !== "remap") throw new Error("expected a remap");
    const r = remap.remap;
    const prev = r.prev === null ? null : FakeVa.fromOp(w.sim, r.prev);
    const next = r.next === null ? null : FakeVa.fromOp(w.sim, r.next);
    expectThrows(() => gpuvaRemap(prev, next, null as never), ArgumentError, "op");
    expectThrows(() => gpuvaRemap(prev, next, { prev: r.prev, next: r.next } as never), ArgumentError, "op");
    expectThrows(() => gpuvaRemap(null, next, r), ArgumentError, "prev");
    expectThrows(() => gpuvaRemap(prev, null, r), ArgumentError, "next");
    expectThrows(() => gpuvaRemap(next, prev, r), ArgumentError, "prev");
    expectThrows(() => gpuvaRemap(prev, prev, { ...r, next: r.prev }), ArgumentError, "next");
    expectThrows(() => gpuvaRemap(prev, next, { ...r, unmap: { va: FakeVa.fromOp(w.sim, op), keep: false } }), ArgumentError, "op.unmap.va");
    expectUnchanged(w);
    expect(prev?.state).toBe("prepared");
  });

  it("gpuvaUnmap: op not an unmap body, or its mapping not inserted → naming op / op.va", () => {
    const w = world();
    expectThrows(() => gpuvaUnmap(null as never), ArgumentError, "op");
    expectThrows(() => gpuvaUnmap({ va: FakeVa.fromOp(w.sim, op), keep: false }), ArgumentError, "op.va");
    expectThrows(() => gpuvaUnmap({ va: 3 as never, keep: false }), ArgumentError, "op.va");
    expectUnchanged(w);
  });
});
