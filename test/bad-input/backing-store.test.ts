import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, GemBackingStore, GemObject, Iommu, PhysMem, Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("bad input: GemBackingStore", () => {
  it("new GemBackingStore(): bad options name the argument; nothing is made", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 8 });
    const gem = new GemObject(sim, { name: "bo", size: 4096 });
    const plainDom = new Iommu(sim).domainAlloc();
    const other = new Sim();
    const before = sim.liveObjects().length;
    expectThrows(() => new GemBackingStore(sim, null as never), ArgumentError, "options");
    expectThrows(() => new GemBackingStore(sim, { gem, mem, procss: "p" } as never), ArgumentError, "procss");
    expectThrows(() => new GemBackingStore(sim, { mem } as never), ArgumentError, "gem");
    expectThrows(() => new GemBackingStore(sim, { gem } as never), ArgumentError, "mem");
    expectThrows(() => new GemBackingStore(sim, { gem: {} as never, mem }), ArgumentError, "gem");
    expectThrows(() => new GemBackingStore(sim, { gem, mem: 3 as never }), ArgumentError, "mem");
    expectThrows(() => new GemBackingStore(sim, { gem, mem, iommu: {} as never }), ArgumentError, "iommu");
    expectThrows(() => new GemBackingStore(sim, { gem, mem, iommu: plainDom }), ArgumentError, "iommu");
    expectThrows(() => new GemBackingStore(sim, { gem, mem, process: 7 as never }), ArgumentError, "process");
    expectThrows(() => new GemBackingStore(sim, { gem: new GemObject(other, { size: 4096 }), mem }), ArgumentError, "gem");
    expectThrows(() => new GemBackingStore(sim, { gem, mem: new PhysMem(other, { pages: 1 }) }), ArgumentError, "mem");
    expectThrows(() => new GemBackingStore(null as never, { gem, mem }), ArgumentError, "sim");
    expect(sim.liveObjects().length).toBe(before);
  });

  it("populate(), dmaPage() and release(): bad arguments name themselves; the store is unchanged", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 8 });
    const gem = new GemObject(sim, { name: "bo", size: 2 * 4096 });
    const store = new GemBackingStore(sim, { gem, mem });
    sim.run(function* () {
      expectThrows(() => store.populate("GFP_SOMETIMES" as never), ArgumentError, "gfp");
      expectThrows(() => store.dmaPage(0), ArgumentRangeError, "index"); // not populated: no pages
      yield* store.populate();
      expectThrows(() => store.dmaPage("0" as never), ArgumentError, "index");
      expectThrows(() => store.dmaPage(-1), ArgumentRangeError, "index");
      expectThrows(() => store.dmaPage(1.5), ArgumentRangeError, "index");
      expectThrows(() => store.dmaPage(2), ArgumentRangeError, "index");
      expectThrows(() => store.release(null as never), ArgumentError, "zap");
      expectThrows(() => store.release("zap" as never), ArgumentError, "zap");
    });
    expect([store.populated, store.pages, mem.freePages]).toEqual([true, [0, 1], 6]);
    expect(sim.reports).toEqual([]);
  });
});
