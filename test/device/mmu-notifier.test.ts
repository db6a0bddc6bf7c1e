import { describe, expect, it } from "vitest";
import {
  Completion,
  access,
  explore,
  formatReport,
  kfree,
  kmalloc,
  Mm,
  MmuIntervalNotifier,
  Mutex,
  PhysMem,
  type MmuIntervalNotifierOps,
  type Report,
  type Sim,
} from "../../src/index.js";
import { main as notifierExample } from "../../examples/device-mmu-notifier.js";
import { collectingSim } from "../support/collecting-sim.js";
import { reached, type ReductionProgram } from "../support/reduction.js";

const PAGE = 4096;

/**
 * A userptr driver in the manner of Documentation/mm/hmm.rst: bind looks
 * the pages up between readBegin() and the driver lock, and programs the
 * "device" (a shared record of the frames it uses) only if readRetry() says
 * no invalidation came in between. The callback clears the device under
 * the same lock (trylock when not blockable).
 */
function userptrDriver(sim: Sim, mm: Mm, options: { ignoreRetry?: boolean } = {}) {
  const lock = new Mutex(sim, "drv->notifier_lock", { static: true });
  const device = sim.share({ pfns: null as number[] | null, retries: 0 });
  const ops: MmuIntervalNotifierOps = {
    *invalidate(n, range, curSeq) {
      if (range.blockable) yield* lock.lock();
      else if (!(yield* lock.trylock())) return false;
      n.setSeq(curSeq);
      yield* access(device, "write");
      device.pfns = null;
      yield* lock.unlock();
      return true;
    },
  };
  function* bind(n: MmuIntervalNotifier, addr: number, length: number) {
    for (;;) {
      const seq = yield* n.readBegin();
      if (!mm.isMapped(addr, length)) return "efault";
      const pfns = mm.pfns(addr, length);
      yield* lock.lock();
      if (!options.ignoreRetry && n.readRetry(seq)) {
        yield* lock.unlock();
        yield* access(device, "write");
        device.retries++;
        continue;
      }
      yield* access(device, "write");
      device.pfns = pfns;
      yield* lock.unlock();
      return "bound";
    }
  }
  return { lock, device, ops, bind };
}

/** Frames the device still uses that the process no longer owns. */
function stale(mem: PhysMem, pfns: readonly number[] | null): number[] {
  return (pfns ?? []).filter((p) => mem.state(p) === "free" || mem.owner(p)?.process !== "p1");
}

describe("MmuIntervalNotifier", () => {
  it("the read_begin / read_retry pattern without a race: bound, no retry, no report", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { name: "ram", pages: 16 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const drv = userptrDriver(sim, mm);
    let result = "";
    sim.run(function* () {
      const addr = (yield* mm.mmap(2 * PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(mm, addr, 2 * PAGE, drv.ops, { name: "userptr0" });
      result = yield* drv.bind(n, addr, 2 * PAGE);
      expect(drv.device.pfns).toEqual(mm.pfns(addr, 2 * PAGE));
      yield* mm.munmap(addr, 2 * PAGE); // the callback clears the device, then the pages go
      expect(drv.device.pfns).toBeNull();
      yield* n.remove();
      expect(n.isRemoved).toBe(true);
    });
    expect(result).toBe("bound");
    expect(drv.device.retries).toBe(0);
    expect(sim.reports).toEqual([]);
    expect(mem.freePages).toBe(16);
  });

  it("readRetry: true once an invalidation called setSeq() after readBegin()", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const seen: boolean[] = [];
    sim.run(function* () {
      const a = (yield* mm.mmap(2 * PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, { invalidate: (m, _r, cur) => (m.setSeq(cur), true) });
      const seq = yield* n.readBegin();
      seen.push(n.readRetry(seq));
      yield* mm.munmap(a + PAGE, PAGE); // does not overlap: no callback
      seen.push(n.readRetry(seq));
      yield* mm.munmap(a, PAGE);
      seen.push(n.readRetry(seq));
      const again = yield* n.readBegin();
      seen.push(n.readRetry(again), (seq & 1) === 1, (again & 1) === 1);
    });
    expect(seen).toEqual([false, false, true, false, true, true]);
    expect(sim.reports).toEqual([]);
  });

  // Race, one column per task:
  //   binder                         unmapper
  //   1. seq = readBegin()
  //   2. pfns = mm.pfns()
  //                                  3. munmap: invalidate (setSeq, clear device), free pages
  //   4. lock; readRetry(seq) → true: unlock, retry (5: isMapped false → efault)
  it("an invalidation racing a bind between readBegin and the driver lock is caught by readRetry (DFS reaches the retry)", () => {
    const outcomes = new Set<string>();
    const r = explore(
      (sim) => {
        const mem = new PhysMem(sim, { pages: 8 });
        const mm = new Mm(sim, mem, { process: "p1" });
        const drv = userptrDriver(sim, mm);
        sim.spawn("setup", "process", function* () {
          const addr = (yield* mm.mmap(PAGE)) as number;
          const n = yield* MmuIntervalNotifier.insert(mm, addr, PAGE, drv.ops);
          sim.spawn("binder", "process", function* () {
            const res = yield* drv.bind(n, addr, PAGE);
            outcomes.add(`${res} retries=${drv.device.retries}`);
            if (stale(mem, drv.device.pfns).length > 0) outcomes.add("STALE");
          });
          sim.spawn("unmapper", "process", function* () {
            yield* mm.munmap(addr, PAGE);
          });
        });
      },
      { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false },
    );
    expect(r.exhausted).toBe(true);
    expect(r.failures.map((f) => f.report)).toEqual([]);
    expect([...outcomes].sort()).toEqual(["bound retries=0", "efault retries=0", "efault retries=1"]);
  });

  it("the same race with a bind that ignores readRetry: the device keeps a freed page", () => {
    let staleSeen = false;
    explore(
      (sim) => {
        const mem = new PhysMem(sim, { pages: 8 });
        const mm = new Mm(sim, mem, { process: "p1" });
        const drv = userptrDriver(sim, mm, { ignoreRetry: true });
        sim.spawn("setup", "process", function* () {
          const addr = (yield* mm.mmap(PAGE)) as number;
          const n = yield* MmuIntervalNotifier.insert(mm, addr, PAGE, drv.ops);
          sim.spawn("binder", "process", function* () {
            yield* drv.bind(n, addr, PAGE);
          });
          sim.spawn("unmapper", "process", function* () {
            yield* mm.munmap(addr, PAGE);
            yield* access(drv.device, "read");
            if (stale(mem, drv.device.pfns).length > 0) staleSeen = true;
          });
        });
      },
      { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false },
    );
    expect(staleSeen).toBe(true);
  });

  it("non-blockable (reclaim): a callback that mutex_locks is sleep-in-atomic, reason mmu-notifier-nonblock", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const lock = new Mutex(sim, "drv->lock");
    let reaped: boolean | null = null;
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      yield* MmuIntervalNotifier.insert(mm, a, PAGE, {
        *invalidate(n, _range, cur) {
          yield* lock.lock(); // wrong when not blockable
          n.setSeq(cur);
          yield* lock.unlock();
          return true;
        },
      });
      reaped = yield* mm.reclaim(a, PAGE);
    });
    expect(reaped).toBe(true);
    expect(sim.reports).toHaveLength(1);
    expect(sim.reports[0]).toMatchObject({ kind: "sleep-in-atomic", op: "mutex_lock", reason: "mmu-notifier-nonblock", lock: null });
    expect(mem.freePages).toBe(4);
  });

  it("non-blockable: a failed trylock returns false; the reap of the range fails and nothing is freed", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const drv = userptrDriver(sim, mm);
    const out: unknown[] = [];
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, drv.ops);
      const seq = yield* n.readBegin();
      yield* drv.lock.lock(); // the driver holds its lock: the reaper's trylock fails
      out.push(yield* mm.reclaim(a, PAGE), mm.isMapped(a, PAGE), mem.freePages, n.readRetry(seq));
      yield* drv.lock.unlock();
      out.push(yield* n.readBegin()); // the invalidation ended: does not block
      out.push(yield* mm.reclaim(a, PAGE), mm.isMapped(a, PAGE), mem.freePages);
    });
    expect(out.slice(0, 4)).toEqual([false, true, 3, false]);
    expect(out.slice(5)).toEqual([true, false, 4]);
    expect(sim.reports).toEqual([]);
  });

  it("a callback that kmallocs GFP_KERNEL is a lockdep report naming the notifier map; GFP_NOWAIT is allowed", () => {
    for (const gfp of ["GFP_KERNEL", "GFP_NOWAIT"] as const) {
      const sim = collectingSim();
      const mem = new PhysMem(sim, { pages: 4 });
      const mm = new Mm(sim, mem, { process: "p1" });
      sim.run(function* () {
        const a = (yield* mm.mmap(PAGE)) as number;
        yield* MmuIntervalNotifier.insert(mm, a, PAGE, {
          *invalidate(n, _range, cur) {
            n.setSeq(cur);
            const buf = yield* kmalloc(64, gfp);
            if (buf !== null) yield* kfree(buf);
            return true;
          },
        });
        yield* mm.munmap(a, PAGE);
      });
      if (gfp === "GFP_NOWAIT") {
        expect(sim.reports).toEqual([]);
        continue;
      }
      // The cycle through fs_reclaim, then (as the kernel's fs_reclaim_acquire() takes the notifier map too) its recursion.
      expect(sim.reports.map((r) => r.kind)).toEqual(["lock-order-cycle", "recursive-locking"]);
      const text = formatReport(sim.reports[0] as Report);
      expect(text).toContain("mmu_notifier_invalidate_range_start");
      expect(text).toContain("fs_reclaim");
    }
  });

  it("a lock taken around a GFP_KERNEL allocation and in the callback is a lockdep report", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const lock = new Mutex(sim, "drv->lock");
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      yield* MmuIntervalNotifier.insert(mm, a, PAGE, {
        *invalidate(n, _range, cur) {
          yield* lock.lock();
          n.setSeq(cur);
          yield* lock.unlock();
          return true;
        },
      });
      yield* lock.lock();
      const buf = yield* kmalloc(64, "GFP_KERNEL"); // drv->lock → fs_reclaim → notifier map → drv->lock
      if (buf !== null) yield* kfree(buf);
      yield* lock.unlock();
      yield* mm.munmap(a, PAGE);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["lock-order-cycle"]);
    const text = formatReport(sim.reports[0] as Report);
    expect(text).toContain("drv->lock");
    expect(text).toContain("mmu_notifier_invalidate_range_start");
  });

  it("readBegin blocks while an invalidation that reached the notifier runs (every DFS schedule)", () => {
    const logs = new Set<string>();
    const r = explore(
      (sim) => {
        const mem = new PhysMem(sim, { pages: 4 });
        const mm = new Mm(sim, mem, { process: "p1" });
        const inCallback = new Completion(sim, { name: "in callback", static: true });
        const gate = new Completion(sim, { name: "gate", static: true });
        const log: string[] = [];
        sim.spawn("setup", "process", function* () {
          const a = (yield* mm.mmap(PAGE)) as number;
          const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, {
            *invalidate(m, _range, cur) {
              m.setSeq(cur);
              yield* inCallback.completeAll();
              yield* gate.waitForCompletion();
              return true;
            },
          });
          sim.spawn("unmapper", "process", function* () {
            yield* mm.munmap(a, PAGE);
          });
          sim.spawn("reader", "process", function* () {
            yield* inCallback.waitForCompletion();
            log.push("begin");
            const seq = yield* n.readBegin();
            log.push(`got ${seq & 1}`);
            if (log.length === 3) logs.add(log.join(","));
          });
          sim.spawn("releaser", "process", function* () {
            yield* inCallback.waitForCompletion();
            yield* access(mm, "read");
            log.push("release");
            yield* gate.complete();
            if (log.length === 3) logs.add(log.join(","));
          });
        });
      },
      { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false },
    );
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
    // "got" never comes before "release": the reader waited for the end.
    expect([...logs].sort()).toEqual(["begin,release,got 1", "release,begin,got 1"]);
  });

  it("remove waits for a running invalidation; no callback after it returns", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    let calls = 0;
    sim.run(function* () {
      const a = (yield* mm.mmap(2 * PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(mm, a, 2 * PAGE, { invalidate: () => (calls++, true) });
      yield* mm.munmap(a, PAGE);
      yield* n.remove();
      yield* mm.munmap(a + PAGE, PAGE);
    });
    expect(calls).toBe(1);
    expect(sim.reports).toEqual([]);
  });

  it("remove under a lock the callback takes is a lockdep report even when no invalidation runs (the kernel's map in remove)", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    const lock = new Mutex(sim, "drv->notifier_lock");
    let held = -1;
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, {
        *invalidate(m, _range, cur) {
          yield* lock.lock();
          m.setSeq(cur);
          yield* lock.unlock();
          return true;
        },
      });
      // The callback's order: notifier map → drv->notifier_lock.
      yield* mm.munmap(a, PAGE);
      // BUG: drv->notifier_lock → notifier map (remove would wait for a callback that waits for the lock).
      yield* lock.lock();
      yield* n.remove();
      held = mem.freePages;
      yield* lock.unlock();
    });
    expect(held).toBe(4);
    expect(sim.reports.map((r) => r.kind)).toEqual(["lock-order-cycle"]);
    const text = formatReport(sim.reports[0] as Report);
    expect(text).toContain("drv->notifier_lock");
    expect(text).toContain("mmu_interval_notifier_remove");
  });

  it("a blockable callback returning false files mmu-notifier-blockable-fail and the pages go anyway", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      yield* MmuIntervalNotifier.insert(mm, a, PAGE, { invalidate: () => false }, { name: "u" });
      yield* mm.munmap(a, PAGE);
    });
    expect(sim.reports).toHaveLength(1);
    expect(sim.reports[0]).toMatchObject({ kind: "mmu-notifier-blockable-fail", event: "unmap", length: PAGE });
    expect(mem.freePages).toBe(4);
  });

  it("a callback that throws, or returns a non-boolean, is a task-exception report", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    sim.spawn("unmapper", "process", function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      yield* MmuIntervalNotifier.insert(mm, a, PAGE, { invalidate: () => 7 as unknown as boolean }, { name: "u" });
      yield* mm.munmap(a, PAGE);
    });
    sim.runAll();
    expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception"]);
    expect(JSON.stringify(sim.reports[0])).toContain("ops.invalidate of");
  });

  it("the docs example runs clean", () => {
    expect(notifierExample()).toEqual({ result: "bound", reports: 0 });
  });
});

describe("MmuIntervalNotifier: insert during an invalidation that met no notifier (mmu_interval_notifier_insert)", () => {
  // unmapper: munmap(a) — start (no notifier yet: sequence stays even), zap, end, free
  // binder:   insert(a) — lands between start and zap; readBegin(); isMapped(a)?
  // As the kernel, insert sets the sequence odd while active_invalidate_ranges > 0,
  // so readBegin() waits for the end: the binder never sees the range mapped while
  // the munmap that will free its pages is under way.
  const program: ReductionProgram = (sim, seen) => {
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    sim.spawn("setup", "process", function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      sim.spawn("unmapper", "process", function* () {
        yield* mm.munmap(a, PAGE);
      });
      sim.spawn("binder", "process", function* () {
        const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, { invalidate: (m, _r, cur) => (m.setSeq(cur), true) });
        const seq = yield* n.readBegin();
        const mapped = mm.isMapped(a, PAGE);
        // Read in the same step as isMapped (a noted read of the Mm).
        const unmapping = mm.activeInvalidateRanges > 0;
        seen(`mapped ${String(mapped)} unmapping ${String(unmapping)} retry ${String(n.readRetry(seq))}`);
        yield* n.remove();
      });
    });
  };

  it("readBegin() of the new notifier waits for the end of the running invalidation", () => {
    const got = reached(program, "none", { executions: 100_000 });
    expect(got).not.toContain("mapped true unmapping true retry false");
    expect(got).toContain("mapped true unmapping false retry false");
    expect(got).toContain("mapped false unmapping false retry false");
    expect(got.filter((s) => s.startsWith("failure:"))).toEqual([]);
  });

  it("DPOR reaches what the unreduced search reaches", () => {
    expect(reached(program, "dpor", { executions: 100_000 })).toEqual(reached(program, "none", { executions: 100_000 }));
  });
});

describe("MmuIntervalNotifier: an invalidate callback that throws", () => {
  it("files a task-exception, ends the invalidation (nothing unmapped): later readBegin() and remove() go on", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    let addr = 0;
    let n: MmuIntervalNotifier | null = null;
    const log: string[] = [];
    sim.spawn("setup", "process", function* () {
      addr = (yield* mm.mmap(PAGE)) as number;
      n = yield* MmuIntervalNotifier.insert(mm, addr, PAGE, { invalidate: () => { throw new Error("driver bug"); } }, { name: "bad" });
      sim.spawn("unmapper", "process", function* () {
        yield* mm.munmap(addr, PAGE);
      });
    });
    sim.runAll();
    sim.run(function* () {
      const note = n as unknown as MmuIntervalNotifier;
      log.push(`invalidating ${String(mm.invalidating)} active ${mm.activeInvalidateRanges} mapped ${String(mm.isMapped(addr, PAGE))}`);
      const seq = yield* note.readBegin();
      log.push(`retry ${String(note.readRetry(seq))}`);
      yield* note.remove();
      log.push("removed");
    });
    const kinds = sim.reports.map((r) => r.kind);
    expect(kinds).toEqual(["task-exception"]);
    expect((sim.reports[0] as Extract<Report, { kind: "task-exception" }>).error).toContain("driver bug");
    expect(log).toEqual(["invalidating false active 0 mapped true", "retry false", "removed"]);
  });
});
