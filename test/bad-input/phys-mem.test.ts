import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, GFP_KERNEL, memoryStats, Sim } from "../../src/index.js";
import { MAX_PAGES, PhysMem } from "../../src/device/phys-mem.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

const owner = { label: "bo0" };

describe("bad input: PhysMem", () => {
  it("new PhysMem(): bad sim, options, pages or name name the argument; nothing is made", () => {
    const sim = new Sim();
    const before = nextId(sim);
    expectThrows(() => new PhysMem(null as never, { pages: 1 }), ArgumentError, "sim");
    expectThrows(() => new PhysMem(sim, undefined as never), ArgumentError, "options");
    expectThrows(() => new PhysMem(sim, null as never), ArgumentError, "options");
    expectThrows(() => new PhysMem(sim, {} as never), ArgumentError, "pages");
    expectThrows(() => new PhysMem(sim, { pages: 0 }), ArgumentRangeError, "pages");
    expectThrows(() => new PhysMem(sim, { pages: 1.5 }), ArgumentRangeError, "pages");
    expectThrows(() => new PhysMem(sim, { pages: MAX_PAGES + 1 }), ArgumentRangeError, "pages");
    expectThrows(() => new PhysMem(sim, { pages: 1, name: 3 } as never), ArgumentError, "name");
    expectThrows(() => new PhysMem(sim, { pages: 1, size: 3 } as never), ArgumentError, "size");
    expect(nextId(sim)).toBe(before + 1);
  });

  it("allocPage(): a bad owner, gfp or options names it; nothing is allocated or charged", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 2 });
    sim.run(function* () {
      expectThrows(() => mem.allocPage(null as never, GFP_KERNEL), ArgumentError, "owner");
      expectThrows(() => mem.allocPage({ name: "x" } as never, GFP_KERNEL), ArgumentError, "owner");
      expectThrows(() => mem.allocPage({ label: "x", process: 7 } as never, GFP_KERNEL), ArgumentError, "owner");
      expectThrows(() => mem.allocPage(owner, "GFP_SOMETIMES" as never), ArgumentError, "gfp");
      expectThrows(() => mem.allocPage(owner, GFP_KERNEL, null as never), ArgumentError, "options");
      expectThrows(() => mem.allocPage(owner, GFP_KERNEL, { site: "" }), ArgumentError, "site");
      expectThrows(() => mem.allocPage(owner, GFP_KERNEL, { sight: "a" } as never), ArgumentError, "sight");
      yield* mem.pin(0);
    });
    expect([mem.freePages, memoryStats(sim).usageBytes, mem.state(0)]).toEqual([2, 0, "free"]);
  });

  it("pfn arguments: not a number is an ArgumentError; not an integer or outside the machine an ArgumentRangeError, naming 'pfn'; nothing changes", () => {
    const sim = new Sim();
    const mem = new PhysMem(sim, { pages: 2 });
    for (const call of [(p: number) => mem.freePage(p), (p: number) => mem.pin(p), (p: number) => mem.unpin(p), (p: number) => mem.markDirty(p), (p: number) => mem.state(p), (p: number) => mem.owner(p), (p: number) => mem.freedBy(p), (p: number) => mem.mapCount(p), (p: number) => mem.mappedBy(p), (p: number) => mem.isPinned(p), (p: number) => mem.isDirty(p), (p: number) => mem.pinCount(p)]) {
      expectThrows(() => call("1" as never), ArgumentError, "pfn");
      expectThrows(() => call(0.5), ArgumentRangeError, "pfn");
      expectThrows(() => call(-1), ArgumentRangeError, "pfn");
      expectThrows(() => call(2), ArgumentRangeError, "pfn");
    }
    expect([mem.freePages, mem.isPinned(0), mem.isDirty(1)]).toEqual([2, false, false]);
  });
});
