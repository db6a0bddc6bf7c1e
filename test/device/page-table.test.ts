/** GpuPageTable (src/device/page-table.ts): map, walk, unmap, table pages from PhysMem, and the rollback of a half-failed map. */
import { describe, expect, it } from "vitest";
import { configureMemory, dmaFenceBeginSignalling, dmaFenceEndSignalling, GFP_KERNEL, memoryStats, PAGE_SIZE, Sim, type Effect } from "../../src/index.js";
import { PhysMem } from "../../src/device/phys-mem.js";
import { GpuPageTable, PtPrealloc } from "../../src/device/page-table.js";
import { collectingSim } from "../support/collecting-sim.js";
import { main as deviceExample } from "../../examples/device-page-table.js";
import { expectUnchangedOnFailure, forEachAllocationFailure } from "../support/alloc-failure.js";

const RW = { read: true, write: true };
const RO = { read: true, write: false };
const MiB2 = 2097152;

function world(pages = 4096): { sim: Sim; mem: PhysMem; pt: GpuPageTable } {
  const sim = collectingSim();
  const mem = new PhysMem(sim, { name: "ram", pages });
  const pt = new GpuPageTable(sim, mem, { name: "vm0" });
  return { sim, mem, pt };
}

function run(sim: Sim, body: () => Generator<Effect, void, unknown>): void {
  sim.spawn("t", "process", body);
  sim.runAll();
}

describe("GpuPageTable", () => {
  it("maps 4 KiB pages: walk finds each; four table pages (root to leaf) are allocated from PhysMem", () => {
    const { sim, mem, pt } = world();
    let result = "";
    run(sim, function* () {
      result = yield* pt.map(0x10_0000, 1000, 4096, RW, 3);
    });
    expect(result).toBe("ok");
    expect(pt.walk(0x10_0000)).toEqual({ pfn: 1000, read: true, write: true, size: 4096 });
    expect(pt.walk(0x10_2fff)).toEqual({ pfn: 1002, read: true, write: true, size: 4096 });
    expect(pt.walk(0x10_3000)).toBeNull();
    expect(pt.tablePages).toBe(4);
    expect(pt.tableBytes).toBe(4 * (4096 + 16));
    expect(mem.owner(0)).toBe(pt);
    expect(mem.mapCount(1001)).toBe(1);
    expect(mem.mappedBy(1001)).toBe(pt.label);
    expect(memoryStats(sim).usageBytes).toBe(4 * PAGE_SIZE);
    expect(sim.reports).toEqual([]);
  });

  it("maps 64 KiB pages as 16 contiguous entries and 2 MiB pages as level-2 blocks", () => {
    const { sim, mem, pt } = world();
    run(sim, function* () {
      expect(yield* pt.map(0x4_0000, 2048, 65536, RO)).toBe("ok");
      expect(yield* pt.map(MiB2 * 4, 512, MiB2, RW, 2)).toBe("ok");
    });
    expect(pt.walk(0x4_f000)).toEqual({ pfn: 2048, read: true, write: false, size: 65536 });
    expect(pt.walk(MiB2 * 5 + 0x1234)).toEqual({ pfn: 1024, read: true, write: true, size: MiB2 });
    expect(mem.mapCount(2048 + 15)).toBe(1);
    expect(mem.mapCount(1024 + 511)).toBe(1);
    // The 2 MiB blocks need no level-3 table: root, level 1, level 2 and the 64 KiB page's level 3.
    expect(pt.tablePages).toBe(4);
  });

  it("refuses to map over a mapped entry, changing nothing", () => {
    const { sim, pt } = world();
    const sim2 = sim;
    let error: unknown;
    run(sim2, function* () {
      yield* pt.map(MiB2, 0, MiB2, RW);
      try {
        yield* pt.map(MiB2 + 0x3000, 7, 4096, RW);
      } catch (e) {
        error = e;
      }
    });
    expect(error).toMatchObject({ name: "ArgumentError", argument: "va" });
    expect(pt.walk(MiB2 + 0x3000)).toEqual({ pfn: 0, read: true, write: true, size: MiB2 });
    expect(pt.tablePages).toBe(3);
  });

  it("unmap clears entries and their map counts; freeTables frees the empty tables (the root stays)", () => {
    const { sim, mem, pt } = world();
    const bytes: number[] = [];
    run(sim, function* () {
      yield* pt.map(0, 100, 4096, RW, 4);
      yield* pt.unmap(0x1000, 0x2000);
      bytes.push(pt.tablePages);
      yield* pt.unmap(0, 0x4000, { freeTables: true });
      bytes.push(pt.tablePages);
    });
    expect(bytes).toEqual([4, 1]);
    expect(pt.walk(0)).toBeNull();
    expect(mem.mapCount(100)).toBe(0);
    expect(mem.state(1)).toBe("free");
    expect(memoryStats(sim).usageBytes).toBe(PAGE_SIZE);
    expect(sim.reports).toEqual([]);
  });

  it("unmap that would split a 2 MiB page throws naming range, changing nothing", () => {
    const { sim, pt } = world();
    let error: unknown;
    run(sim, function* () {
      yield* pt.map(0, 0, MiB2, RW);
      try {
        yield* pt.unmap(0, 0x1000);
      } catch (e) {
        error = e;
      }
    });
    expect(error).toMatchObject({ name: "ArgumentError", argument: "range" });
    expect(pt.walk(0x1000)?.size).toBe(MiB2);
  });

  it("a 2 MiB map replaces an empty level-3 table left by an unmap without freeTables", () => {
    const { sim, mem, pt } = world();
    run(sim, function* () {
      yield* pt.map(0, 600, 4096, RW);
      yield* pt.unmap(0, 4096);
      expect(yield* pt.map(0, 1024, MiB2, RW)).toBe("ok");
    });
    expect(pt.walk(0)).toEqual({ pfn: 1024, read: true, write: true, size: MiB2 });
    expect(pt.tablePages).toBe(3);
    expect(mem.state(3)).toBe("free");
    expect(sim.reports).toEqual([]);
  });

  it("freeing a frame a PTE still maps is phys-page-still-mapped", () => {
    const { sim, mem, pt } = world();
    run(sim, function* () {
      const pfn = (yield* mem.allocPage({ label: "bo0" }, GFP_KERNEL)) as number;
      yield* pt.map(0, pfn, 4096, RW);
      yield* mem.freePage(pfn);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["phys-page-still-mapped"]);
    expect(sim.reports[0]).toMatchObject({ pfn: 0, owner: "bo0", mappedBy: pt.label });
  });

  it("a map that runs out of table pages half-way rolls back and returns nomem (every allocation failing in turn)", () => {
    const n = forEachAllocationFailure({
      setup: () => {
        const sim = new Sim({ onReport: "collect" });
        const mem = new PhysMem(sim, { pages: 64 });
        return { sim, world: { mem, pt: new GpuPageTable(sim, mem) } };
      },
      *body({ pt }) {
        // Crosses a 1 GiB boundary: root, one level-1, two level-2 and two level-3 tables.
        return yield* pt.map(2 ** 30 - 0x2000, 10, 4096, RW, 4);
      },
      snapshot: ({ mem, pt }, sim) => ({
        tables: pt.tablePages,
        free: mem.freePages,
        usage: memoryStats(sim).usageBytes,
        walk: [pt.walk(2 ** 30 - 0x2000), pt.walk(2 ** 30)],
        mapped: mem.mapCount(10),
      }),
      check: expectUnchangedOnFailure((r) => r === "ok"),
    });
    expect(n).toBe(6);
  });

  it("a half-failed map into a partly built table rolls back too (limit reached after the first table page)", () => {
    const { sim, mem, pt } = world(64);
    configureMemory(sim, { limitPages: 5 });
    let result = "";
    run(sim, function* () {
      expect(yield* pt.map(0, 10, 4096, RW)).toBe("ok"); // 4 tables
      result = yield* pt.map(2 ** 30, 11, 4096, RW, 1); // needs a level-2 and a level-3 table: the second fails
    });
    expect(result).toBe("nomem");
    expect(pt.tablePages).toBe(4);
    expect(mem.freePages).toBe(60);
    expect(pt.walk(2 ** 30)).toBeNull();
    expect(sim.reports).toEqual([]);
  });
});

describe("docs/device.md example", () => {
  it("maps in three page sizes, rolls back a map out of memory, reports the frame freed while mapped", () => {
    expect(deviceExample()).toBe(
      [
        "map 4 KiB: ok, 4 table pages",
        "map 64 KiB: ok",
        "map 2 MiB: ok",
        "walk 0x118000: pfn 16, 65536 bytes, write false",
        "map at 1 GiB: nomem, 4 table pages",
        "reports: phys-page-still-mapped",
        "after unmap: 3 table pages, 0x100000 unmapped",
      ].join("\n"),
    );
  });
});

describe("GpuPageTable addressing, mapPages and preallocation", () => {
  const RW = { read: true, write: true };
  const BO = { label: "bo0 backing store" };

  it("physical mode counts every mapped 4 KiB frame on the PhysMem and unmap drops the count; mapPages maps scattered frames", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 32 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    const seen: number[][] = [];
    sim.run(function* () {
      const a = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      const b = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      expect(yield* pt.mapPages(0x20000, [b, a], RW)).toBe("ok");
      seen.push([mem.mapCount(a), mem.mapCount(b), pt.walk(0x20000)?.pfn ?? -1, pt.walk(0x21000)?.pfn ?? -1]);
      yield* pt.unmap(0x20000, 0x2000);
      seen.push([mem.mapCount(a), mem.mapCount(b)]);
      yield* mem.freePage(a);
      yield* mem.freePage(b);
      expect(mem.mappedBy(a)).toBe(pt.label);
      seen.push([b, a]);
    });
    expect(seen[0]).toEqual([1, 1, seen[2]?.[0], seen[2]?.[1]]);
    expect(seen[1]).toEqual([0, 0]);
    expect(sim.reports).toEqual([]);
  });

  it("freeing a frame still mapped by a mapPages PTE files phys-page-still-mapped", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 32 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    sim.run(function* () {
      const a = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      yield* pt.mapPages(0x20000, [a], RW);
      yield* mem.freePage(a);
    });
    expect(sim.reports).toHaveLength(1);
    expect(sim.reports[0]).toMatchObject({ kind: "phys-page-still-mapped", mapCount: 1, mappedBy: pt.label });
  });

  it("iova mode holds IOVA page numbers beyond the PhysMem and does no accounting", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 32 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0", addresses: "iova" });
    sim.run(function* () {
      expect(yield* pt.map(0x20000, 0x100000, 4096, RW)).toBe("ok");
      expect(yield* pt.mapPages(0x40000, [3, 5], RW)).toBe("ok");
      expect(mem.mapCount(3)).toBe(0);
      expect(pt.walk(0x20000)?.pfn).toBe(0x100000);
      yield* pt.unmap(0x20000, 0x40000);
    });
    expect(sim.reports).toEqual([]);
    expect(pt.addresses).toBe("iova");
  });

  it("a map with a preallocated pool inside a signalling section allocates nothing; release frees the leftovers", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 32 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    let left = -1;
    sim.run(function* () {
      const a = (yield* mem.allocPage(BO, GFP_KERNEL)) as number;
      const need = pt.tablesNeeded(0x20000, 4096, 4096);
      expect(need).toBe(4);
      const pool = (yield* pt.prealloc(need + 2)) as PtPrealloc;
      const free = mem.freePages;
      const cookie = dmaFenceBeginSignalling();
      expect(yield* pt.map(0x20000, a, 4096, RW, 1, { prealloc: pool })).toBe("ok");
      dmaFenceEndSignalling(cookie);
      expect(mem.freePages).toBe(free);
      left = pool.remaining;
      yield* pool.release();
      expect(pool.remaining).toBe(0);
      expect(mem.freePages).toBe(free + 2);
      yield* pt.unmap(0x20000, 4096);
      yield* mem.freePage(a);
    });
    expect(left).toBe(2);
    expect(sim.reports).toEqual([]);
  });

  it("without a pool, the same map in a signalling section is reported by the allocation-in-signalling check", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 32 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    sim.run(function* () {
      const cookie = dmaFenceBeginSignalling();
      yield* pt.map(0x20000, 1, 4096, RW);
      dmaFenceEndSignalling(cookie);
    });
    expect(sim.reports.map((r) => r.kind)).toContain("lock-order-cycle");
  });

  it("a pool that runs short is pt-prealloc-short: the map returns nomem and changes nothing", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 32 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    let result = "";
    sim.run(function* () {
      const pool = (yield* pt.prealloc(2)) as PtPrealloc;
      result = yield* pt.map(0x20000, 1, 4096, RW, 1, { prealloc: pool });
      expect(pool.remaining).toBe(2);
      expect(pt.tablePages).toBe(0);
      yield* pool.release();
    });
    expect(result).toBe("nomem");
    expect(sim.reports).toHaveLength(1);
    expect(sim.reports[0]).toMatchObject({ kind: "pt-prealloc-short", needed: 4, remaining: 2, va: 0x20000 });
    expect(pt.walk(0x20000)).toBeNull();
  });
});
