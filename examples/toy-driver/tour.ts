/**
 * docs/toy-driver.md: the toy driver in one process, ioctl by ioctl (GEM
 * create, VM create, a bind, an exec, an eviction, the exec that
 * revalidates, unbind, close, VM destroy), printing what each step did to
 * the library's objects; then the parallel workload explored, correct and
 * with one deliberate bug.
 * Run it with `npx tsx examples/toy-driver/tour.ts`.
 */
import { explore, type Effect, Sim } from "../../src/index.js";
import { boLookup, evictBo, exec, gemClose, gemCreate, ToyDevice, vmBind, vmCreate, vmDestroy, vmLookup, vmUnbind } from "./index.js";
import { toyWorkload } from "./workload.js";

const PAGE = 4096;

export function main(): string {
  const lines: string[] = [];
  const sim = new Sim({ onReport: "collect" });
  const dev = new ToyDevice(sim, { pages: 64 });
  sim.spawn("app", "process", function* (): Generator<Effect, void, unknown> {
    const file = dev.open("app");
    const vmId = yield* vmCreate(file);
    const vm = yield* vmLookup(file, vmId);
    const handle = yield* gemCreate(file, 4 * PAGE, "bo");
    const bo = yield* boLookup(file, handle, "tour");
    if (vm === null || bo === null) return;
    lines.push(`GEM_CREATE: ${bo.name}, ${bo.store.populated ? "populated" : "no pages yet"}`);

    // VM_BIND: the BO is populated (pages, IOVA), the VmBo obtained, the PTEs written in smStepMap.
    lines.push(`VM_BIND: ${yield* vmBind(file, vmId, { handle, addr: 0x10_0000, range: 4 * PAGE })}`);
    const pte = vm.pt.walk(0x10_0000);
    lines.push(`  PTE of 0x100000: IOVA page ${pte?.pfn}, which the IOMMU maps to frame ${bo.store.pages[0]}`);

    // EXEC: locks, validates, queues a job reading the buffer, adds its fence to the resvs.
    const f1 = yield* exec(file, vmId, { reads: [{ va: 0x10_0000, length: 4 * PAGE }] });
    if (typeof f1 === "string") return;
    yield* f1.wait(false);
    lines.push(`EXEC: job ${f1.isSignaled() ? "done" : "pending"}, error ${f1.error}`);
    yield* f1.put("submit");

    // Memory pressure: the shrinker's path, by hand (resv held, fences signalled).
    yield* bo.gem.resv.lock(null);
    const freed = yield* evictBo(bo);
    yield* bo.gem.resv.unlock();
    lines.push(`evicted: ${String(freed)} pages freed; PTE ${vm.pt.walk(0x10_0000) === null ? "cleared" : "still there"}; VmBo evicted: ${bo.gem.vmBos()[0]?.evicted}`);

    // The next EXEC revalidates: new pages, PTEs rewritten, off the evict list.
    const f2 = yield* exec(file, vmId, { reads: [{ va: 0x10_0000, length: 4 * PAGE }] });
    if (typeof f2 === "string") return;
    yield* f2.wait(false);
    lines.push(`EXEC again: revalidated ${dev.stats.validated}, PTE ${vm.pt.walk(0x10_0000) === null ? "missing" : "rewritten"}, job error ${f2.error}`);
    yield* f2.put("submit");

    // Teardown in the kernel's order: unbind, close the handle, destroy the VM.
    yield* bo.gem.put("tour");
    lines.push(`VM_BIND unmap: ${yield* vmUnbind(file, vmId, 0x10_0000, 4 * PAGE)}`);
    lines.push(`GEM_CLOSE: ${String(yield* gemClose(file, handle))}, BO freed: ${String(bo.freed)}`);
    lines.push(`VM_DESTROY: ${yield* vmDestroy(file, vmId)}`);
  });
  sim.runAll();
  lines.push(`reports: ${sim.reports.length}, leaks: ${sim.teardown().length}`);

  // The parallel workload, explored: the correct driver, then one with a deliberate bug.
  const ok = explore(toyWorkload(), { name: "toy", strategy: "pct", executions: 10, seed: 1, shrink: false });
  lines.push(`workload, correct: ${ok.executions} executions, ${ok.failures.length} failures`);
  const bad = explore(toyWorkload({ bug: "skipFenceWaitBeforeEvict" }), { name: "toy-bug", strategy: "pct", executions: 60, seed: 1, shrink: false });
  const r = bad.failures[0]?.report;
  lines.push(`workload, skipFenceWaitBeforeEvict: ${r === undefined ? "nothing found" : `${r.kind} in execution ${bad.failures[0]?.execution}`}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("tour.ts") === true) console.log(main());
