/**
 * Bad input to VmBo (src/drm/vm-bo.ts):
 * each case throws the typed error naming the argument, and the state is
 * unchanged (no object made, refcounts, tree and lists as they were).
 */
import { describe, expect, it } from "vitest";
import { expectThrows } from "./helpers.js";
import {
  ArgumentError,
  boCreate,
  boFind,
  boObtain,
  boObtainLocked,
  boObtainPrealloc,
  GemObject,
  VmBo,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { world, type World } from "../support/gpuvm-world.js";

/** What must not change: refcounts, the tree, the GEM lists. */
function snapshot(w: World): string {
  return JSON.stringify({ vm: w.vm.refcount.count, root: w.root.refcount.count, vas: w.vm.tree.entries().map((e) => [e.addr, e.range]), gem: w.root.gpuva.length });
}

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

