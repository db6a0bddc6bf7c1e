/**
 * The GPU engine (issue 11): engine translations per second. Defined here
 * (BENCH-WORKLOADS.md has no entry for it): one job writes 64 MiB through
 * 4 KiB pages of a GPU page table (physical addressing, no IOMMU), with a
 * 16-entry TLB, so every page misses, walks the table, fills the TLB and
 * passes the DMA checks. The figure is pages translated per second of the
 * engine task's run (setup, the mapping, excluded). No target.
 */
import { Gpu, GpuPageTable, PhysMem, Sim } from "../../src/index.js";
import { measure, untargeted, type Entry } from "../harness.js";

const MIB64 = 64 * 2 ** 20;
const PAGES = MIB64 / 4096;
const RW = { read: true, write: true };
const BASE = 2 ** 32;

function world(): { sim: Sim; gpu: Gpu } {
  const sim = new Sim({ seed: 1, maxSteps: 1e9 });
  const mem = new PhysMem(sim, { pages: PAGES + 4096 });
  const pt = new GpuPageTable(sim, mem);
  const gpu = new Gpu(sim, { mem, tlbEntries: 16 });
  sim.spawn("setup", "process", function* () {
    const frames: number[] = [];
    for (let i = 0; i < PAGES; i++) frames.push((yield* mem.allocPage({ label: "bo", process: "p" }, "GFP_KERNEL")) as number);
    if ((yield* pt.mapPages(BASE, frames, RW)) !== "ok") throw new Error("engine bench: map failed");
  });
  sim.runAll();
  sim.spawn("submit", "process", function* () {
    const job = yield* gpu.submit({ name: "copy", pageTable: pt, process: "p", writes: [{ va: BASE, length: MIB64 }] });
    yield* job.finished.wait(false);
    yield* job.finished.put("submit");
  });
  return { sim, gpu };
}

export function engineWorkloads(): Entry[] {
  const m = measure(world, ({ sim }) => sim.runAll().outcome);
  if (m.result !== "done") throw new Error(`engine bench ended with ${m.result}`);
  if (m.state.sim.reports.length > 0) throw new Error(`engine bench filed ${m.state.sim.reports[0]?.kind}`);
  return [untargeted("engine: one job writing 64 MiB in 4 KiB pages, TLB missing", [{ label: "translations", value: m.state.gpu.translations / m.seconds, unit: "pages/s" }])];
}
