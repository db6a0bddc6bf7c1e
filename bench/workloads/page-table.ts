/**
 * GpuPageTable (issue 11): map and then unmap 1 GiB of VA, once in 4 KiB
 * pages and once in 2 MiB pages, in one task (each map call covers one
 * 2 MiB region's worth of pages, as a driver's bind of a large BO would);
 * the figure is PTE writes per second (set and clear both count). Also the
 * page-table storage per mapped 4 KiB page with the whole GiB mapped.
 *
 * Targets (issue 11): at least 5 million 4 KiB PTE writes per second; at
 * most 12 bytes of page-table storage per mapped 4 KiB page.
 */
import { GpuPageTable, PhysMem, Sim } from "../../src/index.js";
import { atLeast, atMost, measure, targeted, untargeted, type Entry } from "../harness.js";

const GIB = 2 ** 30;
const MIB2 = 2097152;
const RW = { read: true, write: true };
/** Where the VA range starts: away from 0, crossing no 512 GiB boundary. */
const BASE = 2 ** 40;

function world(size: 4096 | 2097152): { sim: Sim; pt: GpuPageTable; bytes: number[] } {
  const sim = new Sim({ seed: 1, maxSteps: 1e9 });
  // The frames mapped (1 GiB) plus room for the tables.
  const mem = new PhysMem(sim, { pages: GIB / 4096 + 4096 });
  const pt = new GpuPageTable(sim, mem);
  const bytes: number[] = [];
  const perCall = MIB2 / size;
  sim.spawn("bind", "process", function* () {
    for (let va = 0; va < GIB; va += MIB2) {
      const r = yield* pt.map(BASE + va, va / 4096, size, RW, perCall);
      if (r !== "ok") throw new Error(`page-table bench: map returned ${r}`);
    }
    bytes.push(pt.tableBytes);
    yield* pt.unmap(BASE, GIB, { freeTables: true });
  });
  return { sim, pt, bytes };
}

function run(size: 4096 | 2097152): { rate: number; bytesPerPage: number } {
  const m = measure(
    () => world(size),
    ({ sim }) => sim.runAll().outcome,
  );
  if (m.result !== "done") throw new Error(`page-table bench ended with ${m.result}`);
  const writes = m.state.pt.pteWrites;
  return { rate: writes / m.seconds, bytesPerPage: (m.state.bytes[0] as number) / (GIB / 4096) };
}

export function pageTableWorkloads(): Entry[] {
  const small = run(4096);
  const large = run(MIB2);
  return [
    targeted("page table: map+unmap 1 GiB in 4 KiB pages", [{ label: "PTE writes", value: small.rate, unit: "PTEs/s" }], atLeast(5e6, "PTEs/s")),
    targeted("page table: storage, 1 GiB in 4 KiB pages", [{ label: "table bytes per page", value: small.bytesPerPage, unit: "B/page" }], atMost(12, "B/page")),
    untargeted("page table: map+unmap 1 GiB in 2 MiB pages", [{ label: "PTE writes", value: large.rate, unit: "PTEs/s" }]),
  ];
}
