import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, Mm, PhysMem, Sim, USER_VA_BASE, USER_VA_LIMIT } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

const PAGE = 4096;

describe("bad input: Mm", () => {
  it("new Mm(): bad sim, mem, options, process or name name the argument; nothing is made", () => {
    const sim = new Sim();
    const mem = new PhysMem(sim, { pages: 2 });
    const other = new PhysMem(new Sim(), { pages: 2 });
    const before = nextId(sim);
    expectThrows(() => new Mm(null as never, mem, { process: "p" }), ArgumentError, "sim");
    expectThrows(() => new Mm(sim, {} as never, { process: "p" }), ArgumentError, "mem");
    expectThrows(() => new Mm(sim, other, { process: "p" }), ArgumentError, "mem");
    expectThrows(() => new Mm(sim, mem, null as never), ArgumentError, "options");
    expectThrows(() => new Mm(sim, mem, {} as never), ArgumentError, "process");
    expectThrows(() => new Mm(sim, mem, { process: "" }), ArgumentError, "process");
    expectThrows(() => new Mm(sim, mem, { process: "p", name: 1 } as never), ArgumentError, "name");
    expectThrows(() => new Mm(sim, mem, { process: "p", pid: 1 } as never), ArgumentError, "pid");
    expect(nextId(sim)).toBe(before + 1);
  });

  it("mmap(), munmap(), reclaim(), pfns(), isMapped(): bad addresses and lengths name the argument; nothing changes", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      expectThrows(() => mm.mmap("1" as never), ArgumentError, "length");
      expectThrows(() => mm.mmap(0), ArgumentRangeError, "length");
      expectThrows(() => mm.mmap(100), ArgumentRangeError, "length");
      expectThrows(() => mm.mmap(USER_VA_LIMIT), ArgumentRangeError, "length");
      for (const call of [(x: number, l: number) => mm.munmap(x, l), (x: number, l: number) => mm.reclaim(x, l), (x: number, l: number) => mm.pfns(x, l), (x: number, l: number) => mm.isMapped(x, l)]) {
        expectThrows(() => call("a" as never, PAGE), ArgumentError, "addr");
        expectThrows(() => call(-PAGE, PAGE), ArgumentRangeError, "addr");
        expectThrows(() => call(a + 1, PAGE), ArgumentRangeError, "addr");
        expectThrows(() => call(a, 0), ArgumentRangeError, "length");
        expectThrows(() => call(a, 17), ArgumentRangeError, "length");
        expectThrows(() => call(USER_VA_LIMIT - PAGE, 2 * PAGE), ArgumentRangeError, "length");
      }
      // pfns() of a range with a page not mapped.
      expectThrows(() => mm.pfns(a, 2 * PAGE), ArgumentRangeError, "addr");
      yield* mm.mmap(PAGE);
    });
    expect([mem.freePages, mm.isMapped(USER_VA_BASE, PAGE), mm.isMapped(USER_VA_BASE + 2 * PAGE, PAGE)]).toEqual([2, true, true]);
    expect(sim.reports).toEqual([]);
  });
});
