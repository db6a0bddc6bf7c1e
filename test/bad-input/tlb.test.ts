import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, GpuTlb, Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("bad input: GpuTlb", () => {
  it("new GpuTlb(): bad options name the argument; nothing is made", () => {
    const sim = new Sim();
    expectThrows(() => new GpuTlb(sim, null as never), ArgumentError, "options");
    expectThrows(() => new GpuTlb(sim, { entrys: 4 } as never), ArgumentError, "entrys");
    expectThrows(() => new GpuTlb(sim, { entries: -1 }), ArgumentRangeError, "entries");
    expectThrows(() => new GpuTlb(sim, { name: null as never }), ArgumentError, "name");
    expect(sim.liveObjects()).toEqual([]);
  });

  it("fill() and lookup(): a bad va or pte names it; the cache is unchanged", () => {
    const sim = collectingSim();
    const tlb = new GpuTlb(sim);
    sim.run(function* () {
      tlb.fill(0, { pfn: 1, write: true, size: 4096 });
      expectThrows(() => { tlb.fill(-1, { pfn: 1, write: true, size: 4096 }); }, ArgumentRangeError, "va");
      expectThrows(() => { tlb.fill(2 ** 48, { pfn: 1, write: true, size: 4096 }); }, ArgumentRangeError, "va");
      expectThrows(() => { tlb.fill(0, null as never); }, ArgumentError, "pte");
      expectThrows(() => { tlb.fill(0, { pfn: -2, write: true, size: 4096 }); }, ArgumentRangeError, "pte.pfn");
      expectThrows(() => { tlb.fill(0, { pfn: 2, write: "yes" as never, size: 4096 }); }, ArgumentError, "pte.write");
      expectThrows(() => { tlb.fill(0, { pfn: 2, write: true, size: 8192 }); }, ArgumentError, "pte.size");
      expectThrows(() => { tlb.fill(0, { pfn: 2, write: true } as never); }, ArgumentError, "pte.size");
      expectThrows(() => { tlb.fill(0, { pfn: 2, write: true, size: 4096, read: true } as never); }, ArgumentError, "pte.read");
      expectThrows(() => tlb.lookup("0" as never), ArgumentError, "va");
      expect(tlb.lookup(0)).toEqual({ pfn: 1, write: true, size: 4096 });
      yield* tlb.invalidateAll();
    });
  });

  it("invalidate(): a bad va or range names it at the call; nothing is invalidated", () => {
    const sim = collectingSim();
    const tlb = new GpuTlb(sim);
    sim.run(function* () {
      tlb.fill(0, { pfn: 1, write: true, size: 4096 });
      expectThrows(() => tlb.invalidate(-1, 0x1000), ArgumentRangeError, "va");
      expectThrows(() => tlb.invalidate(0, 1.5), ArgumentRangeError, "range");
      expectThrows(() => tlb.invalidate(0, null as never), ArgumentError, "range");
      expectThrows(() => tlb.invalidate(2 ** 47, 2 ** 47 + 1), ArgumentRangeError, "range");
      expect(tlb.size).toBe(1);
    });
  });
});
