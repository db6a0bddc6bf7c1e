/**
 * SpinLock: mutual exclusion, trylock, irqsave/bh variants, unlock balance,
 * and how interrupt tasks are scheduled around spinlocks.
 */
import { describe, expect, it } from "vitest";
import { collectingSim as newSim } from "../support/collecting-sim.js";
import {
  access,
  condResched,
  current,
  localIrqRestore,
  localIrqSave,
  Sim,
  SpinLock,
  type Report,
  type ReportKind,
  type Task,
} from "../../src/index.js";

function onlyReport<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

/** Three tasks each add 1 to a counter three times, reading and writing it in different steps. */
function counterRun(seed: number, locked: boolean): { sim: Sim; counter: number } {
  const sim = newSim({ seed, strategy: "random" });
  const l = new SpinLock(sim, "counter_lock");
  let counter = 0;
  for (const name of ["a", "b", "c"]) {
    sim.spawn(name, "process", function* () {
      for (let i = 0; i < 3; i++) {
        if (locked) yield* l.lock();
        const v = counter;
        yield* access(l, "read");
        counter = v + 1;
        if (locked) yield* l.unlock();
      }
    });
  }
  expect(sim.runAll().outcome).toBe("done");
  return { sim, counter };
}

describe("SpinLock: mutual exclusion", () => {
  it("no update is lost under 100 seeds", () => {
    for (let seed = 0; seed < 100; seed++) {
      const { sim, counter } = counterRun(seed, true);
      expect(counter).toBe(9);
      expect(sim.reports).toEqual([]);
    }
  });

  it("(without the lock, some seed loses an update: the test can fail)", () => {
    const lost = Array.from({ length: 100 }, (_, seed) => counterRun(seed, false).counter).filter((c) => c < 9);
    expect(lost.length).toBeGreaterThan(0);
  });
});

describe("SpinLock: trylock, isLocked, holder", () => {
  it("trylock takes a free lock and fails on a held one, its own included", () => {
    // step  owner/1                       other/2
    //  1    start; spin_trylock
    //  2                                  start (cond_resched)
    //  3    trylock: true; isLocked
    //  4                                  cond_resched
    //  5    trylock again: false
    //  6                                  trylock: false (held by owner/1)
    //  7    unlock
    //  8                                  cond_resched
    //  9                                  trylock: true
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    const log: [number, string, unknown][] = [];
    let owner: Task | null = null;
    owner = sim.spawn("owner", "process", function* () {
      const first = yield* l.trylock();
      log.push([sim.step, "owner trylock", first]);
      log.push([sim.step, "isLocked/holder", [l.isLocked(), l.holder === owner]]);
      const again = yield* l.trylock();
      log.push([sim.step, "owner trylock again", again]);
      yield* l.unlock();
      log.push([sim.step, "isLocked after unlock", l.isLocked()]);
    });
    sim.spawn("other", "process", function* () {
      yield* condResched();
      const busy = yield* l.trylock();
      log.push([sim.step, "other trylock", busy]);
      yield* condResched();
      const free = yield* l.trylock();
      log.push([sim.step, "other trylock after unlock", free]);
      yield* l.unlock();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(log).toEqual([
      [3, "owner trylock", true],
      [3, "isLocked/holder", [true, true]],
      [5, "owner trylock again", false],
      [6, "other trylock", false],
      [7, "isLocked after unlock", false],
      [9, "other trylock after unlock", true],
    ]);
    expect(sim.reports).toEqual([]);
    expect(l.holder).toBe(null);
  });

  it("a waiter blocks until the holder unlocks", () => {
    // step  a/1                    b/2
    //  1    start; spin_lock
    //  2                           start; spin_lock
    //  3    lock: holds L
    //  -                           (blocked: L held by a/1)
    //  4    access L   
    //  5    unlock
    //  6                           lock: holds L
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    const log: string[] = [];
    sim.spawn("a", "process", function* () {
      yield* l.lock();
      log.push(`${sim.step} a locked`);
      yield* access(l, "read");
      yield* l.unlock();
      log.push(`${sim.step} a unlocked`);
    });
    sim.spawn("b", "process", function* () {
      yield* l.lock();
      log.push(`${sim.step} b locked, holder ${l.holder?.label ?? "none"}`);
      yield* l.unlock();
    });
    sim.runAll();
    expect(log).toEqual(["3 a locked", "5 a unlocked", "6 b locked, holder b/2"]);
  });

  it("assertHeld() is true for the holder, and a lock-not-held report for anyone else", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    const results: boolean[] = [];
    sim.run(function* () {
      results.push(l.assertHeld());
      yield* l.lock();
      results.push(l.assertHeld());
      yield* l.unlock();
    });
    expect(results).toEqual([false, true]);
    expect(onlyReport(sim, "lock-not-held")).toMatchObject({ lock: l.label, owner: null });
  });
});

describe("SpinLock: irqsave and bh variants", () => {
  it("lockIrqsave disables irqs and unlockIrqrestore restores the exact saved state", () => {
    const sim = newSim();
    const a = new SpinLock(sim, "A");
    const b = new SpinLock(sim, "B");
    const seen: [string, number][] = [];
    sim.run(function* () {
      const t = current();
      const fa = yield* a.lockIrqsave();
      seen.push(["A held", t.irqsOff]);
      const fb = yield* b.lockIrqsave();
      seen.push(["A, B held", t.irqsOff]);
      yield* b.unlockIrqrestore(fb);
      seen.push(["B restored", t.irqsOff]);
      yield* a.unlockIrqrestore(fa);
      seen.push(["A restored", t.irqsOff]);
      // Inside an irq-disabled section, restoring gives back "disabled".
      localIrqSave();
      const fc = yield* a.lockIrqsave();
      seen.push(["A in irq-off section", t.irqsOff]);
      yield* a.unlockIrqrestore(fc);
      seen.push(["A restored in section", t.irqsOff]);
      localIrqRestore();
      seen.push(["section ended", t.irqsOff]);
    });
    expect(seen).toEqual([
      ["A held", 1],
      ["A, B held", 2],
      ["B restored", 1],
      ["A restored", 0],
      ["A in irq-off section", 2],
      ["A restored in section", 1],
      ["section ended", 0],
    ]);
    expect(sim.reports).toEqual([]);
  });

  it("restoring out of order restores what was saved, as local_irq_restore() does", () => {
    // A's flags say "irqs on", B's "irqs off": restoring A first turns irqs
    // on with B still held, restoring B then turns them off again.
    const sim = newSim();
    const a = new SpinLock(sim, "A");
    const b = new SpinLock(sim, "B");
    const seen: number[] = [];
    sim.run(function* () {
      const t = current();
      const fa = yield* a.lockIrqsave();
      const fb = yield* b.lockIrqsave();
      yield* a.unlockIrqrestore(fa);
      seen.push(t.irqsOff);
      yield* b.unlockIrqrestore(fb);
      seen.push(t.irqsOff);
      localIrqRestore();
    });
    expect(seen).toEqual([0, 1]);
  });

  it("lockBh disables bottom halves and unlockBh enables them again", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    const seen: number[] = [];
    sim.run(function* () {
      yield* l.lockBh();
      seen.push(current().bhOff, current().preemptCount);
      yield* l.unlockBh();
      seen.push(current().bhOff, current().preemptCount);
    });
    expect(seen).toEqual([1, 1, 0, 0]);
  });
});

describe("SpinLock: unlock balance", () => {
  it("unlocking a lock nobody holds is bad-unlock with no holder", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    sim.run(function* () {
      yield* l.lock();
      yield* l.unlock();
      yield* l.unlock(); // double unlock
    });
    const r = onlyReport(sim, "bad-unlock");
    expect(r).toMatchObject({ lock: l.label, owner: null, task: "main/1", held: [] });
  });

  it("unlocking another task's lock is bad-unlock naming the holder, who still holds it", () => {
    // step  owner/1                 thief/2
    //  1    start; spin_lock
    //  2                            start (cond_resched)
    //  3    lock: holds L
    //  4                            cond_resched; spin_unlock
    //  5    access L   
    //  6                            unlock: bad-unlock, owner owner/1
    //  7    access L   : still holds L
    //  8    unlock (clean)
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    const seen: string[] = [];
    sim.spawn("owner", "process", function* () {
      yield* l.lock();
      yield* access(l, "read");
      yield* access(l, "read");
      seen.push(`${sim.step} holder ${l.holder?.label ?? "none"}, preempt ${current().preemptCount}`);
      yield* l.unlock();
    });
    sim.spawn("thief", "process", function* () {
      yield* condResched();
      yield* l.unlock();
      seen.push(`${sim.step} after bad unlock: holder ${l.holder?.label ?? "none"}, preempt ${current().preemptCount}`);
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(seen).toEqual(["6 after bad unlock: holder owner/1, preempt 0", "7 holder owner/1, preempt 1"]);
    expect(onlyReport(sim, "bad-unlock")).toMatchObject({ lock: l.label, owner: "owner/1", task: "thief/2", step: 6 });
    expect(l.isLocked()).toBe(false);
  });
});

describe("SpinLock: interrupts", () => {
  it("a hardirq cannot start while the only other task holds a lock with irqs saved; it runs after the restore", () => {
    // step  p/1                              irq/2
    //  1    start; spin_lock_irqsave         (irqs on: could start, not picked)
    //  2    lock: holds L, irqs off          (cannot start)
    //  3    access L                        (cannot start)
    //  4    unlock, irqs restored
    //  5                                     irq-enter: interrupts p/1
    //  6                                     access L   , returns
    //  7    cond_resched
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    const log: string[] = [];
    sim.spawn("p", "process", function* () {
      const flags = yield* l.lockIrqsave();
      log.push(`${sim.step} p locked`);
      yield* access(l, "read");
      yield* l.unlockIrqrestore(flags);
      log.push(`${sim.step} p unlocked`);
      yield* condResched();
      log.push(`${sim.step} p done`);
    });
    sim.spawn("irq", "hardirq", function* () {
      log.push(`${sim.step} irq runs on ${current().interrupts?.label ?? "an idle CPU"}`);
      yield* access(l, "read");
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(log).toEqual(["2 p locked", "4 p unlocked", "5 irq runs on p/1", "7 p done"]);
    expect(sim.reports).toEqual([]);
  });

  it("a softirq cannot start while the only other task holds a lock with bottom halves off", () => {
    // step  p/1                    bh/2
    //  1    start; spin_lock_bh
    //  2    lock: holds L, BHs off  (cannot start)
    //  3    unlock, BHs on
    //  4                           irq-enter: interrupts p/1, returns
    //  5    cond_resched
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    const log: string[] = [];
    sim.spawn("p", "process", function* () {
      yield* l.lockBh();
      log.push(`${sim.step} p locked`);
      yield* l.unlockBh();
      log.push(`${sim.step} p unlocked`);
      yield* condResched();
    });
    sim.spawn("bh", "softirq", function* () {
      log.push(`${sim.step} softirq runs on ${current().interrupts?.label ?? "an idle CPU"}`);
      yield* access(l, "read");
    });
    sim.runAll();
    expect(log).toEqual(["2 p locked", "3 p unlocked", "4 softirq runs on p/1"]);
  });

  it("an irq that interrupts the holder of L and takes L itself deadlocks", () => {
    // step  p/1                              irq/2
    //  1    start; spin_lock L
    //  2    lock: holds L (irqs on);
    //       spawns irq/2
    //  3                                     irq-enter: interrupts p/1;
    //                                        spin_lock L: irq-lock-inversion
    //  -    deadlock: p/1 waits for irq/2 to return, irq/2 spins on L held by p/1
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    sim.spawn("p", "process", function* () {
      yield* l.lock();
      sim.spawn("irq", "hardirq", function* () {
        yield* l.lock();
        yield* l.unlock();
      });
      yield* access(l, "read");
      yield* l.unlock();
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    expect(sim.reports.map((r) => r.kind)).toEqual(["irq-lock-inversion", "deadlock"]);
    expect(sim.reports[0]).toMatchObject({ irq: "hardirq", variant: "inconsistent", task: "irq/2", step: 3 });
    const d = sim.reports[1] as Extract<Report, { kind: "deadlock" }>;
    expect(d.step).toBe(3);
    expect(d.cycle.map((e) => [e.task, e.blockedIn, e.waitsFor, e.wakers])).toEqual([
      ["p/1", "interrupted", "irq/2 to return", ["irq/2"]],
      ["irq/2", "lock", l.label, ["p/1"]],
    ]);
  });

  it("the same irq against a holder that saved irqs waits for the unlock instead", () => {
    // step  p/1                              irq/2
    //  1    start; spin_lock_irqsave L
    //  2    lock: holds L, irqs off;
    //       spawns irq/2                     (cannot start)
    //  3    access L                        (cannot start)
    //  4    unlock, irqs restored
    //  5                                     irq-enter: interrupts p/1; spin_lock L
    //  6                                     lock: holds L
    //  7                                     unlock, returns
    //  8    cond_resched
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    const log: string[] = [];
    sim.spawn("p", "process", function* () {
      const flags = yield* l.lockIrqsave();
      sim.spawn("irq", "hardirq", function* () {
        yield* l.lock();
        log.push(`${sim.step} irq locked`);
        yield* l.unlock();
      });
      yield* access(l, "read");
      yield* l.unlockIrqrestore(flags);
      log.push(`${sim.step} p unlocked`);
      yield* condResched();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(log).toEqual(["4 p unlocked", "6 irq locked"]);
    expect(sim.reports).toEqual([]);
  });
});
