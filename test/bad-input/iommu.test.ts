import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, GFP_KERNEL, Iommu, PhysMem, Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

const RW = { read: true, write: true };

describe("bad input: Iommu / IommuDomain", () => {
  it("new Iommu(): bad options name the argument; nothing is made", () => {
    const sim = new Sim();
    expectThrows(() => new Iommu(sim, null as never), ArgumentError, "options");
    expectThrows(() => new Iommu(sim, { iotlbEntrys: 4 } as never), ArgumentError, "iotlbEntrys");
    expectThrows(() => new Iommu(sim, { iotlbEntries: 0 }), ArgumentRangeError, "iotlbEntries");
    expectThrows(() => new Iommu(sim, { iotlbEntries: "4" as never }), ArgumentError, "iotlbEntries");
    expectThrows(() => new Iommu(sim, { name: 3 as never }), ArgumentError, "name");
    expectThrows(() => new Iommu(null as never), ArgumentError, "sim");
    expectThrows(() => new Iommu(sim).domainAlloc(5 as never), ArgumentError, "name");
    expect(sim.liveObjects()).toEqual([]);
  });

  it("map(): bad iova, pfn, size or prot name the argument at the call; the domain is unchanged", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    sim.run(function* () {
      yield* dom.map(0, 1, 0x1000, RW);
      expectThrows(() => dom.map("0" as never, 1, 0x1000, RW), ArgumentError, "iova");
      expectThrows(() => dom.map(0x1001, 1, 0x1000, RW), ArgumentRangeError, "iova");
      expectThrows(() => dom.map(-4096, 1, 0x1000, RW), ArgumentRangeError, "iova");
      expectThrows(() => dom.map(0x1000, -1, 0x1000, RW), ArgumentRangeError, "pfn");
      expectThrows(() => dom.map(0x1000, 1.5, 0x1000, RW), ArgumentRangeError, "pfn");
      expectThrows(() => dom.map(0x1000, 1, 0x800, RW), ArgumentRangeError, "size");
      expectThrows(() => dom.map(2 ** 48 - 0x1000, 1, 0x2000, RW), ArgumentRangeError, "size");
      expectThrows(() => dom.map(0x1000, 1, 0x1000, null as never), ArgumentError, "prot");
      expectThrows(() => dom.map(0x1000, 1, 0x1000, { read: true } as never), ArgumentError, "prot.write");
      expectThrows(() => dom.map(0x1000, 1, 0x1000, { read: 1, write: true } as never), ArgumentError, "prot.read");
      expectThrows(() => dom.map(0x1000, 1, 0x1000, { read: true, write: true, exec: true } as never), ArgumentError, "prot.exec");
      expectThrows(() => dom.map(0x1000, 1, 0x1000, RW, "GFP_USER" as never), ArgumentError, "gfp");
      expectThrows(() => dom.map(0x1000, 1, 0x1000, RW, 0 as never), ArgumentError, "gfp");
      expectThrows(() => dom.map(0x1000, 1, 0x1000, RW, null as never), ArgumentError, "gfp");
      expect(dom.translate(0x1000, "read")).toEqual({ fault: "unmapped" });
    });
    expect(dom.mappedBytes).toBe(0x1000);
  });

  it("map() over a mapped page is an ArgumentError naming 'iova' in the task (-EEXIST); nothing is mapped or charged", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    let caught: unknown;
    sim.run(function* () {
      yield* dom.map(0x2000, 1, 0x1000, RW);
      try {
        yield* dom.map(0x1000, 7, 0x3000, RW);
      } catch (e) {
        caught = e;
      }
      expect([dom.translate(0x1000, "read"), dom.translate(0x2000, "read"), dom.translate(0x3000, "read")]).toEqual([
        { fault: "unmapped" },
        { pfn: 1, via: "table", gen: -1 },
        { fault: "unmapped" },
      ]);
    });
    expect(caught).toBeInstanceOf(ArgumentError);
    expect((caught as ArgumentError).argument).toBe("iova");
    expect(dom.mappedBytes).toBe(0x1000);
  });

  it("unmap(), flushIotlb() and translate(): bad arguments name themselves; the table and the IOTLB are unchanged", () => {
    const sim = collectingSim();
    const iommu = new Iommu(sim);
    const dom = iommu.domainAlloc();
    sim.run(function* () {
      yield* dom.map(0, 3, 0x1000, RW);
      dom.translate(0, "read");
      expectThrows(() => dom.unmap(0x10, 0x1000), ArgumentRangeError, "iova");
      expectThrows(() => dom.unmap(0, 0x10), ArgumentRangeError, "size");
      expectThrows(() => dom.unmap(0, undefined as never), ArgumentError, "size");
      expectThrows(() => dom.flushIotlb(0), ArgumentError, "size");
      expectThrows(() => dom.flushIotlb(undefined, 0x1000), ArgumentError, "iova");
      expectThrows(() => dom.flushIotlb(-1, 0x1000), ArgumentRangeError, "iova");
      expectThrows(() => dom.translate(2 ** 48, "read"), ArgumentRangeError, "iova");
      expectThrows(() => dom.translate(NaN, "read"), ArgumentRangeError, "iova");
      expectThrows(() => dom.translate(0, "exec" as never), ArgumentError, "access");
      expect(dom.translate(0, "write")).toEqual({ pfn: 3, via: "iotlb", gen: -1 });
    });
    expect([dom.mappedBytes, iommu.iotlbSize]).toEqual([0x1000, 1]);
  });

  it("new Iommu({ mem }): mem must be a PhysMem of this Sim; map() frames must be frames of it", () => {
    const sim = collectingSim();
    expectThrows(() => new Iommu(sim, { mem: {} as never }), ArgumentError, "mem");
    expectThrows(() => new Iommu(sim, { mem: new PhysMem(new Sim(), { pages: 4 }) }), ArgumentError, "mem");
    const mem = new PhysMem(sim, { pages: 4 });
    const dom = new Iommu(sim, { mem }).domainAlloc();
    sim.run(function* () {
      yield* mem.allocPage({ label: "x" }, GFP_KERNEL);
      expectThrows(() => dom.map(0, 3, 0x2000, RW), ArgumentRangeError, "pfn");
      expectThrows(() => dom.map(0, 4, 0x1000, RW), ArgumentRangeError, "pfn");
    });
    expect([dom.mappedBytes, mem.mapCount(3), mem.mapCount(0)]).toEqual([0, 0, 0]);
  });

  it("iovaAlloc() / iovaFree(): bad sizes and addresses name the argument at the call; nothing is allocated or freed", () => {
    const sim = collectingSim();
    const dom = new Iommu(sim).domainAlloc();
    sim.run(function* () {
      yield* dom.iovaAlloc(0x1000);
      expectThrows(() => dom.iovaAlloc("4096" as never), ArgumentError, "size");
      expectThrows(() => dom.iovaAlloc(0), ArgumentRangeError, "size");
      expectThrows(() => dom.iovaAlloc(-4096), ArgumentRangeError, "size");
      expectThrows(() => dom.iovaAlloc(0x1800), ArgumentRangeError, "size");
      expectThrows(() => dom.iovaAlloc(2 ** 48), ArgumentRangeError, "size");
      expectThrows(() => dom.iovaFree(0x1000, 0), ArgumentRangeError, "size");
      expectThrows(() => dom.iovaFree(0x1001, 0x1000), ArgumentRangeError, "iova");
      expectThrows(() => dom.iovaFree(0x1000, 0x800), ArgumentRangeError, "size");
      expectThrows(() => dom.iovaFree(null as never, 0x1000), ArgumentError, "iova");
      expectThrows(() => dom.iovaFree(2 ** 48, 0x1000), ArgumentRangeError, "size");
    });
    expect(dom.iovaBytes).toBe(0x1000);
  });
});
