/**
 * docs/device-gpu.md: a GPU with one job queue. A job writes a buffer
 * mapped in the GPU page table and signals its finished fence; a second job
 * faults on an unmapped VA and the driver's fault handler maps it; then the
 * driver clears a PTE and frees the frame without invalidating the TLB, and
 * the next job writes through the stale TLB entry: dma-use-after-free.
 * Run it with `npx tsx examples/device-gpu.ts`.
 */
import { GFP_KERNEL, Gpu, GpuPageTable, PhysMem, Sim, type PtPrealloc } from "../src/index.js";

export function main(): string {
  const sim = new Sim({ onReport: "collect" });
  const mem = new PhysMem(sim, { name: "ram", pages: 64 });
  const pt = new GpuPageTable(sim, mem, { name: "vm0" });
  const rw = { read: true, write: true };
  const bo = { label: "bo0 backing store", process: "p1" };
  // The fault handler maps a spare frame, with table pages preallocated:
  // it runs in the job's fence-signalling section, where it must not allocate.
  let spare = -1;
  let pool: PtPrealloc | null = null;
  const gpu = new Gpu(sim, {
    mem,
    *faultHandler(fault) {
      if (pool === null) return "fail";
      yield* pt.map(fault.va - (fault.va % 4096), spare, 4096, rw, 1, { prealloc: pool });
      return "retry";
    },
  });
  const lines: string[] = [];
  sim.run(function* () {
    const pfn = (yield* mem.allocPage(bo, GFP_KERNEL)) as number;
    spare = (yield* mem.allocPage(bo, GFP_KERNEL)) as number;
    pool = yield* pt.prealloc(pt.tablesNeeded(0x40_0000, 4096, 4096));
    yield* pt.map(0x10_0000, pfn, 4096, rw);
    // 1. A clean job: translated through the page table (a TLB miss, then a fill).
    const draw = yield* gpu.submit({ name: "draw", pageTable: pt, process: "p1", writes: [{ va: 0x10_0000, length: 4096 }] });
    yield* draw.finished.wait(false);
    lines.push(`draw: status ${draw.finished.getStatus()}`);
    // 2. A fault the handler resolves.
    const grow = yield* gpu.submit({ name: "grow", pageTable: pt, process: "p1", writes: [{ va: 0x40_0000, length: 64 }] });
    yield* grow.finished.wait(false);
    lines.push(`grow: status ${grow.finished.getStatus()}, 0x400000 -> pfn ${pt.walk(0x40_0000)?.pfn}`);
    // 3. BUG: the PTE is cleared and the frame freed, but the TLB is not invalidated.
    yield* pt.unmap(0x10_0000, 4096);
    yield* mem.freePage(pfn);
    const late = yield* gpu.submit({ name: "late", pageTable: pt, process: "p1", writes: [{ va: 0x10_0000, length: 4096 }] });
    yield* late.finished.wait(false);
    lines.push(`late: status ${late.finished.getStatus()}`);
    for (const j of [draw, grow, late]) yield* j.finished.put("submit");
  });
  lines.push(`reports: ${sim.reports.map((r) => r.kind).join(", ")}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("device-gpu.ts") === true) console.log(main());
