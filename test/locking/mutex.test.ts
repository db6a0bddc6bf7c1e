/**
 * Mutex: mutual exclusion, trylock, interruptible waits, unlock balance.
 * (Its lockdep families are in test/kernel/lockdep.test.ts; sleeping in atomic context
 * in test/kernel/context.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { collectingSim as newSim } from "../support/collecting-sim.js";
import { condResched, Mutex, Sim, SpinLock, type Report, type ReportKind, type Task } from "../../src/index.js";

function onlyReport<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

describe("Mutex: mutual exclusion", () => {
  it("no update is lost under 100 seeds, with lock, trylock and lockInterruptible", () => {
    for (let seed = 0; seed < 100; seed++) {
      const sim = newSim({ seed, strategy: "random" });
      const m = new Mutex(sim, "counter_lock");
      let counter = 0;
      let inside = 0;
      let maxInside = 0;
      const critical = function* () {
        inside++;
        maxInside = Math.max(maxInside, inside);
        const v = counter;
        yield* condResched();
        counter = v + 1;
        inside--;
      };
      sim.spawn("locker", "process", function* () {
        for (let i = 0; i < 3; i++) {
          yield* m.lock();
          yield* critical();
          yield* m.unlock();
        }
      });
      sim.spawn("trier", "process", function* () {
        for (let done = 0; done < 3; ) {
          if (yield* m.trylock()) {
            yield* critical();
            yield* m.unlock();
            done++;
          } else {
            yield* condResched();
          }
        }
      });
      sim.spawn("interruptible", "worker", function* () {
        for (let i = 0; i < 3; i++) {
          expect(yield* m.lockInterruptible()).toBe("locked");
          yield* critical();
          yield* m.unlock();
        }
      });
      expect(sim.runAll().outcome).toBe("done");
      expect([counter, maxInside]).toEqual([9, 1]);
      expect(sim.reports).toEqual([]);
    }
  });
});

describe("Mutex: trylock, isLocked, holder", () => {
  it("trylock takes a free mutex and fails on a held one", () => {
    // step  a/1                      b/2
    //  1    start; mutex_trylock
    //  2                             start; mutex_trylock
    //  3    trylock: true
    //  4                             trylock: false (held by a/1)
    //  5    unlock
    //  6                             cond_resched
    //  7                             trylock: true
    const sim = newSim();
    const m = new Mutex(sim, "M");
    const log: string[] = [];
    sim.spawn("a", "process", function* () {
      const ok = yield* m.trylock();
      log.push(`${sim.step} a: ${ok}, holder ${m.holder?.label ?? "none"}`);
      yield* m.unlock();
      log.push(`${sim.step} a unlocked: isLocked ${m.isLocked()}`);
    });
    sim.spawn("b", "process", function* () {
      const busy = yield* m.trylock();
      log.push(`${sim.step} b: ${busy}, isLocked ${m.isLocked()}`);
      yield* condResched();
      const free = yield* m.trylock();
      log.push(`${sim.step} b: ${free}, holder ${m.holder?.label ?? "none"}`);
      yield* m.unlock();
    });
    sim.runAll();
    expect(log).toEqual([
      "3 a: true, holder a/1",
      "4 b: false, isLocked true",
      "5 a unlocked: isLocked false",
      "7 b: true, holder b/2",
    ]);
    expect(sim.reports).toEqual([]);
  });
});

describe("Mutex: lockInterruptible", () => {
  // step  holder/1            waiter/2                        killer/3
  //  1    start; mutex_lock
  //  2                        start; mutex_lock_interruptible
  //  3                                                        start (cond_resched)
  //  4    lock: holds M
  //  -                        (blocked: M held by holder/1)
  //  5                                                        cond_resched; kill
  //  6    cond_resched
  //  7                        woken by the signal: "interrupted"
  //  8    cond_resched
  //  9    unlock
  function run(kill: boolean): { sim: Sim; waiter: Task; log: string[] } {
    const sim = newSim();
    const m = new Mutex(sim, "M");
    const log: string[] = [];
    sim.spawn("holder", "process", function* () {
      yield* m.lock();
      yield* condResched();
      yield* condResched();
      yield* m.unlock();
      log.push(`${sim.step} holder unlocked`);
    });
    const waiter = sim.spawn("waiter", "process", function* () {
      const r = yield* m.lockInterruptible();
      log.push(`${sim.step} waiter: ${r}, holder ${m.holder?.label ?? "none"}`);
      if (r === "locked") yield* m.unlock();
    });
    sim.spawn("killer", "process", function* () {
      yield* condResched();
      if (kill) waiter.kill();
    });
    expect(sim.runAll().outcome).toBe("done");
    return { sim, waiter, log };
  }

  it('returns "interrupted" when the waiting task is killed, leaving nothing held', () => {
    const { sim, log } = run(true);
    expect(log).toEqual(["7 waiter: interrupted, holder holder/1", "9 holder unlocked"]);
    // The interrupted attempt left lockdep's held stack clean: no bad unlock, no lock held at exit.
    expect(sim.reports).toEqual([]);
  });

  it('returns "locked" when nobody signals it', () => {
    const { sim, log } = run(false);
    expect(log).toEqual(["8 holder unlocked", "9 waiter: locked, holder waiter/2"]);
    expect(sim.reports).toEqual([]);
  });

  it('takes a free mutex even with a signal pending, as the fast path does', () => {
    const sim = newSim();
    const m = new Mutex(sim, "M");
    const r = sim.run(function* () {
      const me = sim.tasks[0] as Task;
      me.kill();
      const got = yield* m.lockInterruptible();
      yield* m.unlock();
      return got;
    });
    expect(r).toBe("locked");
  });
});

describe("Mutex: unlock balance", () => {
  it("unlocking a mutex nobody holds is bad-unlock with no holder", () => {
    const sim = newSim();
    const m = new Mutex(sim, "M");
    sim.run(function* () {
      yield* m.unlock();
    });
    expect(onlyReport(sim, "bad-unlock")).toMatchObject({ lock: m.label, owner: null, held: [] });
  });

  it("a double unlock is one bad-unlock", () => {
    const sim = newSim();
    const m = new Mutex(sim, "M");
    sim.run(function* () {
      yield* m.lock();
      yield* m.unlock();
      yield* m.unlock();
      yield* m.unlock();
    });
    expect(onlyReport(sim, "bad-unlock")).toMatchObject({ lock: m.label, owner: null });
  });

  it("unlocking another task's mutex is bad-unlock naming the holder, who still holds it and unlocks cleanly", () => {
    // step  owner/1                 other/2
    //  1    start; mutex_lock
    //  2                            start (cond_resched)
    //  3    lock: holds M
    //  4                            cond_resched; mutex_unlock
    //  5    cond_resched
    //  6                            unlock: bad-unlock, owner owner/1
    //  7    cond_resched: still holds M
    //  8    unlock (clean)
    const sim = newSim();
    const m = new Mutex(sim, "M");
    const seen: string[] = [];
    sim.spawn("owner", "process", function* () {
      yield* m.lock();
      yield* condResched();
      yield* condResched();
      seen.push(`${sim.step} holder ${m.holder?.label ?? "none"}, assertHeld ${m.assertHeld()}`);
      yield* m.unlock();
    });
    sim.spawn("other", "process", function* () {
      yield* condResched();
      yield* m.unlock();
      seen.push(`${sim.step} after bad unlock: holder ${m.holder?.label ?? "none"}`);
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(seen).toEqual(["6 after bad unlock: holder owner/1", "7 holder owner/1, assertHeld true"]);
    expect(onlyReport(sim, "bad-unlock")).toMatchObject({ lock: m.label, owner: "owner/1", task: "other/2", step: 6, held: [] });
    expect(m.isLocked()).toBe(false);
  });
});

describe("Mutex: lockKillable", () => {
  // step  holder/1            waiter/2                     killer/3
  //  1    start; mutex_lock
  //  2                        start; mutex_lock_killable
  //  3                                                     start (cond_resched)
  //  4    lock: holds M
  //  -                        (blocked: M held by holder/1)
  //  5                                                     cond_resched; kill
  //  6    cond_resched
  //  7                        woken by the fatal signal: "interrupted"
  for (const kill of [true, false]) {
    it(`returns ${kill ? '"interrupted" (-EINTR) on a fatal signal' : '"locked" when nobody kills it'}, leaving lockdep clean`, () => {
      const sim = newSim();
      const m = new Mutex(sim, "M");
      let got: string | undefined;
      sim.spawn("holder", "process", function* () {
        yield* m.lock();
        yield* condResched();
        yield* condResched();
        yield* m.unlock();
      });
      const waiter = sim.spawn("waiter", "process", function* () {
        got = yield* m.lockKillable();
        if (got === "locked") {
          expect(m.assertHeld()).toBe(true);
          yield* m.unlock();
        }
      });
      sim.spawn("killer", "process", function* () {
        yield* condResched();
        if (kill) waiter.kill();
      });
      expect(sim.runAll().outcome).toBe("done");
      expect(got).toBe(kill ? "interrupted" : "locked");
      expect(sim.reports).toEqual([]);
    });
  }

  it("under a spinlock it is sleep-in-atomic naming mutex_lock_killable", () => {
    const sim = newSim();
    const m = new Mutex(sim, "M");
    const s = new SpinLock(sim, "s");
    sim.run(function* () {
      yield* s.lock();
      if ((yield* m.lockKillable()) === "locked") yield* m.unlock();
      yield* s.unlock();
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["sleep-in-atomic"]);
    expect(sim.reports[0]).toMatchObject({ op: "mutex_lock_killable", reason: "spinlock" });
  });
});
