/**
 * docs/device-iommu.md: the stale IOTLB and TLB windows. A device keeps
 * reaching a frame the driver unmapped until the IOTLB is flushed, and the
 * engine keeps using a translation whose PTE is gone until the TLB is
 * invalidated.
 * Run it with `npx tsx examples/device-iommu.ts`.
 */
import { GpuTlb, Iommu, Sim } from "../src/index.js";

export function main(): string {
  const sim = new Sim();
  const iommu = new Iommu(sim, { name: "iommu0" });
  const dom = iommu.domainAlloc("gpu0");
  const tlb = new GpuTlb(sim, { name: "gpu0-tlb" });
  const lines: string[] = [];
  const show = (what: string, t: unknown): void => {
    lines.push(`${what}: ${JSON.stringify(t)}`);
  };
  sim.run(function* () {
    // Map one 4 KiB page at IOVA 0x100000 to frame 42, readable and writable.
    yield* dom.map(0x100000, 42, 0x1000, { read: true, write: true });
    show("first access", dom.translate(0x100000, "write")); // a table walk fills the IOTLB
    lines.push(`unmapped ${yield* dom.unmap(0x100000, 0x1000)} bytes`);
    show("before the flush", dom.translate(0x100000, "write")); // the stale entry still hits frame 42
    yield* dom.flushIotlb(0x100000, 0x1000);
    show("after the flush", dom.translate(0x100000, "write")); // an IOMMU fault

    // The GPU TLB: filled after a page-table walk, kept until invalidated.
    tlb.fill(0x40000000, { pfn: 512, write: true, size: 2097152 });
    // ... the driver clears the 2 MiB PTE here but forgets to invalidate ...
    show("TLB before invalidate", tlb.lookup(0x40001000) ?? "miss");
    yield* tlb.invalidate(0x40000000, 0x200000);
    show("TLB after invalidate", tlb.lookup(0x40001000) ?? "miss");
  });
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("device-iommu.ts") === true) console.log(main());
