/**
 * The userptr rules of Documentation/gpu/drm-vm-bind-locking.rst as the
 * device model checks them: an invalidate callback may wait for the GPU's
 * fences (it is how the kernel's drivers stop the device), but the fence's
 * signalling path must not wait for the notifier (mmu_interval_read_begin()
 * in run_job would deadlock against that callback).
 */
import { describe, expect, it } from "vitest";
import { formatReport, Gpu, GpuPageTable, Mm, MmuIntervalNotifier, Mutex, PhysMem, type Report } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

const PAGE = 4096;

function setup() {
  const sim = collectingSim();
  const mem = new PhysMem(sim, { pages: 64 });
  const mm = new Mm(sim, mem, { process: "p1" });
  const pt = new GpuPageTable(sim, mem, { name: "vm0" });
  const gpu = new Gpu(sim, { mem });
  const lock = new Mutex(sim, "drv->notifier_lock", { static: true });
  return { sim, mem, mm, pt, gpu, lock };
}

describe("userptr: invalidate callbacks and GPU fences", () => {
  it("a blockable invalidate that waits for a job's finished fence under the notifier lock is clean", () => {
    const { sim, mm, pt, gpu, lock } = setup();
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      yield* pt.map(0x10_0000, mm.pfns(a, PAGE)[0] as number, PAGE, { read: true, write: true });
      const job = yield* gpu.submit({ pageTable: pt, process: "p1", writes: [{ va: 0x10_0000, length: PAGE }] });
      yield* MmuIntervalNotifier.insert(mm, a, PAGE, {
        *invalidate(n, _r, cur) {
          yield* lock.lock();
          n.setSeq(cur);
          yield* job.finished.wait(false);
          yield* pt.unmap(0x10_0000, PAGE);
          yield* gpu.tlb(pt).invalidateAll();
          yield* lock.unlock();
          return true;
        },
      });
      yield* mm.munmap(a, PAGE);
      yield* job.finished.put("submit");
    });
    expect(sim.reports.map((r) => r.kind)).toEqual([]);
  });

  it("readBegin in a job's runJob (the signalling path) after a callback waited for a fence is a lockdep report", () => {
    const { sim, mm, pt, gpu, lock } = setup();
    sim.run(function* () {
      const a = (yield* mm.mmap(2 * PAGE)) as number;
      yield* pt.map(0x10_0000, mm.pfns(a, PAGE)[0] as number, PAGE, { read: true, write: true });
      const first = yield* gpu.submit({ pageTable: pt, writes: [{ va: 0x10_0000, length: PAGE }] });
      const n = yield* MmuIntervalNotifier.insert(mm, a, 2 * PAGE, {
        *invalidate(m, _r, cur) {
          yield* lock.lock();
          m.setSeq(cur);
          yield* first.finished.wait(false);
          yield* lock.unlock();
          return true;
        },
      });
      yield* mm.munmap(a + PAGE, PAGE);
      // BUG: the signalling path waits for the notifier.
      const second = yield* gpu.submit({ pageTable: pt, runJob: function* () { yield* n.readBegin(); } });
      yield* second.finished.wait(false);
      yield* first.finished.put("submit");
      yield* second.finished.put("submit");
    });
    const kinds = sim.reports.map((r) => r.kind);
    expect(kinds).toEqual(["lock-order-cycle"]);
    expect(formatReport(sim.reports[0] as Report)).toContain("mmu_interval_read_begin");
  });
});
