import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, Sim } from "../../src/index.js";
import { PhysMem } from "../../src/device/phys-mem.js";
import { GpuPageTable } from "../../src/device/page-table.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

const RW = { read: true, write: true };

function world(): { sim: Sim; mem: PhysMem; pt: GpuPageTable } {
  const sim = collectingSim();
  const mem = new PhysMem(sim, { pages: 1024 });
  return { sim, mem, pt: new GpuPageTable(sim, mem) };
}

describe("bad input: GpuPageTable", () => {
  it("new GpuPageTable(): a bad mem, options, name or gfp names it; nothing is made", () => {
    const sim = new Sim();
    const mem = new PhysMem(sim, { pages: 4 });
    const otherMem = new PhysMem(new Sim(), { pages: 4 });
    const before = nextId(sim);
    expectThrows(() => new GpuPageTable(sim, null as never), ArgumentError, "mem");
    expectThrows(() => new GpuPageTable(sim, otherMem), ArgumentError, "mem");
    expectThrows(() => new GpuPageTable(sim, mem, null as never), ArgumentError, "options");
    expectThrows(() => new GpuPageTable(sim, mem, { gfp: "GFP_MAYBE" } as never), ArgumentError, "gfp");
    expectThrows(() => new GpuPageTable(sim, mem, { name: 1 } as never), ArgumentError, "name");
    expectThrows(() => new GpuPageTable(sim, mem, { levels: 5 } as never), ArgumentError, "levels");
    expect(nextId(sim)).toBe(before + 1);
  });

  it("map(): bad va, pfn, size, prot or count name the argument; nothing is allocated or mapped", () => {
    const { sim, mem, pt } = world();
    sim.run(function* () {
      expectThrows(() => pt.map("0" as never, 0, 4096, RW), ArgumentError, "va");
      expectThrows(() => pt.map(-4096, 0, 4096, RW), ArgumentRangeError, "va");
      expectThrows(() => pt.map(2 ** 48, 0, 4096, RW), ArgumentRangeError, "va");
      expectThrows(() => pt.map(0x800, 0, 4096, RW), ArgumentError, "va");
      expectThrows(() => pt.map(0x1000, 0, 65536, RW), ArgumentError, "va");
      expectThrows(() => pt.map(0, 1, 65536, RW), ArgumentError, "pfn");
      expectThrows(() => pt.map(0, 1.5, 4096, RW), ArgumentRangeError, "pfn");
      expectThrows(() => pt.map(0, 1024, 4096, RW), ArgumentRangeError, "pfn");
      expectThrows(() => pt.map(0, 1023, 4096, RW, 2), ArgumentRangeError, "pfn");
      expectThrows(() => pt.map(0, 0, 8192 as never, RW), ArgumentError, "size");
      expectThrows(() => pt.map(0, 0, 4096, null as never), ArgumentError, "prot");
      expectThrows(() => pt.map(0, 0, 4096, { read: true } as never), ArgumentError, "prot.write");
      expectThrows(() => pt.map(0, 0, 4096, { read: 1, write: true } as never), ArgumentError, "prot.read");
      expectThrows(() => pt.map(0, 0, 4096, { ...RW, exec: true } as never), ArgumentError, "prot.exec");
      expectThrows(() => pt.map(0, 0, 4096, RW, 0), ArgumentRangeError, "count");
      expectThrows(() => pt.map(2 ** 48 - 4096, 0, 4096, RW, 2), ArgumentRangeError, "count");
      yield* mem.pin(0);
    });
    expect([pt.tablePages, mem.freePages, pt.walk(0)]).toEqual([0, 1024, null]);
  });

  it("unmap(): bad va, range or options name the argument; nothing changes", () => {
    const { sim, mem, pt } = world();
    sim.run(function* () {
      yield* pt.map(0, 100, 4096, RW, 2);
      expectThrows(() => pt.unmap(0x10, 4096), ArgumentError, "va");
      expectThrows(() => pt.unmap(-1, 4096), ArgumentRangeError, "va");
      expectThrows(() => pt.unmap(0, 0), ArgumentRangeError, "range");
      expectThrows(() => pt.unmap(0, 100), ArgumentError, "range");
      expectThrows(() => pt.unmap(2 ** 48 - 4096, 8192), ArgumentRangeError, "range");
      expectThrows(() => pt.unmap(0, 4096, null as never), ArgumentError, "options");
      expectThrows(() => pt.unmap(0, 4096, { freeTables: 1 } as never), ArgumentError, "freeTables");
      expectThrows(() => pt.unmap(0, 4096, { free: true } as never), ArgumentError, "free");
    });
    expect([pt.tablePages, mem.mapCount(100), pt.walk(4096)?.pfn]).toEqual([4, 1, 101]);
  });

  it("walk(): a bad va names it", () => {
    const { pt } = world();
    expectThrows(() => pt.walk(null as never), ArgumentError, "va");
    expectThrows(() => pt.walk(2 ** 48), ArgumentRangeError, "va");
  });

  it("mapping over a mapped entry throws in the task naming 'va'; the table is unchanged", () => {
    const { sim, mem, pt } = world();
    let error: unknown;
    sim.run(function* () {
      yield* pt.map(0, 100, 4096, RW);
      try {
        yield* pt.map(0, 200, 4096, RW);
      } catch (e) {
        error = e;
      }
    });
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).argument).toBe("va");
    expect([pt.walk(0)?.pfn, mem.mapCount(200), pt.tablePages]).toEqual([100, 0, 4]);
  });
});
