import { describe, expect, it } from "vitest";
import { GpuTlb } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

describe("GpuTlb", () => {
  it("caches a filled translation for the whole page: 4 KiB, 64 KiB and 2 MiB entries, keyed by the page-aligned VA", () => {
    const sim = collectingSim();
    const tlb = new GpuTlb(sim, { name: "tlb0" });
    const seen: unknown[] = [];
    sim.run(function* () {
      tlb.fill(0x1234, { pfn: 5, write: true, size: 4096 });
      tlb.fill(0x10000 + 0x2345, { pfn: 16, write: false, size: 65536 });
      tlb.fill(0x400000 + 0x12345, { pfn: 512, write: true, size: 2097152 });
      seen.push(tlb.lookup(0x1fff), tlb.lookup(0x2000), tlb.lookup(0x1ffff), tlb.lookup(0x5fffff));
      yield* tlb.invalidateAll();
    });
    expect(seen).toEqual([{ pfn: 5, write: true, size: 4096 }, null, { pfn: 16, write: false, size: 65536 }, { pfn: 512, write: true, size: 2097152 }]);
    expect(tlb.size).toBe(0);
  });

  it("stale TLB window: a PTE change without invalidation leaves the old translation usable; invalidate(range) ends it", () => {
    const sim = collectingSim();
    const tlb = new GpuTlb(sim);
    // A stand-in for the page table: the TLB never reads it, which is the point.
    const pte = new Map<number, number>([[0x100000, 42]]);
    const seen: unknown[] = [];
    sim.run(function* () {
      tlb.fill(0x100000, { pfn: pte.get(0x100000) as number, write: true, size: 4096 }); // 1. engine walked and filled
      pte.delete(0x100000); // 2. the driver clears the PTE (and frees frame 42)
      seen.push(tlb.lookup(0x100000)); // 3. the engine still hits frame 42
      yield* tlb.invalidate(0x100000, 0x1000); // 4. invalidation
      seen.push(tlb.lookup(0x100000)); // 5. a miss: the engine must walk again
    });
    expect(seen).toEqual([{ pfn: 42, write: true, size: 4096 }, null]);
  });

  it("invalidate(range) drops every entry overlapping the range and keeps the rest; a range of 0 drops nothing", () => {
    const sim = collectingSim();
    const tlb = new GpuTlb(sim);
    sim.run(function* () {
      tlb.fill(0, { pfn: 0, write: true, size: 2097152 });
      tlb.fill(0x200000, { pfn: 1000, write: true, size: 4096 });
      tlb.fill(0x210000, { pfn: 2000, write: true, size: 65536 });
      yield* tlb.invalidate(0x1000, 0);
      expect(tlb.size).toBe(3);
      yield* tlb.invalidate(0x1ff000, 0x2000); // overlaps the 2 MiB entry and the 4 KiB one at 0x200000
      expect([tlb.lookup(0x1000), tlb.lookup(0x200000), tlb.lookup(0x21f000)]).toEqual([null, null, { pfn: 2000, write: true, size: 65536 }]);
    });
  });

  it("holds `entries` translations and evicts the oldest first; refilling a page replaces its entry", () => {
    const sim = collectingSim();
    const tlb = new GpuTlb(sim, { entries: 2 });
    sim.run(function* () {
      tlb.fill(0x0000, { pfn: 1, write: true, size: 4096 });
      tlb.fill(0x1000, { pfn: 2, write: true, size: 4096 });
      tlb.fill(0x1000, { pfn: 3, write: false, size: 4096 });
      tlb.fill(0x2000, { pfn: 4, write: true, size: 4096 });
      expect([tlb.lookup(0), tlb.lookup(0x1000), tlb.lookup(0x2000)]).toEqual([null, { pfn: 3, write: false, size: 4096 }, { pfn: 4, write: true, size: 4096 }]);
      yield* tlb.invalidateAll();
    });
  });
});
