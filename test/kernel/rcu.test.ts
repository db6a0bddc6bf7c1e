/**
 * RCU (src/kernel/rcu.ts): read sections, synchronize_rcu(), call_rcu() /
 * kfree_rcu(), RcuPointer, and the get-unless-zero pattern under RCU, both
 * in single runs and under exhaustive exploration.
 */
import { describe, expect, it } from "vitest";
import {
  access,
  callRcu,
  current,
  explore,
  kfree,
  kfreeRcu,
  Kref,
  Mutex,
  RcuPointer,
  rcuReadLock,
  rcuReadLockHeld,
  rcuReadUnlock,
  SimObject,
  softirqEnter,
  softirqExit,
  SpinLock,
  synchronizeRcu,
  type Effect,
  type Report,
  type Sim,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { main as rcuExample } from "../../examples/rcu-get-unless-zero.js";

class Obj extends SimObject {
  readonly kref = new Kref<Obj>(this);
  constructor(sim: Sim, name: string) {
    super(sim, "Obj", { name });
  }
}

const kinds = (sim: Sim): string[] => sim.reports.map((r) => r.kind);
const rcuReport = (r: Report | undefined) => {
  expect(r?.kind).toBe("suspicious-rcu-usage");
  return r as Extract<Report, { kind: "suspicious-rcu-usage" }>;
};

describe("rcuReadLock / rcuReadUnlock", () => {
  it("nest, and lockdep holds rcu_read_lock while inside", () => {
    const sim = collectingSim();
    const seen: unknown[] = [];
    sim.run(function* () {
      seen.push(rcuReadLockHeld());
      yield* rcuReadLock();
      yield* rcuReadLock();
      seen.push(rcuReadLockHeld(), sim.lockdep.holds(current(), sim.lockdep.maps.rcuLock));
      yield* rcuReadUnlock();
      seen.push(rcuReadLockHeld());
      yield* rcuReadUnlock();
      seen.push(rcuReadLockHeld(), sim.lockdep.holds(current(), sim.lockdep.maps.rcuLock));
    });
    expect(seen).toEqual([false, true, true, true, false, false]);
    expect(sim.reports).toEqual([]);
  });

  it("sleeping inside a read section is sleep-in-atomic with reason rcu-read-lock", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    sim.run(function* () {
      yield* rcuReadLock();
      yield* m.lock();
      yield* m.unlock();
      yield* rcuReadUnlock();
    });
    const r = sim.reports[0];
    expect(r?.kind).toBe("sleep-in-atomic");
    if (r?.kind !== "sleep-in-atomic") return;
    expect(r.op).toBe("mutex_lock");
    expect(r.reason).toBe("rcu-read-lock");
    expect(r.held.map((h) => h.lock)).toEqual(["rcu_read_lock"]);
  });

  it("a spinlock inside a read section is fine, and the spinlock is named first when sleeping", () => {
    const sim = collectingSim();
    const s = new SpinLock(sim, "s");
    const m = new Mutex(sim, "m");
    sim.run(function* () {
      yield* rcuReadLock();
      yield* s.lock();
      yield* m.lock();
      yield* m.unlock();
      yield* s.unlock();
      yield* rcuReadUnlock();
    });
    expect(kinds(sim)[0]).toBe("sleep-in-atomic");
    expect((sim.reports[0] as Extract<Report, { kind: "sleep-in-atomic" }>).reason).toBe("spinlock");
  });

  it("lockdep: read sections around and inside spinlocks, in process and softirq context, in both orders, make no cycle or inversion", () => {
    // rcu_read_lock is a recursive read: X -> rcu_read_lock -> X is no strong cycle.
    const sim = collectingSim();
    const x = new SpinLock(sim, "X");
    const y = new SpinLock(sim, "Y");
    sim.run(function* () {
      yield* x.lockBh();
      yield* rcuReadLock();
      yield* rcuReadUnlock();
      yield* x.unlockBh();
      yield* rcuReadLock();
      yield* y.lockBh();
      yield* y.unlockBh();
      yield* rcuReadUnlock();
      softirqEnter();
      yield* rcuReadLock();
      yield* x.lock();
      yield* x.unlock();
      yield* rcuReadUnlock();
      yield* y.lock();
      yield* rcuReadLock();
      yield* rcuReadUnlock();
      yield* y.unlock();
      softirqExit();
    });
    expect(sim.reports).toEqual([]);
  });

  it("an unbalanced rcu_read_unlock is reported and changes nothing", () => {
    const sim = collectingSim();
    const seen: boolean[] = [];
    sim.run(function* () {
      yield* rcuReadUnlock();
      seen.push(rcuReadLockHeld());
      yield* rcuReadLock();
      yield* rcuReadUnlock();
    });
    expect(kinds(sim)).toEqual(["suspicious-rcu-usage"]);
    const r = rcuReport(sim.reports[0]);
    expect(r.problem).toBe("unbalanced-unlock");
    expect(r.op).toBe("rcu_read_unlock");
    expect(r.rcuDepth).toBe(0);
    expect(seen).toEqual([false]);
  });

  it("a task that ends inside a read section is lock-held-at-exit and holds up no grace period", () => {
    const sim = collectingSim();
    const o = new Obj(sim, "o");
    sim.spawn("leaky", "process", function* () {
      yield* rcuReadLock();
    });
    sim.spawn("freer", "process", function* () {
      yield* synchronizeRcu();
      yield* kfreeRcu(o);
    });
    sim.runAll();
    expect(kinds(sim)).toEqual(["lock-held-at-exit"]);
    expect(o.isFreed).toBe(true);
  });
});

describe("RcuPointer", () => {
  it("rcuDereference outside a read section is suspicious-rcu-usage naming the pointer", () => {
    const sim = collectingSim();
    const o = new Obj(sim, "o");
    const p = new RcuPointer(sim, o, { name: "p", static: true });
    let got: unknown;
    sim.run(function* () {
      got = yield* p.rcuDereference();
      yield* kfree(o);
    });
    expect(got).toBe(o);
    const r = rcuReport(sim.reports[0]);
    expect(r.problem).toBe("dereference-outside-read-section");
    expect(r.op).toBe("rcu_dereference");
    expect(r.pointer).toBe(p.label);
    expect(r.rcuDepth).toBe(0);
    expect(sim.reports).toHaveLength(1);
  });

  it("rcuDereferenceCheck passes under the given lock, and is reported without it", () => {
    const sim = collectingSim();
    const lock = new Mutex(sim, "update_lock");
    const p = new RcuPointer<number>(sim, 7, { static: true });
    const got: unknown[] = [];
    sim.run(function* () {
      yield* lock.lock();
      got.push(yield* p.rcuDereferenceCheck(lock));
      yield* lock.unlock();
      yield* rcuReadLock();
      got.push(yield* p.rcuDereferenceCheck(lock));
      yield* rcuReadUnlock();
      got.push(yield* p.rcuDereferenceCheck(lock));
    });
    expect(got).toEqual([7, 7, 7]);
    expect(kinds(sim)).toEqual(["suspicious-rcu-usage"]);
    const r = rcuReport(sim.reports[0]);
    expect(r.problem).toBe("dereference-outside-read-section");
    expect(r.op).toBe("rcu_dereference_check");
    expect(r.condition).toBe(lock.label);
  });

  it("rcuDereferenceProtected needs its lock even inside a read section", () => {
    const sim = collectingSim();
    const lock = new SpinLock(sim, "update_lock");
    const p = new RcuPointer<number>(sim, 1, { static: true });
    sim.run(function* () {
      yield* lock.lock();
      yield* p.rcuDereferenceProtected(lock);
      yield* lock.unlock();
      yield* rcuReadLock();
      yield* p.rcuDereferenceProtected(lock);
      yield* rcuReadUnlock();
      yield* p.rcuDereferenceProtected(true);
    });
    expect(kinds(sim)).toEqual(["suspicious-rcu-usage"]);
    const r = rcuReport(sim.reports[0]);
    expect(r.problem).toBe("dereference-unprotected");
    expect(r.rcuDepth).toBe(1);
  });

  it("rcuAssignPointer publishes; rcuAccessPointer reads without a check", () => {
    const sim = collectingSim();
    const p = new RcuPointer<string>(sim, null, { static: true });
    const got: unknown[] = [];
    sim.run(function* () {
      got.push(yield* p.rcuAccessPointer());
      yield* p.rcuAssignPointer("x");
      got.push(yield* p.rcuAccessPointer());
    });
    expect(got).toEqual([null, "x"]);
    expect(sim.reports).toEqual([]);
  });
});

describe("synchronizeRcu", () => {
  it("inside a read section is suspicious-rcu-usage, sleep-in-atomic, and waits for itself", () => {
    const sim = collectingSim();
    sim.spawn("self-waiter", "process", function* () {
      yield* rcuReadLock();
      yield* synchronizeRcu();
      yield* rcuReadUnlock();
    });
    sim.runAll();
    expect(kinds(sim)).toEqual(["suspicious-rcu-usage", "sleep-in-atomic", "deadlock"]);
    const d = sim.reports[2] as Extract<Report, { kind: "deadlock" }>;
    expect(JSON.stringify(d)).toContain("rcu grace period (synchronize_rcu)");
    const r = rcuReport(sim.reports[0]);
    expect(r.problem).toBe("synchronize-in-read-section");
    expect(r.message).toBe("Illegal synchronize_rcu() in RCU read-side critical section");
    expect((sim.reports[1] as Extract<Report, { kind: "sleep-in-atomic" }>).reason).toBe("rcu-read-lock");
  });

  it("with no reader returns at once", () => {
    const sim = collectingSim();
    sim.run(function* () {
      yield* synchronizeRcu();
    });
    expect(sim.reports).toEqual([]);
  });

  it("waits only for readers that were inside when it started (a later reader does not hold it up)", () => {
    // 1. early: rcu_read_lock       2. sync: synchronize_rcu (blocks)
    // 3. late: rcu_read_lock        4. early: rcu_read_unlock
    // 5. sync: returns, though late is still inside   6. late: sees it, unlocks
    const sim = collectingSim();
    const flags = sim.share({ syncDone: false, lateIn: false, lateSaw: false });
    const sync = sim.spawn("sync", "process", function* () {
      yield* synchronizeRcu();
      yield* access(flags, "write");
      flags.syncDone = true;
    });
    sim.spawn("early", "process", function* () {
      yield* rcuReadLock();
      // Stay inside until the syncer is blocked on us and the late reader is in.
      for (let i = 0; i < 50 && !(sync.state === "blocked" && flags.lateIn); i++) yield* access(flags, "read");
      yield* rcuReadUnlock();
    });
    sim.spawn("late", "process", function* () {
      for (let i = 0; i < 50 && sync.state !== "blocked"; i++) yield* access(flags, "read");
      yield* rcuReadLock();
      yield* access(flags, "write");
      flags.lateIn = true;
      for (let i = 0; i < 50 && !flags.syncDone; i++) yield* access(flags, "read");
      flags.lateSaw = flags.syncDone;
      yield* rcuReadUnlock();
    });
    sim.runAll();
    expect(sim.reports).toEqual([]);
    expect(flags).toEqual({ syncDone: true, lateIn: true, lateSaw: true });
  });

  it("never returns while a reader that was inside at its start is still inside, in every schedule", () => {
    const r = explore(
      (sim) => {
        const log = sim.share<string[]>([]);
        for (const name of ["r1", "r2"]) {
          sim.spawn(name, "process", function* () {
            yield* rcuReadLock();
            yield* access(log, "write");
            log.push(`${name} in`);
            yield* access(log, "write");
            log.push(`${name} out`);
            yield* rcuReadUnlock();
          });
        }
        sim.spawn("sync", "process", function* () {
          yield* access(log, "write");
          log.push("start");
          yield* synchronizeRcu();
          yield* access(log, "write");
          for (const name of ["r1", "r2"]) {
            const inAt = log.indexOf(`${name} in`);
            if (inAt >= 0 && inAt < log.indexOf("start") && !log.includes(`${name} out`)) throw new Error(`${name} still inside`);
          }
          log.push("done");
        });
      },
      { strategy: { name: "dfs" }, executions: 20_000, stopAtFirst: false, shrink: false },
    );
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
  });
});

describe("callRcu / kfreeRcu", () => {
  it("runs the callback after the readers present at the call have left, in an rcu_gp task that then exits", () => {
    const sim = collectingSim();
    const o = new Obj(sim, "o");
    const log: string[] = [];
    sim.spawn("reader", "process", function* () {
      yield* rcuReadLock();
      log.push("reader in");
      yield* access(o, "read");
      yield* access(o, "read");
      log.push("reader out");
      yield* rcuReadUnlock();
    });
    sim.spawn("updater", "process", function* () {
      yield* callRcu(o, function* (obj) {
        log.push(`callback ${obj.name} ${rcuReadLockHeld() ? "in" : "outside"} a read section`);
        yield* kfree(obj);
      });
      log.push("queued");
    });
    sim.runAll();
    expect(sim.reports).toEqual([]);
    expect(log).toEqual(["reader in", "queued", "reader out", "callback o outside a read section"]);
    const gp = sim.tasks.filter((t) => t.name === "rcu_gp");
    expect(gp).toHaveLength(1);
    expect(gp[0]?.state).toBe("done");
    expect(o.isFreed).toBe(true);
  });

  it("runs callbacks in softirq context: sleeping there is sleep-in-atomic", () => {
    const sim = collectingSim();
    const o = new Obj(sim, "o");
    const m = new Mutex(sim, "m");
    sim.run(function* () {
      yield* callRcu(o, function* (obj) {
        yield* m.lock();
        yield* m.unlock();
        yield* kfree(obj);
      });
    });
    expect(kinds(sim)).toContain("sleep-in-atomic");
    const r = sim.reports.find((x) => x.kind === "sleep-in-atomic") as Extract<Report, { kind: "sleep-in-atomic" }>;
    expect(r.reason).toBe("softirq");
    expect(r.task).toMatch(/^rcu_gp\//);
  });

  it("spawns a new rcu_gp task when work arrives after the last one exited", () => {
    const sim = collectingSim();
    const a = new Obj(sim, "a");
    const b = new Obj(sim, "b");
    sim.run(function* () {
      yield* kfreeRcu(a);
      yield* synchronizeRcu();
      for (let i = 0; i < 5; i++) yield* access(b, "read");
      yield* kfreeRcu(b);
    });
    expect(sim.reports).toEqual([]);
    expect(a.isFreed && b.isFreed).toBe(true);
    expect(sim.tasks.filter((t) => t.name === "rcu_gp")).toHaveLength(2);
    expect(sim.tasks.every((t) => t.state === "done")).toBe(true);
  });

  it("callRcu on an object already freed is a use-after-free (it writes the object's rcu_head); nothing is queued", () => {
    const sim = collectingSim();
    const o = new Obj(sim, "o");
    sim.run(function* () {
      yield* kfree(o);
      yield* kfreeRcu(o);
    });
    expect(kinds(sim)).toEqual(["use-after-free"]);
    const r = sim.reports[0] as Extract<Report, { kind: "use-after-free" }>;
    expect(r.access).toBe("kfree_rcu");
    expect(sim.tasks.map((t) => t.name)).toEqual(["main"]);
  });

  it("kfreeRcu twice is a double-free, from the rcu_gp task", () => {
    const sim = collectingSim();
    const o = new Obj(sim, "o");
    sim.run(function* () {
      yield* kfreeRcu(o);
      yield* kfreeRcu(o);
    });
    expect(kinds(sim)).toEqual(["double-free"]);
  });
});

/**
 * The get-unless-zero pattern under RCU (dma_fence_get_rcu()):
 *
 *   reader                               updater
 *   1. rcu_read_lock                     a. rcu_assign_pointer(p, NULL)
 *   2. o = rcu_dereference(p)            b. kref_put(o) -> release
 *   3. kref_get_unless_zero(o)
 *   4. ... kref_put(o)
 *   5. rcu_read_unlock
 *
 * With a release that kfree()s at once, the schedule 1 2 a b 3 is a
 * use-after-free; with kfreeRcu() the free waits for step 5.
 */
function getUnlessZeroScenario(release: (o: Obj) => Iterable<Effect, void, unknown>) {
  return (sim: Sim) => {
    const o = new Obj(sim, "fence");
    const p = new RcuPointer<Obj>(sim, o, { name: "p", static: true });
    sim.spawn("reader", "process", function* () {
      yield* rcuReadLock();
      const got = yield* p.rcuDereference();
      if (got !== null && (yield* got.kref.getUnlessZero())) yield* got.kref.put(release);
      yield* rcuReadUnlock();
    });
    sim.spawn("updater", "process", function* () {
      yield* p.rcuAssignPointer(null);
      yield* o.kref.put(release);
    });
  };
}

describe("get-unless-zero under RCU, explored", () => {
  it("a reader that outlives a plain kfree is a use-after-free that DFS finds", () => {
    const r = explore(
      getUnlessZeroScenario((o) => kfree(o)),
      { strategy: { name: "dfs" }, executions: 10_000, shrink: false },
    );
    expect(r.failures.length).toBeGreaterThan(0);
    const f = r.failures[0]?.report;
    expect(f?.kind).toBe("use-after-free");
    if (f?.kind !== "use-after-free") return;
    expect(f.object.type).toBe("Obj");
    expect(f.access).toBe("Kref.getUnlessZero");
    expect(f.accessed.task).toMatch(/^reader\//);
    expect(f.freed.task).toMatch(/^updater\//);
  });

  it("the same reader protected by kfreeRcu exhausts clean", () => {
    const r = explore(
      getUnlessZeroScenario((o) => kfreeRcu(o)),
      { strategy: { name: "dfs" }, executions: 10_000, stopAtFirst: false, shrink: false },
    );
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
    expect(r.executions).toBeGreaterThan(1);
  });
});

describe("docs/rcu.md", () => {
  it("the get-unless-zero example prints what the page says", () => {
    expect(rcuExample()).toBe("kfree:     use-after-free\nkfreeRcu:  clean after 14 executions (exhausted)");
  });
});
