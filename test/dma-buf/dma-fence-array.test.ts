/** DmaFenceArray (src/dma-buf/dma-fence-array.ts): one fence signalled once all of its fences are. */
import { describe, expect, it } from "vitest";
import { DmaFence, dmaFenceArrayCreate, FenceContext, type DmaFenceArray } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

describe("DmaFenceArray", () => {
  it("signals when its last fence signals, and drops its references when released", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const a = new DmaFence(new FenceContext(sim, "a"), { name: "a" });
      const b = new DmaFence(new FenceContext(sim, "b"), { name: "b" });
      yield* a.get();
      yield* b.get();
      const arr = (yield* dmaFenceArrayCreate([a, b], "both")) as DmaFenceArray;
      expect(arr.fences).toEqual([a, b]);
      yield* a.signal();
      expect(arr.isSignaled()).toBe(false);
      yield* b.signal();
      expect(arr.isSignaled()).toBe(true);
      yield* arr.put();
      expect([a.refcount.read(), b.refcount.read()]).toEqual([1, 1]);
      yield* a.put();
      yield* b.put();
    });
    sim.runAll();
    expect(sim.teardown()).toEqual([]);
  });

  it("is signalled at creation when every fence already is", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const a = new DmaFence(new FenceContext(sim, "a"), { name: "a" });
      yield* a.signal();
      const arr = (yield* dmaFenceArrayCreate([a])) as DmaFenceArray;
      expect(arr.isSignaled()).toBe(true);
      yield* arr.put();
    });
    sim.runAll();
    expect(sim.teardown()).toEqual([]);
  });
});
