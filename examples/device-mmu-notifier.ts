/**
 * docs/device-mmu-notifier.md: a userptr bind in the pattern of
 * Documentation/mm/hmm.rst. The driver reads the notifier's sequence, looks
 * the pages up, takes its lock and checks readRetry() before it programs
 * the device; the invalidate callback clears the device under the same
 * lock (only a trylock when the invalidation may not block) and records
 * the sequence with setSeq().
 * Run it with `npx tsx examples/device-mmu-notifier.ts`.
 */
import { Mm, MmuIntervalNotifier, Mutex, PhysMem, Sim, type MmuIntervalNotifierOps } from "../src/index.js";

export function main(): { result: string; reports: number } {
  const sim = new Sim({ onReport: "collect" });
  const mem = new PhysMem(sim, { name: "ram", pages: 64 });
  const mm = new Mm(sim, mem, { process: "app" });
  const notifierLock = new Mutex(sim, "drv->notifier_lock");
  let devicePages: number[] | null = null; // what the GPU page table would hold

  const ops: MmuIntervalNotifierOps = {
    *invalidate(n, range, curSeq) {
      if (range.blockable) yield* notifierLock.lock();
      else if (!(yield* notifierLock.trylock())) return false; // the reaper tries again later
      n.setSeq(curSeq);
      devicePages = null; // a real driver clears its PTEs and invalidates the TLB here
      yield* notifierLock.unlock();
      return true;
    },
  };

  let result = "";
  sim.run(function* () {
    const addr = (yield* mm.mmap(4 * 4096)) as number;
    const n = yield* MmuIntervalNotifier.insert(mm, addr, 4 * 4096, ops, { name: "userptr0" });
    for (;;) {
      const seq = yield* n.readBegin();
      if (!mm.isMapped(addr, 4 * 4096)) {
        result = "efault";
        break;
      }
      const pfns = mm.pfns(addr, 4 * 4096); // hmm_range_fault()
      yield* notifierLock.lock();
      if (n.readRetry(seq)) {
        yield* notifierLock.unlock();
        continue; // an invalidation came in between: look the pages up again
      }
      devicePages = pfns; // program the device
      yield* notifierLock.unlock();
      result = "bound";
      break;
    }
    yield* mm.munmap(addr, 4 * 4096); // the callback clears devicePages first
    if (devicePages !== null) result = "device kept freed pages";
    yield* n.remove();
  });
  return { result, reports: sim.reports.length };
}

if (process.argv[1]?.endsWith("device-mmu-notifier.ts") === true) console.log(main());
