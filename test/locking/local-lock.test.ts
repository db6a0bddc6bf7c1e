/**
 * LocalLock (local_lock_t): a per-CPU lock that never waits, disables
 * preemption (or irqs), and is seen by lockdep. Its selftests (local_lock_2,
 * irq usage) are in selftest.test.ts.
 */
import { describe, expect, it } from "vitest";
import { access, current, LocalLock, Mutex } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

describe("LocalLock", () => {
  it("two tasks (two CPUs) hold their own instances at once, never waiting", () => {
    const sim = collectingSim();
    const l = new LocalLock(sim, "pcp->lock");
    const held: number[] = [];
    for (const name of ["cpu0", "cpu1"]) {
      sim.spawn(name, "process", function* () {
        yield* l.lock();
        held.push(l.holders.size);
        expect(l.assertHeld()).toBe(true);
        yield* access(l, "read"); // a scheduling point that is no might-sleep check
        yield* l.unlock();
      });
    }
    expect(sim.runAll().outcome).toBe("done");
    expect(held).toEqual([1, 2]);
    expect(sim.reports).toEqual([]);
  });

  it("local_lock disables preemption: sleeping inside is sleep-in-atomic, reason preempt-disabled, naming the lock", () => {
    const sim = collectingSim();
    const l = new LocalLock(sim, "pcp->lock");
    const m = new Mutex(sim, "m");
    sim.run(function* () {
      yield* l.lock();
      expect(current().preemptDisabled).toBe(1);
      yield* m.lock();
      yield* m.unlock();
      yield* l.unlock();
      expect(current().preemptDisabled).toBe(0);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["sleep-in-atomic"]);
    expect(sim.reports[0]).toMatchObject({ reason: "preempt-disabled", lock: { lockClass: "pcp->lock" } });
  });

  it("local_lock_irq and local_lock_irqsave disable irqs instead, and restore them", () => {
    const sim = collectingSim();
    const l = new LocalLock(sim, "pcp->lock");
    sim.run(function* () {
      yield* l.lockIrq();
      expect([current().irqsOff, current().preemptDisabled]).toEqual([1, 0]);
      yield* l.unlockIrq();
      const flags = yield* l.lockIrqsave();
      expect(current().irqsOff).toBe(1);
      yield* l.unlockIrqrestore(flags);
      expect(current().irqsOff).toBe(0);
    });
    expect(sim.reports).toEqual([]);
  });

  it("unlocking it without holding it is bad-unlock and changes nothing", () => {
    const sim = collectingSim();
    const l = new LocalLock(sim, "pcp->lock");
    sim.run(function* () {
      yield* l.unlock();
      expect(current().preemptDisabled).toBe(0);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["bad-unlock"]);
  });

  // The kernel does not tell the variants apart at unlock: local_unlock_irq()
  // of a local_lock() hold releases it and enables irqs, leaving preemption
  // off. The task's exit reports what was left.
  for (const [lockOp, unlockOp, left] of [
    ["lock", "unlockIrq", { preemptCount: 1, irqsDisabled: false }],
    ["lockIrq", "unlock", { preemptCount: 0, irqsDisabled: true }],
  ] as const) {
    it(`${unlockOp}() of a ${lockOp}() hold releases it; what it did not undo is context-at-exit`, () => {
      const sim = collectingSim();
      const l = new LocalLock(sim, "pcp->lock");
      sim.run(function* () {
        yield* l[lockOp]();
        yield* l[unlockOp]();
        expect(l.isLocked()).toBe(false);
      });
      expect(sim.reports.map((r) => r.kind)).toEqual(["context-at-exit"]);
      expect(sim.reports[0]).toMatchObject({ task: "main/1", ...left });
    });
  }

  it("local_lock() nested (recursive locking) and unlocked twice leaves preemption as it was", () => {
    const sim = collectingSim();
    const l = new LocalLock(sim, "pcp->lock");
    sim.run(function* () {
      yield* l.lock();
      yield* l.lock();
      yield* l.unlock();
      expect(l.isLocked()).toBe(true);
      yield* l.unlock();
      expect([l.isLocked(), current().preemptDisabled]).toEqual([false, 0]);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["recursive-locking"]);
  });
});
