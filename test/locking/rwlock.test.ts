/**
 * RwLock (rwlock_t): readers share, a writer excludes everyone, holders
 * are atomic, the irq variants, trylocks, lockdep's recursive reads and the
 * checks on unlock and free. The lockdep selftests for rwlocks are in
 * selftest.test.ts.
 */
import { describe, expect, it } from "vitest";
import { access, condResched, current, explore, kfree, Mutex, RwLock, SimObject, softirqEnter, softirqExit, type Report, type ReportKind, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

function onlyReport<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

describe("RwLock: readers and writers", () => {
  it("two tasks hold the read side at once; a writer waits for both", () => {
    // step  r1/1             r2/2             w/3
    //  1    start; read_lock
    //  2                     start; read_lock
    //  3                                      start; write_lock
    //  4    read-lock
    //  5                     read-lock
    //  -                                      (blocked: readers)
    const sim = collectingSim();
    const l = new RwLock(sim, "L");
    const log: string[] = [];
    for (const name of ["r1", "r2"]) {
      sim.spawn(name, "process", function* () {
        yield* l.readLock();
        log.push(`${name} reads (${l.readers.size} readers)`);
        yield* access(l, "read"); // a scheduling point inside the atomic section
        yield* l.readUnlock();
      });
    }
    sim.spawn("w", "process", function* () {
      yield* l.writeLock();
      log.push(`w writes (${l.readers.size} readers)`);
      expect(l.assertHeldWrite()).toBe(true);
      yield* l.writeUnlock();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(log).toEqual(["r1 reads (1 readers)", "r2 reads (2 readers)", "w writes (0 readers)"]);
    expect(sim.reports).toEqual([]);
  });

  it("a generic (queued: false) reader may take the read side again while holding it, even with a writer waiting (recursive read)", () => {
    const sim = collectingSim();
    const l = new RwLock(sim, "L", { queued: false });
    sim.spawn("r", "process", function* () {
      yield* l.readLock();
      yield* access(l, "read"); // a scheduling point inside the atomic section
      yield* access(l, "read"); // a scheduling point inside the atomic section
      yield* l.readLock();
      yield* l.readUnlock();
      yield* l.readUnlock();
    });
    sim.spawn("w", "process", function* () {
      yield* l.writeLock();
      yield* l.writeUnlock();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.reports).toEqual([]);
  });

  it("holders are atomic: sleeping under the read or the write side is sleep-in-atomic naming the rwlock", () => {
    const sim = collectingSim();
    const l = new RwLock(sim, "L");
    const m = new Mutex(sim, "M");
    sim.run(function* () {
      yield* l.readLock();
      yield* m.lock();
      yield* m.unlock();
      yield* l.readUnlock();
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["sleep-in-atomic"]);
    expect(sim.reports[0]).toMatchObject({ reason: "spinlock", lock: { lockClass: "L", read: true } });
  });

  it("the _irq, _irqsave and _bh variants disable and restore irqs and bottom halves", () => {
    const sim = collectingSim();
    const l = new RwLock(sim, "L");
    sim.run(function* () {
      const t = current();
      yield* l.readLockIrq();
      expect(t.irqsOff).toBe(1);
      yield* l.readUnlockIrq();
      expect(t.irqsOff).toBe(0);
      const f = yield* l.writeLockIrqsave();
      expect(t.irqsOff).toBe(1);
      yield* l.writeUnlockIrqrestore(f);
      expect(t.irqsOff).toBe(0);
      const g = yield* l.readLockIrqsave();
      yield* l.readUnlockIrqrestore(g);
      yield* l.writeLockIrq();
      yield* l.writeUnlockIrq();
      yield* l.readLockBh();
      expect(t.bhOff).toBe(1);
      yield* l.readUnlockBh();
      yield* l.writeLockBh();
      yield* l.writeUnlockBh();
      expect([t.irqsOff, t.bhOff, t.preemptCount]).toEqual([0, 0, 0]);
    });
    expect(sim.reports).toEqual([]);
  });

  it("read_trylock fails only while a writer holds it; write_trylock fails while anyone does", () => {
    const sim = collectingSim();
    const l = new RwLock(sim, "L");
    const got: boolean[] = [];
    sim.spawn("holder", "process", function* () {
      yield* l.readLock();
      yield* access(l, "read"); // a scheduling point inside the atomic section
      yield* l.readUnlock();
      yield* l.writeLock();
      yield* access(l, "read"); // a scheduling point inside the atomic section
      yield* l.writeUnlock();
    });
    sim.spawn("trier", "process", function* () {
      got.push(yield* l.writeTrylock()); // step 4: a reader holds it
      if (yield* l.readTrylock()) {
        got.push(true);
        yield* l.readUnlock();
      }
      yield* condResched();
      got.push(yield* l.readTrylock()); // the writer holds it
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(got).toEqual([false, true, false]);
    expect(sim.reports).toEqual([]);
  });

  it("read_unlock by a task that does not hold it is bad-unlock and changes nothing", () => {
    const sim = collectingSim();
    const l = new RwLock(sim, "L");
    sim.run(function* () {
      yield* l.readUnlock();
      expect(l.isLocked()).toBe(false);
      expect(current().preemptCount).toBe(0);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["bad-unlock"]);
    expect(sim.reports[0]).toMatchObject({ lock: l.label, owner: null });
  });

  // Each unlock of the other side than the one held: the bad-unlock is
  // filed at that step, names both sides, and changes nothing, so the
  // right unlock afterwards works and the lock ends free.
  for (const [held, lockOp, wrong, right] of [
    ["write", "writeLock", "readUnlock", "writeUnlock"],
    ["write", "writeLockIrq", "readUnlockIrq", "writeUnlockIrq"],
    ["write", "writeLockBh", "readUnlockBh", "writeUnlockBh"],
    ["read", "readLock", "writeUnlock", "readUnlock"],
    ["read", "readLockIrq", "writeUnlockIrq", "readUnlockIrq"],
    ["read", "readLockBh", "writeUnlockBh", "readUnlockBh"],
  ] as const) {
    it(`${wrong}() of a lock held by ${lockOp}() is bad-unlock naming both sides, at that step, and changes nothing`, () => {
      const sim = collectingSim();
      const l = new RwLock(sim, "L");
      const seen: unknown[] = [];
      sim.spawn("main", "process", function* () {
        yield* l[lockOp]();
        const before = { irqs: current().irqsOff, bh: current().bhOff, preempt: current().preemptCount };
        yield* l[wrong]();
        seen.push(sim.reports.length, l.isLocked(), l.holder?.label ?? null, l.readers.size, {
          irqs: current().irqsOff,
          bh: current().bhOff,
          preempt: current().preemptCount,
        }, before);
        yield* l[right]();
        seen.push(l.isLocked(), current().preemptCount, current().irqsOff, current().bhOff);
      });
      expect(sim.runAll().outcome).toBe("done");
      const r = onlyReport(sim, "bad-unlock");
      expect(r).toMatchObject({ lock: l.label, task: "main/1", heldAs: held, releasedAs: held === "write" ? "read" : "write" });
      expect(r.held.map((h) => h.lock)).toEqual([l.label]);
      const [n, locked, holder, readers, after, before] = seen;
      expect(n).toBe(1);
      expect(locked).toBe(true);
      expect(holder).toBe(held === "write" ? "main/1" : null);
      expect(readers).toBe(held === "read" ? 1 : 0);
      expect(after).toEqual(before);
      expect(seen.slice(6)).toEqual([false, 0, 0, 0]);
      const last = r.schedule.rows.at(-1);
      expect(last?.effect).toBe(`${held === "write" ? "read" : "write"}-unlock ${l.label}`);
    });
  }

  it("schedule rows name rwlock steps in rwlock words", () => {
    const sim = collectingSim();
    const l = new RwLock(sim, "L");
    sim.spawn("main", "process", function* () {
      yield* l.writeLock();
      yield* l.writeUnlock();
      yield* l.readLock();
      yield* l.readUnlock();
      yield* l.readTrylock();
      yield* l.readUnlock();
      yield* l.writeTrylock();
      yield* l.writeUnlock();
      yield* l.writeUnlock();
    });
    sim.runAll();
    const r = onlyReport(sim, "bad-unlock");
    expect(r.schedule.rows.map((row) => row.effect.split(" ")[0])).toEqual([
      "start",
      "write-lock-queue",
      "write-lock",
      "write-unlock",
      "read-lock",
      "read-unlock",
      "read-trylock",
      "read-unlock",
      "write-trylock",
      "write-unlock",
      "write-unlock",
    ]);
  });

  it("freeing it read-held is lock-held-at-free naming the reader", () => {
    const sim = collectingSim();
    const obj = new SimObject(sim, "Obj", { name: "o" });
    const l = new RwLock(sim, "L", { embeddedIn: obj });
    sim.run(function* () {
      yield* l.readLock();
      yield* kfree(obj);
    });
    expect(sim.reports.map((r) => r.kind)).toContain("lock-held-at-free");
  });
});

describe("RwLock under the explorer", () => {
  it("DFS with reduction reaches every outcome the unreduced search does (readers see the writer's value or not)", () => {
    const outcomes = (reduction: "dpor" | "none") => {
      const seen = new Set<string>();
      const s = (sim: Sim) => {
        const l = new RwLock(sim, "L", { static: true });
        const data = sim.share({ value: 0 });
        const saw: number[] = [];
        for (const name of ["r1", "r2"]) {
          sim.spawn(name, "process", function* () {
            yield* l.readLock();
            yield* access(data, "read");
            saw.push(data.value);
            // The second reader records the pair, in spawn-independent order.
            if (saw.length === 2) seen.add([...saw].sort().join(","));
            yield* l.readUnlock();
          });
        }
        sim.spawn("w", "process", function* () {
          yield* l.writeLock();
          yield* access(data, "write");
          data.value = 1;
          yield* l.writeUnlock();
        });
      };
      explore(s, { strategy: { name: "dfs", reduction }, executions: 20_000, stopAtFirst: false });
      return [...seen].sort();
    };
    expect(outcomes("none")).toEqual(["0,0", "0,1", "1,1"]);
    expect(outcomes("dpor")).toEqual(outcomes("none"));
  });

  it("no reader ever sees a half-done write under 100 random seeds", () => {
    for (let seed = 0; seed < 100; seed++) {
      const sim = collectingSim({ seed, strategy: "random" });
      const l = new RwLock(sim, "L");
      const pair = { a: 0, b: 0 };
      let torn = 0;
      sim.spawn("writer", "process", function* () {
        for (let i = 1; i <= 3; i++) {
          const flags = yield* l.writeLockIrqsave();
          pair.a = i;
          yield* access(l, "read"); // a scheduling point inside the atomic section
          pair.b = i;
          yield* l.writeUnlockIrqrestore(flags);
        }
      });
      for (const name of ["r1", "r2"]) {
        sim.spawn(name, "process", function* () {
          for (let i = 0; i < 3; i++) {
            yield* l.readLock();
            if (pair.a !== pair.b) torn++;
            yield* access(l, "read"); // a scheduling point inside the atomic section
            yield* l.readUnlock();
          }
        });
      }
      expect(sim.runAll().outcome).toBe("done");
      expect(torn).toBe(0);
      expect(sim.reports).toEqual([]);
    }
  });
});

describe("RwLock: queued (the qrwlock, the default) or not", () => {
  /** A reader that takes the read side twice, with a writer arriving in between; `section` wraps the second read_lock. */
  const readTwice = (section: "process" | "softirq") => {
    // step  r/1                     w/2
    //  1    start; read_lock
    //  2                            start; write_lock
    //  3    read-lock: reading
    //  4                            write-lock-queue: w/2 waits, holding off new readers
    //  5    read_lock again: process context waits behind w/2 (deadlock); in a softirq section it goes in
    const sim = collectingSim();
    const l = new RwLock(sim, "L");
    sim.spawn("r", "process", function* () {
      yield* l.readLock();
      if (section === "softirq") softirqEnter();
      yield* l.readLock();
      yield* l.readUnlock();
      if (section === "softirq") softirqExit();
      yield* l.readUnlock();
    });
    // The writer keeps softirqs off: a softirq reader must not spin on it (lockdep would say so).
    sim.spawn("w", "process", function* () {
      yield* l.writeLockBh();
      yield* l.writeUnlockBh();
    });
    return { sim, outcome: sim.runAll().outcome };
  };

  it("a process-context reader re-taking the read side behind a queued writer deadlocks, and lockdep saw it coming (plain reads)", () => {
    const { sim, outcome } = readTwice("process");
    expect(outcome).toBe("deadlock");
    const kinds = sim.reports.map((r) => r.kind);
    expect(kinds[0]).toBe("recursive-locking");
    expect(sim.reports[0]).toMatchObject({ lockClass: "L", first: { read: true } });
    expect(kinds).toContain("deadlock");
  });

  it("in interrupt context (a softirq section) the reader goes past the queued writer: no deadlock, no report", () => {
    const { sim, outcome } = readTwice("softirq");
    expect(outcome).toBe("done");
    expect(sim.reports).toEqual([]);
  });

  it("with queued: false, the same reader never waits for the writer", () => {
    const sim = collectingSim();
    const l = new RwLock(sim, "L", { queued: false });
    expect(l.queued).toBe(false);
    expect(new RwLock(sim, "M").queued).toBe(true);
    sim.spawn("r", "process", function* () {
      yield* l.readLock();
      yield* l.readLock();
      yield* l.readUnlock();
      yield* l.readUnlock();
    });
    sim.spawn("w", "process", function* () {
      yield* l.writeLock();
      yield* l.writeUnlock();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.reports).toEqual([]);
  });
});
