/**
 * docs/device-backing-store.md: a GEM object's backing store behind an
 * IOMMU. Populated, released in the right order (clean), then populated
 * again and released in a wrong order: the pages are freed while the IOMMU
 * still maps them, and PhysMem reports it.
 * Run it with `npx tsx examples/device-backing-store.ts`.
 */
import { GemBackingStore, GemObject, Iommu, PhysMem, Sim } from "../src/index.js";

export function main(): string {
  const sim = new Sim({ onReport: "collect" });
  const mem = new PhysMem(sim, { pages: 64, name: "ram" });
  // The IOMMU accounts its mappings on `mem`: freeing a frame it maps is a report.
  const dom = new Iommu(sim, { name: "iommu0", mem }).domainAlloc("gpu0");
  const gem = new GemObject(sim, { name: "bo0", size: 2 * 4096 });
  const store = new GemBackingStore(sim, { gem, mem, iommu: dom, process: "app" });
  const lines: string[] = [];
  sim.run(function* () {
    lines.push(`populate: ${yield* store.populate()}`);
    lines.push(`frames ${JSON.stringify(store.pages)} at IOVA 0x${(store.iova as number).toString(16)}; PTEs hold ${store.dmaPage(0)}, ${store.dmaPage(1)}`);
    // The right order: wait for the fences, zap the PTEs, unmap, flush the IOTLB, free.
    yield* store.release(function* () {
      lines.push("zap: clear the PTEs and invalidate the GPU TLB here");
      yield* [];
    });
    lines.push(`released: ${mem.freePages} frames free, ${dom.mappedBytes} bytes mapped, ${dom.iovaBytes} bytes of IOVA held`);

    // A wrong order: free the pages while the IOMMU still maps them.
    yield* store.populate();
    yield* store.freePages();
    yield* store.dmaUnmap();
    yield* store.flushIotlb();
  });
  for (const r of sim.reports) lines.push(`report: ${r.kind} pfn ${(r as { pfn?: number }).pfn}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("device-backing-store.ts") === true) console.log(main());
