/**
 * docs/device.md: a PhysMem of 64 frames, a GPU page table mapping a
 * buffer's frames in 4 KiB, 64 KiB and 2 MiB pages, a map that runs out of
 * table pages and rolls back, and a frame freed while a PTE still maps it.
 * Run it with `npx tsx examples/device-page-table.ts`.
 */
import { configureMemory, GFP_KERNEL, GpuPageTable, PhysMem, Sim } from "../src/index.js";

export function main(): string {
  const sim = new Sim({ onReport: "collect" });
  // Five pages may be charged: the buffer's frame and four table pages.
  configureMemory(sim, { limitPages: 5 });
  const mem = new PhysMem(sim, { name: "ram", pages: 1024 });
  const pt = new GpuPageTable(sim, mem, { name: "vm0" });
  const bo = { label: "bo0 backing store" };
  const rw = { read: true, write: true };
  const lines: string[] = [];
  sim.run(function* () {
    // A frame for the buffer, mapped at 0x100000 (tables: root, levels 1 to 3).
    const pfn = (yield* mem.allocPage(bo, GFP_KERNEL)) as number;
    lines.push(`map 4 KiB: ${yield* pt.map(0x10_0000, pfn, 4096, rw)}, ${pt.tablePages} table pages`);
    // 64 KiB (16 contiguous entries) and 2 MiB (a level-2 block) pages.
    lines.push(`map 64 KiB: ${yield* pt.map(0x11_0000, 16, 65536, { read: true, write: false })}`);
    lines.push(`map 2 MiB: ${yield* pt.map(0x40_0000, 512, 2097152, rw)}`);
    const p = pt.walk(0x11_8000);
    lines.push(`walk 0x118000: pfn ${p?.pfn}, ${p?.size} bytes, write ${p?.write}`);
    // The limit is reached: a map needing two new tables gets "nomem" and changes nothing.
    lines.push(`map at 1 GiB: ${yield* pt.map(2 ** 30, 20, 4096, rw)}, ${pt.tablePages} table pages`);
    // Freeing the buffer's frame before clearing its PTE is a report.
    yield* mem.freePage(pfn);
    yield* pt.unmap(0x10_0000, 0x20_0000, { freeTables: true });
  });
  lines.push(`reports: ${sim.reports.map((r) => r.kind).join(", ")}`);
  lines.push(`after unmap: ${pt.tablePages} table pages, 0x100000 ${pt.walk(0x10_0000) === null ? "unmapped" : "mapped"}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("device-page-table.ts") === true) console.log(main());
