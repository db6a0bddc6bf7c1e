/**
 * Every public function that acts at once on the current task (not an op)
 * refuses to run outside a simulated task with a UsageError naming itself,
 * and changes nothing.
 */
import { describe, expect, it } from "vitest";
import * as lib from "../../src/index.js";
import { LocalLock, Mutex, RawSpinLock, RwLock, RwSemaphore, SpinLock, UsageError, WwAcquireCtx, WwClass, WwMutex } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

const CONTEXT_FUNCTIONS: readonly [string, (...args: never[]) => unknown][] = [
  ["mightSleep", lib.mightSleep],
  ["preemptDisable", lib.preemptDisable],
  ["preemptEnable", lib.preemptEnable],
  ["preemptCount", lib.preemptCount],
  ["hardirqEnter", lib.hardirqEnter],
  ["hardirqExit", lib.hardirqExit],
  ["softirqEnter", lib.softirqEnter],
  ["softirqExit", lib.softirqExit],
  ["localIrqSave", lib.localIrqSave],
  ["localIrqRestore", lib.localIrqRestore],
  ["localBhDisable", lib.localBhDisable],
  ["localBhEnable", lib.localBhEnable],
  ["fsReclaimAcquire", lib.fsReclaimAcquire],
  ["fsReclaimRelease", lib.fsReclaimRelease],
  ["dmaFenceBeginSignalling", lib.dmaFenceBeginSignalling],
  [
    "dmaFenceEndSignalling",
    () => {
      lib.dmaFenceEndSignalling(true);
    },
  ],
  ["dmaFenceMightWait", lib.dmaFenceMightWait],
];

describe("bad input: context functions and lock queries outside a task", () => {
  for (const [name, call] of CONTEXT_FUNCTIONS) {
    it(`${name}() outside a task is a UsageError naming ${name}`, () => {
      const e = expectThrows(() => call(), UsageError);
      expect(e.message).toBe(`${name}() called outside a simulated task`);
    });
  }

  it("lockMapAcquire()/lockMapRelease() outside a task name themselves; the map stays unheld", () => {
    const sim = collectingSim();
    const map = sim.lockdep.maps.fsReclaim;
    expect(expectThrows(() => { lib.lockMapAcquire(map); }, UsageError).message).toBe("lockMapAcquire() called outside a simulated task");
    expect(expectThrows(() => { lib.lockMapRelease(map); }, UsageError).message).toBe("lockMapRelease() called outside a simulated task");
    expect(sim.reports).toEqual([]);
  });

  it("each lock's assertHeld()/assertHeldWrite()/isLocked() query names the type and method; nothing is filed", () => {
    const sim = collectingSim();
    const cls = new WwClass(sim, "c", { algorithm: "wait-die" });
    const locks = {
      Mutex: new Mutex(sim, "m"),
      SpinLock: new SpinLock(sim, "s"),
      RawSpinLock: new RawSpinLock(sim, "r"),
      RwLock: new RwLock(sim, "rw"),
      RwSemaphore: new RwSemaphore(sim, "sem"),
      LocalLock: new LocalLock(sim, "ll"),
      WwMutex: new WwMutex(sim, cls, { name: "ww" }),
    };
    for (const [type, l] of Object.entries(locks)) {
      expect(expectThrows(() => l.assertHeld(), UsageError).message).toBe(`${type}.assertHeld() called outside a simulated task`);
    }
    expect(expectThrows(() => locks.RwLock.assertHeldWrite(), UsageError).message).toBe("RwLock.assertHeldWrite() called outside a simulated task");
    expect(expectThrows(() => locks.RwSemaphore.assertHeldWrite(), UsageError).message).toBe("RwSemaphore.assertHeldWrite() called outside a simulated task");
    expect(expectThrows(() => locks.LocalLock.isLocked(), UsageError).message).toBe("LocalLock.isLocked() called outside a simulated task");
    expect(sim.reports).toEqual([]);
  });

  it("WwAcquireCtx.done()/fini() outside a task name themselves and leave the context as it was", () => {
    const sim = collectingSim();
    const cls = new WwClass(sim, "c", { algorithm: "wait-die" });
    // The context escapes its task (which ends holding its map: lock-held-at-exit).
    const c = sim.run(function* () {
      return yield* WwAcquireCtx.init(cls);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["lock-held-at-exit"]);
    expect(expectThrows(() => { c.done(); }, UsageError).message).toBe("WwAcquireCtx.done() called outside a simulated task");
    expect(expectThrows(() => { c.fini(); }, UsageError).message).toBe("WwAcquireCtx.fini() called outside a simulated task");
    expect([c.isDone, c.isFinished, sim.reports.length]).toEqual([false, false, 1]);
  });
});
