/**
 * Bad input to Mapping (src/drm/mapping.ts):
 * each case throws the typed error naming the argument, and the state is
 * unchanged (no object made, refcounts, tree and lists as they were).
 */
import { describe, expect, it } from "vitest";
import { expectThrows, nextId } from "./helpers.js";
import {
  ArgumentError,
  ArgumentRangeError,
  boObtain,
  Mapping,
  VmBo,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { world, type World } from "../support/gpuvm-world.js";

type Cls = typeof ArgumentError | typeof ArgumentRangeError;

/** What must not change: refcounts, the tree, the GEM lists. */
function snapshot(w: World): string {
  return JSON.stringify({ vm: w.vm.refcount.count, root: w.root.refcount.count, vas: w.vm.tree.entries().map((e) => [e.addr, e.range]), gem: w.root.gpuva.length });
}

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
