import { describe, expect, it } from "vitest";
import { configureMemory, Mm, MmuIntervalNotifier, PhysMem, SpinLock, USER_VA_BASE, type MmuNotifierRange } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

const PAGE = 4096;

describe("Mm", () => {
  it("mmap: pages allocated now, owned by `<process> anon`; the VA layout is a bump allocator with a guard page", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 8 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const addrs: unknown[] = [];
    sim.run(function* () {
      addrs.push(yield* mm.mmap(2 * PAGE), yield* mm.mmap(PAGE));
    });
    expect(addrs).toEqual([USER_VA_BASE, USER_VA_BASE + 3 * PAGE]);
    const pfns = mm.pfns(USER_VA_BASE, 2 * PAGE);
    expect(pfns).toHaveLength(2);
    for (const p of pfns) expect(mem.owner(p)).toEqual({ label: "p1 anon", process: "p1" });
    expect(mm.isMapped(USER_VA_BASE, 3 * PAGE)).toBe(false); // the guard page
    expect(mem.freePages).toBe(5);
    expect(mm.label).toBe('Mm#2 "p1"');
    expect(sim.reports).toEqual([]);
  });

  it("munmap frees the pages of the range; a hole in the range is skipped; a partial munmap keeps the rest", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 8 });
    const mm = new Mm(sim, mem, { process: "p1" });
    sim.run(function* () {
      const a = (yield* mm.mmap(3 * PAGE)) as number;
      yield* mm.munmap(a + PAGE, PAGE);
      expect([mm.isMapped(a, PAGE), mm.isMapped(a + PAGE, PAGE), mm.isMapped(a + 2 * PAGE, PAGE)]).toEqual([true, false, true]);
      yield* mm.munmap(a, 8 * PAGE);
    });
    expect(mem.freePages).toBe(8);
    expect(sim.reports).toEqual([]);
  });

  it("mmap out of memory returns nomem and gives back what it had allocated", () => {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 2 });
    const mem = new PhysMem(sim, { pages: 8 });
    const mm = new Mm(sim, mem, { process: "p1" });
    let got: unknown;
    sim.run(function* () {
      got = yield* mm.mmap(3 * PAGE);
    });
    expect(got).toBe("nomem");
    expect(mem.freePages).toBe(8);
    expect(sim.reports).toEqual([]);
  });

  it("reclaim without notifiers frees like munmap and returns true", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    let ok: unknown;
    sim.run(function* () {
      const a = (yield* mm.mmap(2 * PAGE)) as number;
      ok = yield* mm.reclaim(a, 2 * PAGE);
    });
    expect(ok).toBe(true);
    expect(mem.freePages).toBe(4);
  });

  it("callbacks see the range, blockable and event: munmap is (true, unmap), reclaim is (false, clear); only overlapping notifiers run", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 8 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const seen: string[] = [];
    const ops = (name: string) => ({
      invalidate: (n: MmuIntervalNotifier, r: MmuNotifierRange, cur: number) => {
        n.setSeq(cur);
        seen.push(`${name} ${r.start - USER_VA_BASE} ${r.length} ${r.blockable} ${r.event}`);
        return true;
      },
    });
    sim.run(function* () {
      const a = (yield* mm.mmap(4 * PAGE)) as number;
      yield* MmuIntervalNotifier.insert(mm, a, 2 * PAGE, ops("lo"));
      yield* MmuIntervalNotifier.insert(mm, a + 2 * PAGE, 2 * PAGE, ops("hi"));
      yield* mm.munmap(a, PAGE);
      yield* mm.reclaim(a + 3 * PAGE, PAGE);
    });
    expect(seen).toEqual(["lo 0 4096 true unmap", "hi 12288 4096 false clear"]);
  });

  it("munmap under a spinlock is sleep-in-atomic (it may sleep in the callbacks)", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const s = new SpinLock(sim, "s");
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      yield* s.lock();
      yield* mm.munmap(a, PAGE);
      yield* s.unlock();
    });
    expect(sim.reports[0]).toMatchObject({ kind: "sleep-in-atomic", op: "mmu_notifier_invalidate_range_start", reason: "spinlock" });
  });
});
