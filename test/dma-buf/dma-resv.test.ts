/**
 * DmaResv, the fence half: dma_resv_add_fence() (slots, the lock, the
 * replacement rule of the kernel's code), references held and dropped
 * (replaced, dropped by a reserve, fini), the usage filter, the locked and
 * unlocked iteration (restart found by DFS), reserveFences' allocation
 * (fine under the resv lock, sleep-in-atomic under a spinlock) and its
 * kfreeRcu of the old list (clean against an unlocked reader; a plain
 * kfree is a use-after-free), the fence's own kfreeRcu against an unlocked
 * reader racing the last put, getSingleton with 0, 1 and 2 fences,
 * waitTimeout, testSignaled, and fence-never-signalled at teardown.
 */
import { describe, expect, it } from "vitest";
import {
  DmaFence,
  DmaFenceArray,
  DmaResv,
  DmaResvIter,
  explore,
  FenceContext,
  msleep,
  RESV_HOLDER,
  SpinLock,
  type Effect,
  type Report,
  type ReportKind,
  type Sim,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

function onlyReport<K extends ReportKind>(reports: readonly Report[], kind: K): Extract<Report, { kind: K }> {
  expect(reports.map((r) => r.kind)).toEqual([kind]);
  return reports[0] as Extract<Report, { kind: K }>;
}

function world(sim: Sim): { resv: DmaResv; ctx: FenceContext; ctx2: FenceContext } {
  return { resv: new DmaResv(sim, { name: "bo0.resv", static: true }), ctx: new FenceContext(sim, "ring0"), ctx2: new FenceContext(sim, "ring1") };
}

/** Lock, reserve `n`, add each fence with its usage, unlock. */
function* addAll(resv: DmaResv, adds: readonly [DmaFence, "kernel" | "write" | "read" | "bookkeep"][], n = adds.length): Generator<Effect, void, unknown> {
  yield* resv.lock(null);
  expect(yield* resv.reserveFences(n)).toBe("ok");
  for (const [f, u] of adds) yield* resv.addFence(f, u);
  yield* resv.unlock();
}

describe("DmaResv.addFence", () => {
  it("adds with a reference (tag dma_resv); fini drops every one; teardown is clean", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    sim.run(function* () {
      const a = new DmaFence(ctx, { name: "a" });
      const b = new DmaFence(ctx2, { name: "b" });
      yield* addAll(resv, [[a, "write"], [b, "read"]]);
      expect(resv.numFences).toBe(2);
      expect(resv.fenceList.map((e) => [e.fence.name, e.usage])).toEqual([["a", "write"], ["b", "read"]]);
      expect(a.refcount.read()).toBe(2);
      expect(b.refcount.read()).toBe(2);
      yield* a.signal();
      yield* b.signal();
      yield* resv.fini();
      expect(resv.numFences).toBe(0);
      expect(a.refcount.read()).toBe(1);
      expect(b.refcount.read()).toBe(1);
      yield* a.put();
      yield* b.put();
    });
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });

  it("without a reserved slot: resv-no-fence-slot, and nothing changes", () => {
    const sim = collectingSim();
    const { resv, ctx } = world(sim);
    const f = sim.run(function* () {
      const f = new DmaFence(ctx, { name: "job0" });
      yield* resv.lock(null);
      yield* resv.addFence(f, "write");
      yield* resv.unlock();
      return f;
    });
    const r = onlyReport(sim.reports, "resv-no-fence-slot");
    expect(r).toMatchObject({ resv: { label: resv.label }, fence: { seqno: f.seqno, context: ctx.context }, usage: "write", numFences: 0, maxFences: 0, lastReserve: null });
    expect(r.add.op).toBe("dma_resv_add_fence");
    expect(resv.numFences).toBe(0);
    expect(f.refcount.read()).toBe(1);
    expect(f.publishedHow).toBeNull();
  });

  it("slots reserved under an earlier hold are gone: resv-no-fence-slot naming the last reserve", () => {
    const sim = collectingSim();
    const { resv, ctx } = world(sim);
    sim.run(function* () {
      const a = new DmaFence(ctx, { name: "a" });
      const b = new DmaFence(new FenceContext(sim, "other"), { name: "b" });
      yield* addAll(resv, [[a, "read"]], 4);
      yield* resv.lock(null);
      yield* resv.addFence(b, "read"); // new hold, no reserve: slots reset to the one in use
      yield* resv.unlock();
      expect(resv.fenceList.map((e) => e.fence.name)).toEqual(["a"]);
      expect(b.refcount.read()).toBe(1);
      yield* a.signal();
      yield* b.signal();
      yield* resv.fini();
      yield* a.put();
      yield* b.put();
    });
    const r = onlyReport(sim.reports, "resv-no-fence-slot");
    expect(r).toMatchObject({ numFences: 1, maxFences: 1, usage: "read" });
    expect(r.lastReserve?.op).toBe("dma_resv_reserve_fences");
  });

  it("without the lock: lock-not-held, and nothing changes", () => {
    const sim = collectingSim();
    const { resv, ctx } = world(sim);
    const f = sim.run(function* () {
      const f = new DmaFence(ctx, { name: "job0" });
      yield* resv.addFence(f, "write");
      return f;
    });
    const r = onlyReport(sim.reports, "lock-not-held");
    expect(r).toMatchObject({ lock: resv.wwMutex.label, owner: null });
    expect(resv.numFences).toBe(0);
    expect(f.refcount.read()).toBe(1);
  });

  it("replaces as the kernel's code does: same context with usage >= the new one, or a signalled entry", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    sim.run(function* () {
      const a1 = new DmaFence(ctx, { name: "a1" });
      const a2 = new DmaFence(ctx, { name: "a2" });
      const a3 = new DmaFence(ctx, { name: "a3" });
      const b1 = new DmaFence(ctx2, { name: "b1" });
      yield* resv.lock(null);
      expect(yield* resv.reserveFences(4)).toBe("ok");
      yield* resv.addFence(a1, "read");
      // Same context, the old usage (read) >= the new (write): replaced, its reference dropped.
      yield* resv.addFence(a2, "write");
      expect(resv.fenceList.map((e) => [e.fence.name, e.usage])).toEqual([["a2", "write"]]);
      expect(a1.refcount.read()).toBe(1);
      // Same context, but the old usage (write) < the new (bookkeep): a new slot, both kept.
      yield* resv.addFence(a3, "bookkeep");
      expect(resv.fenceList.map((e) => e.fence.name)).toEqual(["a2", "a3"]);
      // Another context: replaces a signalled entry.
      yield* a1.signal();
      yield* a2.signal();
      yield* resv.addFence(b1, "read");
      expect(resv.fenceList.map((e) => e.fence.name)).toEqual(["b1", "a3"]);
      expect(a2.refcount.read()).toBe(1);
      yield* resv.unlock();
      for (const f of [a3, b1]) yield* f.signal();
      yield* resv.fini();
      for (const f of [a1, a2, a3, b1]) yield* f.put();
    });
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });

  it("replaceFences puts every fence of the context and references the replacement once per entry", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    sim.run(function* () {
      const a = new DmaFence(ctx, { name: "a" });
      const b = new DmaFence(ctx2, { name: "b" });
      const r = new DmaFence(ctx2, { name: "r" });
      yield* resv.lock(null);
      yield* resv.reserveFences(2);
      yield* resv.addFence(a, "read");
      yield* resv.addFence(b, "write");
      expect(yield* resv.replaceFences(ctx.context, r, "bookkeep")).toBe(1);
      yield* resv.unlock();
      expect(resv.fenceList.map((e) => [e.fence.name, e.usage])).toEqual([["r", "bookkeep"], ["b", "write"]]);
      expect([a.refcount.read(), r.refcount.read()]).toEqual([1, 2]);
      for (const f of [a, b, r]) yield* f.signal();
      yield* resv.fini();
      for (const f of [a, b, r]) yield* f.put();
    });
    expect(sim.teardown()).toEqual([]);
  });

  it("a fence added and never signalled is fence-never-signalled at teardown", () => {
    const sim = collectingSim();
    const { resv, ctx } = world(sim);
    sim.run(function* () {
      const f = new DmaFence(ctx, { name: "job0" });
      yield* addAll(resv, [[f, "write"]]);
      yield* resv.fini();
      yield* f.put();
    });
    const r = onlyReport(sim.teardown(), "fence-never-signalled");
    expect(r.published).toEqual(["resv"]);
    expect(r.fence.timeline).toBe("ring0");
    expect(r.signaller).toMatch(/^main/);
  });
});

describe("DmaResv.reserveFences: the list allocation", () => {
  it("under the resv lock a sleeping allocation is fine; signalled fences are dropped when the list grows", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    sim.run(function* () {
      const a = new DmaFence(ctx, { name: "a" });
      const b = new DmaFence(ctx2, { name: "b" });
      yield* addAll(resv, [[a, "write"], [b, "read"]]);
      const first = resv.list;
      yield* a.signal();
      yield* resv.lock(null);
      expect(yield* resv.reserveFences(1)).toBe("ok"); // reset at unlock: grows, leaving `a` out
      yield* resv.unlock();
      expect(resv.list).not.toBe(first);
      expect(resv.fenceList.map((e) => e.fence.name)).toEqual(["b"]);
      expect(a.refcount.read()).toBe(1);
      yield* b.signal();
      yield* resv.fini();
      yield* a.put();
      yield* b.put();
    });
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });

  it("under a spinlock it is sleep-in-atomic", () => {
    const sim = collectingSim();
    const { resv } = world(sim);
    const l = new SpinLock(sim, "L");
    sim.run(function* () {
      yield* resv.lock(null);
      yield* l.lock();
      yield* resv.reserveFences(1);
      yield* l.unlock();
      yield* resv.unlock();
      yield* resv.fini();
    });
    const r = onlyReport(sim.reports, "sleep-in-atomic");
    expect(r.op).toBe("kmalloc");
    expect(r.reason).toBe("spinlock");
  });
});

describe("DmaResv: iteration", () => {
  it("the locked iteration filters by usage: usage U returns the fences of usage <= U", () => {
    const sim = collectingSim();
    const { resv, ctx } = world(sim);
    sim.run(function* () {
      const ctxs = [ctx, new FenceContext(sim, "c2"), new FenceContext(sim, "c3"), new FenceContext(sim, "c4")];
      const usages = ["kernel", "write", "read", "bookkeep"] as const;
      const fs = usages.map((u, i) => new DmaFence(ctxs[i] as FenceContext, { name: u }));
      yield* addAll(resv, fs.map((f, i) => [f, usages[i] as (typeof usages)[number]]));
      yield* resv.lock(null);
      const seen: Record<string, string[]> = {};
      for (const u of usages) seen[u] = (yield* resv.fences(u)).map((e) => `${e.fence.name}:${e.usage}`);
      const it = new DmaResvIter(resv, "write");
      const first = yield* it.first();
      expect(it.isRestarted).toBe(true);
      expect(it.fenceUsage).toBe("kernel");
      expect((yield* it.next())?.name).toBe("write");
      expect(it.isRestarted).toBe(false);
      expect(yield* it.next()).toBeNull();
      expect(first?.name).toBe("kernel");
      yield* resv.unlock();
      expect(seen).toEqual({
        kernel: ["kernel:kernel"],
        write: ["kernel:kernel", "write:write"],
        read: ["kernel:kernel", "write:write", "read:read"],
        bookkeep: ["kernel:kernel", "write:write", "read:read", "bookkeep:bookkeep"],
      });
      for (const f of fs) yield* f.signal();
      yield* resv.fini();
      for (const f of fs) yield* f.put();
    });
    expect(sim.teardown()).toEqual([]);
  });

  it("the unlocked iteration skips signalled fences and holds a reference to the current one until end()", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    sim.run(function* () {
      const a = new DmaFence(ctx, { name: "a" });
      const b = new DmaFence(ctx2, { name: "b" });
      yield* addAll(resv, [[a, "write"], [b, "write"]]);
      yield* a.signal();
      const it = new DmaResvIter(resv, "read");
      const f = yield* it.firstUnlocked();
      expect(f?.name).toBe("b");
      expect(it.isRestarted).toBe(true);
      expect(b.refcount.read()).toBe(3);
      expect(yield* it.nextUnlocked()).toBeNull();
      yield* it.end();
      expect(b.refcount.read()).toBe(2);
      yield* b.signal();
      yield* resv.fini();
      yield* a.put();
      yield* b.put();
    });
    expect(sim.teardown()).toEqual([]);
  });

  it("DFS finds the restart: a writer adds a fence while an unlocked reader walks the list", () => {
    let restarts = 0;
    let plain = 0;
    const r = explore(
      (sim) => {
        const { resv, ctx, ctx2 } = world(sim);
        const a = new DmaFence(ctx, { name: "a", static: true });
        const b = new DmaFence(ctx2, { name: "b", static: true });
        sim.spawn("writer", "process", function* () {
          yield* addAll(resv, [[a, "write"]]);
          yield* addAll(resv, [[b, "write"]]);
          yield* a.signal();
          yield* b.signal();
        });
        sim.spawn("reader", "process", function* () {
          const it = new DmaResvIter(resv, "write");
          let restarted = false;
          let calls = 0;
          for (let f = yield* it.firstUnlocked(); f !== null; f = yield* it.nextUnlocked()) {
            // A restart seen by a later call: the writer changed the list under the reader.
            if (calls++ > 0 && it.isRestarted) restarted = true;
          }
          // The last call (the one that found no more) may have restarted too.
          if (calls > 0 && it.isRestarted) restarted = true;
          yield* it.end();
          if (restarted) restarts++;
          else plain++;
        });
      },
      { strategy: { name: "dfs", preemptionBound: 2 }, executions: 50_000, stopAtFirst: false, shrink: false, checks: { lifetimes: false } },
    );
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
    expect(r.exhausted).toBe(true);
    expect(restarts).toBeGreaterThan(0);
    expect(plain).toBeGreaterThan(0);
  });
});


describe("DmaResv: getSingleton, waitTimeout, testSignaled", () => {
  it("getSingleton: null for none, the fence itself for one, a DmaFenceArray for two that signals when both did", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    sim.run(function* () {
      expect(yield* resv.getSingleton("read")).toBeNull();
      const a = new DmaFence(ctx, { name: "a" });
      const b = new DmaFence(ctx2, { name: "b" });
      yield* addAll(resv, [[a, "write"]]);
      const one = yield* resv.getSingleton("read");
      expect(one).toBe(a);
      expect(a.refcount.read()).toBe(3);
      yield* a.put();
      yield* addAll(resv, [[b, "read"]]);
      // "write" leaves the read fence out.
      const w = yield* resv.getSingleton("write");
      expect(w).toBe(a);
      yield* a.put();
      const arr = yield* resv.getSingleton("read");
      expect(arr).toBeInstanceOf(DmaFenceArray);
      const array = arr as DmaFenceArray;
      expect(array.fences.map((f) => f.name)).toEqual(["a", "b"]);
      expect(array.isSignaled()).toBe(false);
      yield* a.signal();
      expect(array.isSignaled()).toBe(false);
      yield* b.signal();
      expect(array.isSignaled()).toBe(true);
      yield* array.put();
      expect([a.refcount.read(), b.refcount.read()]).toEqual([2, 2]);
      yield* resv.fini();
      yield* a.put();
      yield* b.put();
    });
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });

  it("waitTimeout waits on each fence of the usage in turn; 0 on timeout; testSignaled follows the usage", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    const a = new DmaFence(ctx, { name: "a", static: true });
    const b = new DmaFence(ctx2, { name: "b", static: true });
    const log: string[] = [];
    sim.spawn("signaller", "process", function* () {
      yield* addAll(resv, [[a, "write"], [b, "bookkeep"]]);
      sim.spawn("waiter", "process", function* () {
        expect(yield* resv.testSignaled("write")).toBe(false);
        expect(yield* resv.waitTimeout("write", false, 1_000)).toBe(0);
        log.push(`timed out at ${sim.now}`);
        const left = yield* resv.waitTimeout("write", false, 10_000_000);
        log.push(`waited: ${String(left)} left at ${sim.now}`);
        expect(yield* resv.testSignaled("write")).toBe(true);
        expect(yield* resv.testSignaled("bookkeep")).toBe(false);
        expect(yield* resv.waitTimeout("bookkeep", true, 0)).toBe(0);
      });
      yield* msleep(5);
      yield* a.signal();
      yield* msleep(5);
      yield* b.signal();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(log[0]).toBe("timed out at 1000");
    // The write fence signals at 5 ms; the wait began at 1 µs with 10 ms to go.
    expect(log[1]).toBe("waited: 5001000 left at 5000000");
    expect(sim.reports).toEqual([]);
  });

  it("waitTimeout waits for every fence of the usage: it returns when the last of two has signalled", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    const a = new DmaFence(ctx, { name: "a", static: true });
    const b = new DmaFence(ctx2, { name: "b", static: true });
    let when = -1;
    let left: unknown;
    sim.spawn("signaller", "process", function* () {
      yield* addAll(resv, [[a, "write"], [b, "kernel"]]);
      sim.spawn("waiter", "process", function* () {
        left = yield* resv.waitTimeout("write", false, 10_000_000);
        when = sim.now;
      });
      yield* msleep(4);
      yield* b.signal();
      yield* msleep(2);
      yield* a.signal();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(when).toBe(6_000_000);
    expect(left).toBe(4_000_000);
    expect(sim.reports).toEqual([]);
  });

  it("waitTimeout is interrupted by a pending signal when intr", () => {
    const sim = collectingSim();
    const { resv, ctx } = world(sim);
    const a = new DmaFence(ctx, { name: "a", static: true });
    let result: unknown;
    sim.spawn("owner", "process", function* () {
      yield* addAll(resv, [[a, "write"]]);
      const w = sim.spawn("waiter", "process", function* () {
        result = yield* resv.waitTimeout("read", true, 1_000_000);
      });
      yield* msleep(1);
      w.kill();
      yield* msleep(1);
      yield* a.signal();
    });
    sim.runAll();
    expect(result).toBe("interrupted");
  });
});

describe("DmaResv under RCU: the old list and released fences are freed with kfreeRcu", () => {
  /** An unlocked reader (testSignaled) racing a writer whose reserve replaces the list. */
  function raceReserve(sim: Sim, plainKfree: boolean): void {
    const { resv, ctx, ctx2 } = world(sim);
    resv.unsafePlainKfree = plainKfree;
    const a = new DmaFence(ctx, { name: "a", static: true });
    const b = new DmaFence(ctx2, { name: "b", static: true });
    sim.spawn("writer", "process", function* () {
      yield* addAll(resv, [[a, "write"]]);
      sim.spawn("reader", "process", function* () {
        yield* resv.testSignaled("read");
      });
      yield* addAll(resv, [[b, "write"]]); // reserve: a new list, the old one freed
      yield* a.signal();
      yield* b.signal();
      yield* resv.fini();
    });
  }

  it("an unlocked reader racing reserveFences' kfreeRcu of the old list is clean under exploration", () => {
    const r = explore((sim) => { raceReserve(sim, false); }, { strategy: { name: "dfs", preemptionBound: 2 }, executions: 50_000, stopAtFirst: false, shrink: false });
    expect(r.exhausted).toBe(true);
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
  });

  it("with a plain kfree of the old list (the internal switch), exploration finds the reader's use-after-free", () => {
    const r = explore((sim) => { raceReserve(sim, true); }, { strategy: { name: "dfs", preemptionBound: 2 }, executions: 50_000, stopAtFirst: true, shrink: false });
    expect(r.failures.length).toBeGreaterThan(0);
    const rep = r.failures[0]?.report as Extract<Report, { kind: "use-after-free" }>;
    expect(rep.kind).toBe("use-after-free");
    expect(rep.object.type).toBe("DmaResvList");
    expect(rep.access).toMatch(/^DmaResvIter\./);
  });

  it("an unlocked reader racing the last put of a fence (replaced in the list) is clean: the fence is freed with kfreeRcu", () => {
    const r = explore(
      (sim) => {
        const { resv, ctx } = world(sim);
        sim.spawn("writer", "process", function* () {
          const a = new DmaFence(ctx, { name: "a" });
          const a2 = new DmaFence(ctx, { name: "a2" });
          yield* addAll(resv, [[a, "write"]]);
          yield* a.signal();
          yield* a.put(); // the list holds the last reference
          sim.spawn("reader", "process", function* () {
            yield* resv.testSignaled("read");
          });
          yield* resv.lock(null);
          yield* resv.reserveFences(1);
          yield* resv.addFence(a2, "write"); // replaces a: its last put, a freed (after a grace period)
          yield* resv.unlock();
          yield* a2.signal();
          yield* resv.fini();
          yield* a2.put();
        });
      },
      { strategy: { name: "dfs", preemptionBound: 2 }, executions: 50_000, stopAtFirst: false, shrink: false },
    );
    expect(r.exhausted).toBe(true);
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
  });
});

describe("DmaResv: references balanced", () => {
  it("fence refcounts read back to the creator's one after fini; RESV_HOLDER tags the list's", () => {
    const sim = collectingSim();
    const { resv, ctx, ctx2 } = world(sim);
    sim.run(function* () {
      const fs = [new DmaFence(ctx, { name: "x" }), new DmaFence(ctx2, { name: "y" })];
      yield* addAll(resv, [[fs[0] as DmaFence, "read"], [fs[1] as DmaFence, "kernel"]]);
      for (const f of fs) expect(f.refcount.holderRefs().map((h) => h.holder)).toContain(RESV_HOLDER);
      for (const f of fs) yield* f.signal();
      yield* resv.fini();
      expect(fs.map((f) => f.refcount.read())).toEqual([1, 1]);
      for (const f of fs) yield* f.put();
    });
    expect(sim.teardown()).toEqual([]);
  });
});

describe("docs/dma-resv.md example", () => {
  it("prints what the page says: the reader waits for the write fence; a relock without reserving is resv-no-fence-slot", async () => {
    const { main } = await import("../../examples/dma-resv.js");
    expect(main()).toBe(
      [
        "reserve=true: reader waited, 9000000 ns left, 1 fence(s) listed",
        "reserve=true: reports: none",
        "reserve=false: reader waited, 10000000 ns left, 0 fence(s) listed",
        "reserve=false: reports: resv-no-fence-slot",
      ].join("\n"),
    );
  });
});

describe("DmaResv: driver bugs against its lifetime (resv-misuse)", () => {
  function setup(): { sim: Sim; resv: DmaResv; f: DmaFence } {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { name: "bo0.resv", static: true });
    return { sim, resv, f: new DmaFence(new FenceContext(sim, "ring0"), { name: "f", static: true }) };
  }

  it("fini twice: reported once, the fence's reference dropped once", () => {
    const { sim, resv, f } = setup();
    sim.run(function* () {
      yield* addAll(resv, [[f, "read"]]);
      yield* resv.fini();
      yield* resv.fini();
      yield* f.signal();
    });
    const r = onlyReport(sim.reports, "resv-misuse");
    expect(r.problem).toBe("fini-twice");
    expect(r.resv.label).toContain("bo0.resv");
    expect(r.fini).not.toBeNull();
    expect(f.refcount.read()).toBe(1);
  });

  it("fini while locked: reported; the list is freed anyway and the unlock works", () => {
    const { sim, resv, f } = setup();
    sim.run(function* () {
      yield* resv.lock(null);
      yield* resv.reserveFences(1);
      yield* resv.addFence(f, "read");
      yield* resv.fini();
      yield* resv.unlock();
      yield* f.signal();
    });
    expect(onlyReport(sim.reports, "resv-misuse").problem).toBe("fini-while-locked");
    expect(resv.numFences).toBe(0);
    expect(f.refcount.read()).toBe(1);
  });

  it("every locked fence op after fini is used-after-fini and changes nothing; unlocked readers see no fences", () => {
    const { sim, resv, f } = setup();
    const out: unknown[] = [];
    sim.run(function* () {
      yield* addAll(resv, [[f, "read"]]);
      yield* resv.fini();
      yield* resv.lock(null);
      out.push(yield* resv.reserveFences(1));
      yield* resv.addFence(f, "read");
      out.push(yield* resv.replaceFences(f.context, f, "read"));
      out.push((yield* resv.fences("read")).length);
      yield* resv.unlock();
      out.push(yield* resv.testSignaled("read"));
      out.push((yield* resv.getFences("read")).length);
      yield* f.signal();
    });
    expect(out).toEqual(["ok", 0, 0, true, 0]);
    // The unlocked readers (testSignaled, getFences) find an empty list and file nothing.
    expect(sim.reports.map((r) => r.kind === "resv-misuse" && r.problem)).toEqual(Array(4).fill("used-after-fini"));
    expect(sim.reports.map((r) => (r as { op?: string }).op)).toEqual(["dma_resv_reserve_fences", "dma_resv_add_fence", "dma_resv_replace_fences", "dma_resv_iter_first"]);
    expect(resv.list).toBeNull();
    expect(f.refcount.read()).toBe(1);
  });
});

describe("DmaResv: a freed fence given to addFence / replaceFences", () => {
  it("is a use-after-free report naming the fence; nothing is added or replaced, no refcount moves", () => {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { name: "bo0.resv", static: true });
    const ctx = new FenceContext(sim, "ring0");
    const keep = new DmaFence(new FenceContext(sim, "ring1"), { name: "keep", static: true });
    const out: unknown[] = [];
    sim.run(function* () {
      const g = new DmaFence(ctx, { name: "g" });
      yield* g.signal();
      yield* g.put();
      yield* resv.lock(null);
      yield* resv.reserveFences(2);
      yield* resv.addFence(keep, "read");
      yield* resv.addFence(g, "write");
      out.push(yield* resv.replaceFences(keep.context, g, "write"));
      out.push(resv.fenceList.map((e) => [e.fence.name, e.usage]));
      yield* resv.unlock();
      yield* keep.signal();
      yield* resv.fini();
    });
    expect(out).toEqual([0, [["keep", "read"]]]);
    const uaf = sim.reports.filter((r): r is Extract<Report, { kind: "use-after-free" }> => r.kind === "use-after-free");
    // One report for the freed fence (a second use of the same freed object is not filed again).
    expect(sim.reports.map((r) => r.kind)).toEqual(["use-after-free"]);
    expect(uaf.map((r) => [r.object.type, r.object.label])).toEqual([["DmaFence", expect.stringContaining("g")]]);
    expect(keep.refcount.read()).toBe(1);
  });
});
