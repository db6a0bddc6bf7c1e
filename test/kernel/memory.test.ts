/**
 * Memory: kmalloc's GFP kinds and their context checks, accounting against
 * the limit, direct reclaim through shrinkers, memalloc_nofs, kswapd, fault
 * injection (nth, sites, explored).
 */
import { describe, expect, it } from "vitest";
import { collectingSim } from "../support/collecting-sim.js";
import { main as pressureExample } from "../../examples/memory-pressure.js";
import { main as faultExample } from "../../examples/memory-fault-explore.js";
import { expectUnchangedOnFailure, forEachAllocationFailure, type AllocationFailureCase } from "../support/alloc-failure.js";
import {
  configureMemory,
  current,
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  explore,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOFS,
  GFP_NOWAIT,
  inReclaim,
  kfree,
  kmalloc,
  KmallocBuffer,
  kmallocObject,
  memallocNofsRestore,
  memallocNofsSave,
  memoryStats,
  Mutex,
  PAGE_SIZE,
  replay,
  Shrinker,
  SimObject,
  SpinLock,
  WwAcquireCtx,
  WwClass,
  WwMutex,
  type Effect,
  type Gfp,
  type Report,
  type ReportKind,
  type ShrinkControl,
  type Sim,
} from "../../src/index.js";

function only<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

/** A shrinker over a pool of buffers: count = pool size, scan frees up to nrToScan of them. */
function poolShrinker(sim: Sim, pool: KmallocBuffer[], log: string[] = []): Shrinker {
  return new Shrinker(sim, "pool", {
    countObjects: (sc: ShrinkControl) => {
      log.push(`count ${pool.length} ${sc.gfp} in ${current().name}`);
      return pool.length;
    },
    *scanObjects(sc: ShrinkControl): Generator<Effect, number, unknown> {
      log.push(`scan ${sc.nrToScan} in ${current().name} reclaim=${inReclaim()}`);
      let freed = 0;
      while (freed < sc.nrToScan && pool.length > 0) {
        yield* kfree(pool.pop() as KmallocBuffer);
        freed++;
      }
      return freed;
    },
  });
}

describe("kmalloc: GFP kinds and context", () => {
  it("a sleeping allocation under a spinlock is sleep-in-atomic; the buffer is still allocated", () => {
    const sim = collectingSim();
    const l = new SpinLock(sim, "L");
    const got = sim.run(function* () {
      yield* l.lock();
      const b = yield* kmalloc(64, GFP_KERNEL);
      yield* l.unlock();
      if (b !== null) yield* kfree(b);
      return b !== null;
    });
    expect(got).toBe(true);
    const r = only(sim, "sleep-in-atomic");
    expect(r.op).toBe("kmalloc");
    expect(r.reason).toBe("spinlock");
    expect(r.lock?.lock).toContain("L");
  });

  it("GFP_NOFS under a spinlock is sleep-in-atomic too; GFP_ATOMIC and GFP_NOWAIT are fine", () => {
    for (const [gfp, bad] of [
      [GFP_NOFS, true],
      [GFP_ATOMIC, false],
      [GFP_NOWAIT, false],
    ] as [Gfp, boolean][]) {
      const sim = collectingSim();
      const l = new SpinLock(sim, "L");
      sim.run(function* () {
        yield* l.lock();
        const b = yield* kmalloc(64, gfp);
        yield* l.unlock();
        if (b !== null) yield* kfree(b);
      });
      expect(sim.reports.map((r) => r.kind)).toEqual(bad ? ["sleep-in-atomic"] : []);
    }
  });

  it("a sleeping allocation under a mutex, or under a resv (ww mutex of reservation_ww_class), is fine", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "M");
    const cls = new WwClass(sim, "reservation_ww_class", { algorithm: "wait-die" });
    const resv = new WwMutex(sim, cls);
    sim.run(function* () {
      yield* m.lock();
      const a = yield* kmalloc(64, GFP_KERNEL);
      yield* m.unlock();
      const ctx = yield* WwAcquireCtx.init(cls);
      yield* resv.lock(ctx);
      const b = yield* kmalloc(64, GFP_KERNEL);
      yield* resv.unlock();
      ctx.fini();
      yield* kfree(a as KmallocBuffer);
      yield* kfree(b as KmallocBuffer);
    });
    expect(sim.reports).toEqual([]);
    expect(memoryStats(sim).usageBytes).toBe(0);
  });

  it("GFP_KERNEL inside a fence-signalling section is a lock-order cycle through fs_reclaim and dma_fence_map", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const cookie = dmaFenceBeginSignalling();
      const b = yield* kmalloc(64, GFP_KERNEL);
      dmaFenceEndSignalling(cookie);
      if (b !== null) yield* kfree(b);
    });
    // One cycle through fs_reclaim and one through the mmu notifier map (the kernel would print the first only).
    expect(sim.reports.length).toBeGreaterThan(0);
    expect(sim.reports.every((r) => r.kind === "lock-order-cycle")).toBe(true);
    const r = sim.reports[0] as Extract<Report, { kind: "lock-order-cycle" }>;
    expect(r.cycle.flatMap((e) => [e.from, e.to])).toContain("dma_fence_map");
  });

  it("GFP_KERNEL in a hardirq task is sleep-in-atomic with reason hardirq", () => {
    const sim = collectingSim();
    sim.spawn("irq", "hardirq", function* () {
      const b = yield* kmalloc(8, GFP_KERNEL);
      if (b !== null) yield* kfree(b);
    });
    sim.runAll();
    expect(only(sim, "sleep-in-atomic").reason).toBe("hardirq");
  });

  it("a reclaim-context task (PF_MEMALLOC, inside fs_reclaim) allocates with GFP_KERNEL without taking fs_reclaim again", () => {
    const sim = collectingSim();
    const seen: boolean[] = [];
    sim.spawn("kthread", "reclaim", function* () {
      seen.push(inReclaim());
      const b = yield* kmalloc(8, GFP_KERNEL);
      if (b !== null) yield* kfree(b);
    });
    sim.runAll();
    expect(seen).toEqual([true]);
    expect(sim.reports).toEqual([]);
  });

  it("GFP_ATOMIC inside a fence-signalling section is fine (the preallocate-or-atomic fix)", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const cookie = dmaFenceBeginSignalling();
      const b = yield* kmalloc(64, GFP_ATOMIC);
      dmaFenceEndSignalling(cookie);
      if (b !== null) yield* kfree(b);
    });
    expect(sim.reports).toEqual([]);
  });
});

describe("kmalloc: accounting", () => {
  it("charges size bytes per live allocation; kfree gives them back; kmallocObject charges its size", () => {
    const sim = collectingSim();
    const seen: number[] = [];
    sim.run(function* () {
      const a = (yield* kmalloc(100, GFP_KERNEL, { name: "a" })) as KmallocBuffer;
      expect(a.size).toBe(100);
      expect(a.label).toContain("KmallocBuffer");
      const o = (yield* kmallocObject(() => new SimObject(sim, "Obj"), GFP_KERNEL, { size: 300 })) as SimObject;
      seen.push(memoryStats(sim).usageBytes);
      yield* kfree(a);
      seen.push(memoryStats(sim).usageBytes);
      yield* kfree(o);
      seen.push(memoryStats(sim).usageBytes);
    });
    expect(seen).toEqual([400, 300, 0]);
    expect(sim.reports).toEqual([]);
    expect(memoryStats(sim).allocations).toBe(2);
  });

  it("a double kfree of a buffer is a double-free report and uncharges once", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const a = (yield* kmalloc(100, GFP_KERNEL)) as KmallocBuffer;
      yield* kfree(a);
      yield* kfree(a);
    });
    only(sim, "double-free");
    expect(memoryStats(sim).usageBytes).toBe(0);
  });
});

describe("kmalloc: pressure and direct reclaim", () => {
  it("over the limit, a sleeping allocation runs the shrinkers (count, then scan) in the allocating task, in reclaim, and succeeds", () => {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 2 });
    const pool: KmallocBuffer[] = [];
    const log: string[] = [];
    poolShrinker(sim, pool, log).register();
    const got = sim.run(function* () {
      for (let i = 0; i < 2; i++) pool.push((yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer);
      log.push(`outside reclaim=${inReclaim()}`);
      const b = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
      if (b !== null) yield* kfree(b);
      for (const p of pool.splice(0)) yield* kfree(p);
      return b !== null;
    });
    expect(got).toBe(true);
    expect(log).toEqual(["outside reclaim=false", "count 2 GFP_KERNEL in main", "scan 4 in main reclaim=true"]);
    expect(sim.reports).toEqual([]);
    const s = memoryStats(sim);
    expect(s).toMatchObject({ usageBytes: 0, limitBytes: 2 * PAGE_SIZE, allocations: 3, failures: 0, directReclaims: 1 });
  });

  it("fails (null, -ENOMEM) when the shrinkers cannot free enough; nothing is charged", () => {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 1 });
    const log: string[] = [];
    poolShrinker(sim, [], log).register();
    const got = sim.run(function* () {
      const a = (yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer;
      const b = yield* kmalloc(1, GFP_KERNEL);
      yield* kfree(a);
      return b;
    });
    expect(got).toBeNull();
    expect(log).toEqual(["count 0 GFP_KERNEL in main"]);
    expect(memoryStats(sim)).toMatchObject({ usageBytes: 0, failures: 1, injected: 0 });
    expect(sim.reports).toEqual([]);
  });

  it("GFP_NOWAIT and GFP_ATOMIC over the limit fail at once, without running shrinkers", () => {
    for (const gfp of [GFP_NOWAIT, GFP_ATOMIC]) {
      const sim = collectingSim();
      configureMemory(sim, { limitPages: 1 });
      const pool: KmallocBuffer[] = [];
      const log: string[] = [];
      poolShrinker(sim, pool, log).register();
      const got = sim.run(function* () {
        pool.push((yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer);
        const b = yield* kmalloc(1, gfp);
        yield* kfree(pool.pop() as KmallocBuffer);
        return b;
      });
      expect(got).toBeNull();
      expect(log).toEqual([]);
    }
  });

  it("an allocation inside a shrinker (PF_MEMALLOC) does not recurse into reclaim: it fails over the limit", () => {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 1 });
    const inner: (KmallocBuffer | null)[] = [];
    let calls = 0;
    new Shrinker(sim, "s", {
      countObjects: () => 1,
      *scanObjects(): Generator<Effect, number, unknown> {
        calls++;
        inner.push(yield* kmalloc(PAGE_SIZE, GFP_KERNEL));
        return 0;
      },
    }).register();
    sim.run(function* () {
      const a = (yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer;
      expect(yield* kmalloc(1, GFP_KERNEL)).toBeNull();
      yield* kfree(a);
    });
    expect(calls).toBe(1);
    expect(inner).toEqual([null]);
    expect(sim.reports).toEqual([]);
  });

  it("memCharge/memUncharge count against the limit like kmalloc", () => {
    // memCharge is internal; reached through the module.
    return import("../../src/kernel/memory.js").then(({ memCharge, memUncharge }) => {
      const sim = collectingSim();
      configureMemory(sim, { limitPages: 1 });
      const got = sim.run(function* () {
        const a = yield* memCharge(PAGE_SIZE, GFP_KERNEL, "test");
        const b = yield* memCharge(1, GFP_KERNEL, "test");
        return [a, b];
      });
      expect(got).toEqual([true, false]);
      expect(memoryStats(sim).usageBytes).toBe(PAGE_SIZE);
      memUncharge(sim, PAGE_SIZE);
      expect(memoryStats(sim).usageBytes).toBe(0);
    });
  });
});

describe("memalloc_nofs_save/restore", () => {
  it("inside the scope GFP_KERNEL acts as GFP_NOFS: no fs_reclaim order is made under a lock the shrinker takes", () => {
    // A shrinker that takes mutex M: reclaim orders fs_reclaim before M.
    const run = (nofs: boolean): Sim => {
      const sim = collectingSim();
      configureMemory(sim, { limitPages: 1 });
      const m = new Mutex(sim, "shrinker_lock");
      const pool: KmallocBuffer[] = [];
      new Shrinker(sim, "s", {
        countObjects: () => pool.length,
        *scanObjects(): Generator<Effect, number, unknown> {
          yield* m.lock();
          const b = pool.pop();
          yield* m.unlock();
          if (b !== undefined) yield* kfree(b);
          return b === undefined ? 0 : 1;
        },
      }).register();
      sim.run(function* () {
        pool.push((yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer);
        // Over the limit: reclaim runs the shrinker, which teaches lockdep fs_reclaim -> M.
        const x = (yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer;
        yield* kfree(x);
        // Allocating under M orders M before fs_reclaim, unless in a nofs scope.
        yield* m.lock();
        const flags = nofs ? memallocNofsSave() : 0;
        const b = yield* kmalloc(1, GFP_KERNEL);
        if (nofs) memallocNofsRestore(flags);
        yield* m.unlock();
        if (b !== null) yield* kfree(b);
      });
      return sim;
    };
    const plain = run(false);
    const r = only(plain, "lock-order-cycle");
    expect(r.cycle.flatMap((e) => [e.from, e.to])).toContain("fs_reclaim");
    expect(run(true).reports).toEqual([]);
  });

  it("scopes nest: the inner restore keeps the outer scope", () => {
    const sim = collectingSim();
    const seen: string[] = [];
    configureMemory(sim, { limitPages: 0 });
    new Shrinker(sim, "s", {
      countObjects: (sc) => {
        seen.push(sc.gfp);
        return 0;
      },
      scanObjects: () => 0,
    }).register();
    sim.run(function* () {
      const outer = memallocNofsSave();
      const inner = memallocNofsSave();
      memallocNofsRestore(inner);
      yield* kmalloc(1, GFP_KERNEL);
      memallocNofsRestore(outer);
      yield* kmalloc(1, GFP_KERNEL);
    });
    expect(seen).toEqual(["GFP_NOFS", "GFP_KERNEL"]);
  });
});

describe("kswapd", () => {
  it("is spawned (kswapd0, reclaim context) when usage passes the watermark, reclaims down to it and exits", () => {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 4, kswapd: true, watermarkPages: 2 });
    const pool: KmallocBuffer[] = [];
    const log: string[] = [];
    new Shrinker(sim, "pool", {
      countObjects: () => pool.length,
      *scanObjects(sc): Generator<Effect, number, unknown> {
        log.push(`${current().name} ${current().context} reclaim=${inReclaim()}`);
        const b = pool.shift();
        if (b === undefined) return 0;
        sc.nrScanned = 1;
        yield* kfree(b);
        return 1;
      },
    }).register();
    sim.run(function* () {
      for (let i = 0; i < 3; i++) pool.push((yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer);
    });
    const k = sim.tasks.filter((t) => t.name === "kswapd0");
    expect(k.length).toBe(1);
    expect(k[0]?.context).toBe("reclaim");
    expect(k[0]?.state).toBe("done");
    expect(log[0]).toBe("kswapd0 reclaim reclaim=true");
    const s = memoryStats(sim);
    expect(s.kswapdRunning).toBe(false);
    expect(s.kswapdWakeups).toBe(1);
    expect(s.usageBytes).toBeLessThanOrEqual(2 * PAGE_SIZE);
    expect(sim.reports).toEqual([]);
    expect(sim.teardown().map((r) => r.kind)).toEqual(pool.length > 0 ? ["leak"] : []);
  });
});

describe("fault injection", () => {
  it("failNth fails exactly the Nth allocation of the Sim", () => {
    const sim = collectingSim();
    configureMemory(sim, { fault: { failNth: 2 } });
    const got = sim.run(function* () {
      const out: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const b = yield* kmalloc(8, GFP_KERNEL);
        out.push(b !== null);
        if (b !== null) yield* kfree(b);
      }
      return out;
    });
    expect(got).toEqual([true, false, true]);
    expect(memoryStats(sim)).toMatchObject({ allocations: 3, failures: 1, injected: 1, usageBytes: 0 });
  });

  it("failSites fails every allocation at a named site, and only there", () => {
    const sim = collectingSim();
    configureMemory(sim, { fault: { failSites: ["vm_bo_alloc"] } });
    const got = sim.run(function* () {
      const a = yield* kmalloc(8, GFP_KERNEL, { site: "vm_bo_alloc" });
      const b = yield* kmalloc(8, GFP_KERNEL, { site: "other" });
      const c = yield* kmallocObject(() => new SimObject(sim, "X"), GFP_KERNEL, { site: "vm_bo_alloc" });
      if (b !== null) yield* kfree(b);
      return [a, b === null, c];
    });
    expect(got).toEqual([null, false, null]);
    expect(sim.liveObjects()).toEqual([]);
  });

  /** A function with a bug on one error path: when its second allocation fails it frees the first twice. */
  function buggyTwoAllocs(sim: Sim): void {
    configureMemory(sim, { fault: { explore: true } });
    sim.spawn("ioctl", "process", function* () {
      const a = yield* kmalloc(64, GFP_KERNEL, { site: "a" });
      if (a === null) return;
      const b = yield* kmalloc(64, GFP_KERNEL, { site: "b" });
      if (b === null) {
        yield* kfree(a);
        yield* kfree(a); // BUG: the error path frees `a` twice
        return;
      }
      yield* kfree(b);
      yield* kfree(a);
    });
  }

  it("explore: DFS covers every failure point and finds the one that needs the 2nd allocation to fail; the token replays it", () => {
    const r = explore(buggyTwoAllocs, { strategy: "dfs", stopAtFirst: false, shrink: false });
    expect(r.exhausted).toBe(true);
    // No failure, the 1st fails, the 2nd fails: three executions.
    expect(r.executions).toBe(3);
    expect(r.failures.map((f) => f.report.kind)).toEqual(["double-free"]);
    const token = (r.failures[0] as { token: string }).token;
    const again = replay(buggyTwoAllocs, token);
    expect(again.reports.map((x) => x.kind)).toEqual(["double-free"]);
  });

  it("explore with maxFailures 2 explores both failing too", () => {
    const outcomes = new Set<string>();
    const r = explore(
      (sim) => {
        configureMemory(sim, { fault: { explore: true, maxFailures: 2 } });
        sim.spawn("t", "process", function* () {
          const a = yield* kmalloc(8, GFP_KERNEL);
          const b = yield* kmalloc(8, GFP_KERNEL);
          outcomes.add(`${a !== null}/${b !== null}`);
          if (a !== null) yield* kfree(a);
          if (b !== null) yield* kfree(b);
        });
      },
      { strategy: "dfs", stopAtFirst: false, shrink: false },
    );
    expect(r.executions).toBe(4);
    expect([...outcomes].sort()).toEqual(["false/false", "false/true", "true/false", "true/true"]);
  });
});

describe("shrinker and the reservation lock (the boot-primed order resv -> fs_reclaim)", () => {
  function world(trylock: boolean): Sim {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 1 });
    const cls = new WwClass(sim, "reservation_ww_class", { algorithm: "wait-die" });
    const resv = new WwMutex(sim, cls);
    const pool: KmallocBuffer[] = [];
    new Shrinker(sim, "bo-shrinker", {
      countObjects: () => pool.length,
      *scanObjects(): Generator<Effect, number, unknown> {
        if (trylock) {
          if (!(yield* resv.trylock(null))) return 0;
        } else {
          yield* resv.lock(null);
        }
        const b = pool.pop();
        yield* resv.unlock();
        if (b === undefined) return 0;
        yield* kfree(b);
        return 1;
      },
    }).register();
    sim.run(function* () {
      pool.push((yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer);
      const b = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
      if (b !== null) yield* kfree(b);
    });
    return sim;
  }

  it("a shrinker that takes a resv lock with a plain lock in reclaim is an inversion against resv -> fs_reclaim", () => {
    const sim = world(false);
    const r = only(sim, "lock-order-cycle");
    const classes = r.cycle.flatMap((e) => [e.from, e.to]);
    expect(classes).toContain("fs_reclaim");
    expect(classes.some((c) => c.startsWith("reservation_ww_class"))).toBe(true);
  });

  it("with trylock it is clean", () => {
    expect(world(true).reports).toEqual([]);
  });
});

describe("test/support/alloc-failure.ts: every allocation failing in turn", () => {
  /** A table insert that allocates an entry and its payload; `rollback` says whether the error path undoes the first step. */
  function insertCase(rollback: boolean): AllocationFailureCase<{ table: KmallocBuffer[] }, "ok" | "nomem"> {
    return {
      setup: () => ({ sim: collectingSim(), world: { table: [] } }),
      *body({ table }): Generator<Effect, "ok" | "nomem", unknown> {
        const entry = yield* kmalloc(32, GFP_KERNEL, { site: "entry" });
        if (entry === null) return "nomem";
        table.push(entry);
        const payload = yield* kmalloc(64, GFP_KERNEL, { site: "payload" });
        if (payload === null) {
          if (rollback) {
            table.pop();
            yield* kfree(entry);
          }
          return "nomem";
        }
        yield* kfree(payload);
        return "ok";
      },
      snapshot: ({ table }, sim) => ({ entries: table.length, usage: memoryStats(sim).usageBytes }),
      check: expectUnchangedOnFailure((r) => r === "ok"),
    };
  }

  it("a function that rolls back passes for each of its allocations", () => {
    expect(forEachAllocationFailure(insertCase(true))).toBe(2);
  });

  it("one that does not is caught at the allocation whose failure leaves state behind", () => {
    const bad: number[] = [];
    const c = insertCase(false);
    forEachAllocationFailure({
      ...c,
      check: (run) => {
        if (run.result === "nomem" && JSON.stringify(run.after) !== JSON.stringify(run.before)) bad.push(run.failed ?? 0);
      },
    });
    expect(bad).toEqual([2]);
  });
});

describe("docs/memory.md examples", () => {
  it("memory-pressure: the third page is allocated after the shrinker frees the cache", () => {
    expect(pressureExample()).toBe(
      ["shrinker freed 2 of 4 asked", "third page: allocated", "usage 0 bytes, 3 allocations, 1 direct reclaim, 0 reports"].join("\n"),
    );
  });

  it("memory-fault-explore: DFS finds the double free of the unwind path and the token replays it", () => {
    const text = faultExample();
    expect(text).toMatch(/^double-free found in execution \d+ of \d+/);
    expect(text).toContain("replayed: double-free, diverged: no");
  });
});

describe("kfreeRcu of a charged buffer", () => {
  it("uncharges after the grace period, with the memory state in the footprint (no usage report)", async () => {
    const { kfreeRcu } = await import("../../src/index.js");
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 1 });
    const seen: number[] = [];
    sim.run(function* () {
      const b = (yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer;
      yield* kfreeRcu(b);
      seen.push(memoryStats(sim).usageBytes);
    });
    expect(seen).toEqual([PAGE_SIZE]);
    expect(memoryStats(sim).usageBytes).toBe(0);
    expect(sim.reports).toEqual([]);
  });
});
