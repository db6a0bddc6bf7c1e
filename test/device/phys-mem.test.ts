/** PhysMem (src/device/phys-mem.ts): frames through the memory model, owners, flags, map counts, and its reports. */
import { describe, expect, it } from "vitest";
import { configureMemory, GFP_KERNEL, GFP_NOWAIT, memoryStats, PAGE_SIZE, type Report } from "../../src/index.js";
import { PhysMem } from "../../src/device/phys-mem.js";
import { collectingSim } from "../support/collecting-sim.js";

const owner = { label: "bo0 backing store" };

describe("PhysMem", () => {
  it("allocates the lowest free frame, charges a page, and gives both back at free", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 4 });
    const got: (number | null)[] = [];
    sim.spawn("t", "process", function* () {
      got.push(yield* mem.allocPage(owner, GFP_KERNEL));
      got.push(yield* mem.allocPage(owner, GFP_KERNEL));
      expect(mem.state(0)).toBe("allocated");
      expect(mem.owner(1)).toBe(owner);
      expect(memoryStats(sim).usageBytes).toBe(2 * PAGE_SIZE);
      yield* mem.freePage(0);
    });
    sim.runAll();
    expect(got).toEqual([0, 1]);
    expect(mem.state(0)).toBe("free");
    expect(mem.owner(0)).toBeNull();
    expect(mem.freedBy(0)).toMatchObject({ task: "t/1", op: "__free_page" });
    expect(mem.freedBy(1)).toBeNull();
    expect(mem.freePages).toBe(3);
    expect(memoryStats(sim).usageBytes).toBe(PAGE_SIZE);
    expect(sim.reports).toEqual([]);
  });

  it("counts each frame's allocations: a frame freed and handed out again has a new generation", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 2 });
    const other = { label: "bo1 backing store", process: "p2" };
    const gens: number[] = [];
    sim.spawn("t", "process", function* () {
      gens.push(mem.generation(0));
      const a = (yield* mem.allocPage(owner, GFP_KERNEL)) as number;
      gens.push(mem.generation(a));
      yield* mem.freePage(a);
      gens.push(mem.generation(a));
      // The frame freed last is the next one handed out, to another owner.
      const b = (yield* mem.allocPage(other, GFP_KERNEL)) as number;
      expect(b).toBe(a);
      expect(mem.owner(b)).toBe(other);
      gens.push(mem.generation(b));
    });
    sim.runAll();
    expect(gens).toEqual([0, 1, 1, 2]);
    expect(sim.reports).toEqual([]);
  });

  it("fails (null) when the memory limit or the machine runs out, changing nothing", () => {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 1 });
    const mem = new PhysMem(sim, { pages: 8 });
    const got: (number | null)[] = [];
    sim.spawn("t", "process", function* () {
      got.push(yield* mem.allocPage(owner, GFP_NOWAIT));
      got.push(yield* mem.allocPage(owner, GFP_NOWAIT));
    });
    sim.runAll();
    expect(got).toEqual([0, null]);
    expect(mem.freePages).toBe(7);

    const sim2 = collectingSim();
    const small = new PhysMem(sim2, { pages: 1 });
    const got2: (number | null)[] = [];
    sim2.spawn("t", "process", function* () {
      got2.push(yield* small.allocPage(owner, GFP_KERNEL));
      got2.push(yield* small.allocPage(owner, GFP_KERNEL));
    });
    sim2.runAll();
    expect(got2).toEqual([0, null]);
    expect(memoryStats(sim2).usageBytes).toBe(PAGE_SIZE);
  });

  it("fault injection at the allocation's site fails it", () => {
    const sim = collectingSim();
    configureMemory(sim, { fault: { failSites: ["gem.populate"] } });
    const mem = new PhysMem(sim, { pages: 2 });
    let got: number | null = -1;
    sim.spawn("t", "process", function* () {
      got = yield* mem.allocPage(owner, GFP_KERNEL, { site: "gem.populate" });
    });
    sim.runAll();
    expect(got).toBeNull();
    expect(mem.state(0)).toBe("free");
  });

  it("pin, unpin and markDirty set flags; free clears them", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 2 });
    const seen: boolean[] = [];
    sim.spawn("t", "process", function* () {
      const pfn = (yield* mem.allocPage(owner, GFP_KERNEL)) as number;
      yield* mem.pin(pfn);
      yield* mem.markDirty(pfn);
      seen.push(mem.isPinned(pfn), mem.isDirty(pfn));
      yield* mem.unpin(pfn);
      seen.push(mem.isPinned(pfn), mem.isDirty(pfn));
      yield* mem.freePage(pfn);
      seen.push(mem.isDirty(pfn));
    });
    sim.runAll();
    expect(seen).toEqual([true, true, false, true, false]);
  });

  it("freeing a frame something still maps files phys-page-still-mapped and frees it anyway", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 2 });
    const mapper = { label: "GpuPageTable#9" };
    sim.spawn("t", "process", function* () {
      const pfn = (yield* mem.allocPage(owner, GFP_KERNEL)) as number;
      yield* mem.pin(pfn); // any step declaring the PhysMem may note a mapping
      mem.noteMapped(pfn, mapper);
      yield* mem.freePage(pfn);
    });
    sim.runAll();
    const r = sim.reports.find((x) => x.kind === "phys-page-still-mapped") as Extract<Report, { kind: "phys-page-still-mapped" }>;
    expect(r).toMatchObject({ pfn: 0, owner: "bo0 backing store", mapCount: 1, mappedBy: "GpuPageTable#9", freed: { task: "t/1" } });
    expect(mem.state(0)).toBe("free");
    expect(mem.mapCount(0)).toBe(1);
  });

  it("freeing a free frame files phys-page-double-free and changes nothing", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 2 });
    sim.spawn("t", "process", function* () {
      const pfn = (yield* mem.allocPage(owner, GFP_KERNEL)) as number;
      yield* mem.freePage(pfn);
      yield* mem.freePage(pfn);
    });
    sim.runAll();
    expect(sim.reports.map((r) => r.kind)).toEqual(["phys-page-double-free"]);
    expect(sim.reports[0]).toMatchObject({ pfn: 0, firstFree: { task: "t/1" }, secondFree: { task: "t/1" } });
    expect(mem.freePages).toBe(2);
    expect(memoryStats(sim).usageBytes).toBe(0);
  });

  it("pin is a count, as pin_user_pages(): pin twice, unpin once, still pinned", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 2 });
    const seen: (boolean | number)[] = [];
    sim.run(function* () {
      const pfn = (yield* mem.allocPage(owner, GFP_KERNEL)) as number;
      yield* mem.pin(pfn);
      yield* mem.pin(pfn);
      yield* mem.unpin(pfn);
      seen.push(mem.isPinned(pfn), mem.pinCount(pfn));
      yield* mem.unpin(pfn);
      seen.push(mem.isPinned(pfn), mem.pinCount(pfn));
    });
    expect(seen).toEqual([true, 1, false, 0]);
    expect(sim.reports).toEqual([]);
  });

  it("unpin with no pin left files phys-page-misuse (unpin-unpinned); nothing changes", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 2 });
    sim.run(function* () {
      const pfn = (yield* mem.allocPage(owner, GFP_KERNEL)) as number;
      yield* mem.unpin(pfn);
      yield* mem.pin(pfn);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["phys-page-misuse"]);
    expect(sim.reports[0]).toMatchObject({ problem: "unpin-unpinned", mem: 'PhysMem#1 "ram"', pfn: 0, site: { op: "unpin_user_page" }, freedBy: null });
    expect(mem.pinCount(0)).toBe(1);
  });

  it("pin, unpin or markDirty of a free frame files phys-page-misuse naming the free; nothing changes", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 2 });
    sim.run(function* () {
      const pfn = (yield* mem.allocPage(owner, GFP_KERNEL)) as number;
      yield* mem.freePage(pfn);
      yield* mem.pin(pfn);
      yield* mem.unpin(pfn);
      yield* mem.markDirty(pfn);
    });
    expect(sim.reports.map((r) => (r as Extract<Report, { kind: "phys-page-misuse" }>).problem)).toEqual(["pin-free", "unpin-free", "dirty-free"]);
    for (const r of sim.reports) expect(r).toMatchObject({ kind: "phys-page-misuse", pfn: 0, freedBy: { op: "__free_page" } });
    expect([mem.pinCount(0), mem.isDirty(0), mem.state(0)]).toEqual([0, false, "free"]);
  });
});
