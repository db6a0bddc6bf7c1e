/**
 * The reduction is sound for the simulated mm and its interval notifiers:
 * mm-mmap, mmu-invalidate-start, mm-zap, mmu-invalidate-end,
 * mmu-read-begin (a blocking wait on the notifier's sequence against the
 * Mm's), mmu-notifier-insert, mmu-notifier-remove (a blocking wait for the
 * Mm's invalidations to end), and the noted write of setSeq() and read of
 * readRetry(): DFS with DPOR reaches the same outcomes as the unreduced
 * search where a reader blocks on an invalidation, a munmap races a
 * driver's bind, a reclaim's trylock races the driver lock, and a remove
 * races an invalidation.
 */
import { describe, expect, it } from "vitest";
import { Mm, MmuIntervalNotifier, Mutex, PhysMem, type MmuIntervalNotifierOps, type Sim } from "../../src/index.js";
import { reached } from "../support/reduction.js";

const PAGE = 4096;

function world(sim: Sim) {
  const mem = new PhysMem(sim, { pages: 8 });
  const mm = new Mm(sim, mem, { process: "p1" });
  const lock = new Mutex(sim, "drv->lock", { static: true });
  const dev = { pfns: null as number[] | null };
  const ops: MmuIntervalNotifierOps = {
    *invalidate(n, range, cur) {
      if (range.blockable) yield* lock.lock();
      else if (!(yield* lock.trylock())) return false;
      n.setSeq(cur);
      dev.pfns = null;
      yield* lock.unlock();
      return true;
    },
  };
  function* bind(n: MmuIntervalNotifier, addr: number) {
    for (let tries = 0; ; tries++) {
      const seq = yield* n.readBegin();
      if (!mm.isMapped(addr, PAGE)) return `efault/${tries}`;
      const pfns = mm.pfns(addr, PAGE);
      yield* lock.lock();
      if (n.readRetry(seq)) {
        yield* lock.unlock();
        continue;
      }
      dev.pfns = pfns;
      yield* lock.unlock();
      return `bound/${tries}`;
    }
  }
  return { mem, mm, lock, dev, ops, bind };
}

const PROGRAMS: Record<string, (sim: Sim, seen: (s: string) => void) => void> = {
  "a bind (read_begin, lookup, lock, read_retry) against a munmap": (sim, seen) => {
    const w = world(sim);
    sim.spawn("setup", "process", function* () {
      const a = (yield* w.mm.mmap(PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(w.mm, a, PAGE, w.ops);
      sim.spawn("binder", "process", function* () {
        const r = yield* w.bind(n, a);
        seen(`${r} dev=${w.dev.pfns === null ? "none" : "set"}`);
      });
      sim.spawn("unmapper", "process", function* () {
        yield* w.mm.munmap(a, PAGE);
        seen(`unmapped free=${w.mem.freePages}`);
      });
    });
  },
  "a bind against a reclaim whose trylock may fail": (sim, seen) => {
    const w = world(sim);
    sim.spawn("setup", "process", function* () {
      const a = (yield* w.mm.mmap(PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(w.mm, a, PAGE, w.ops);
      sim.spawn("binder", "process", function* () {
        seen(yield* w.bind(n, a));
      });
      sim.spawn("reaper", "process", function* () {
        seen(`reaped=${String(yield* w.mm.reclaim(a, PAGE))}`);
      });
    });
  },
  "readBegin blocked by an invalidation in progress, and a remove racing it": (sim, seen) => {
    const w = world(sim);
    sim.spawn("setup", "process", function* () {
      const a = (yield* w.mm.mmap(2 * PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(w.mm, a, 2 * PAGE, w.ops);
      sim.spawn("reader", "process", function* () {
        const seq = yield* n.readBegin();
        seen(`read retry-now=${String(n.readRetry(seq))}`);
      });
      sim.spawn("unmapper", "process", function* () {
        yield* w.mm.munmap(a, PAGE);
        yield* w.mm.munmap(a + PAGE, PAGE);
      });
      sim.spawn("remover", "process", function* () {
        yield* n.remove();
        seen(`removed mapped=${String(w.mm.isMapped(a, PAGE))}`);
      });
    });
  },
};

describe("reduction soundness: mm and mmu interval notifiers", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const dpor = reached(build, "dpor");
      expect(dpor.length).toBeGreaterThan(1);
      expect(dpor).toEqual(reached(build, "none"));
    });
  }
});
