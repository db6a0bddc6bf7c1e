/**
 * Ops run in a task of one Sim on operands of another: each is a
 * ForeignSimError naming the argument as the caller wrote it (`this`,
 * `nest`, `ctx`, `wwClass`, `arguments[i]`) and the operand's own label and
 * Sim; nothing changes in either Sim.
 */
import { describe, expect, it } from "vitest";
import { defineOp, ForeignSimError, Mutex, SimObject, SpinLock, WwAcquireCtx, WwClass, WwMutex, type Op, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

/** Run `make()`'s op in a task of `sim`; return the error it threw. */
function thrownIn(sim: Sim, make: () => Op<unknown>): ForeignSimError {
  let caught: unknown = null;
  sim.run(function* () {
    try {
      yield* make();
    } catch (e) {
      caught = e;
    }
  });
  expect(caught).toBeInstanceOf(ForeignSimError);
  return caught as ForeignSimError;
}

describe("bad input: ops on another Sim's objects name the argument and the object", () => {
  it("WwAcquireCtx.init(cls) in a task of another Sim names wwClass and the class; no stamp is taken", () => {
    const mine = collectingSim();
    const theirs = collectingSim();
    const cls = new WwClass(theirs, "test_ww_class", { algorithm: "wait-die" });
    const e = thrownIn(mine, () => WwAcquireCtx.init(cls));
    expect(e.argument).toBe("wwClass");
    expect([e.op, e.object, e.objectSim]).toEqual(["ww_acquire_init", cls.label, theirs.label]);
    expect(e.usedIn).toContain(mine.label);
    expect(e.message).not.toContain(`${theirs.label} belongs to`);
    expect(cls.stamp).toBe(0);
    expect([mine.reports, theirs.reports]).toEqual([[], []]);
  });

  for (const [type, make] of [
    ["SpinLock", (sim: Sim, name: string) => new SpinLock(sim, name)],
    ["Mutex", (sim: Sim, name: string) => new Mutex(sim, name)],
  ] as const) {
    it(`${type}.lockNestLock(nest) with nest of another Sim names nest; the lock stays free`, () => {
      const mine = collectingSim();
      const theirs = collectingSim();
      const inner = make(mine, "inner");
      const outer = make(theirs, "outer");
      const e = thrownIn(mine, () => inner.lockNestLock(outer));
      expect([e.argument, e.object, e.objectSim]).toEqual(["nest", outer.label, theirs.label]);
      expect([inner.isLocked(), outer.isLocked(), mine.reports, theirs.reports]).toEqual([false, false, [], []]);
    });

    it(`${type}.lockNestLock(nest) on a lock of another Sim names this`, () => {
      const mine = collectingSim();
      const theirs = collectingSim();
      const inner = make(theirs, "inner");
      const outer = make(mine, "outer");
      const e = thrownIn(mine, () => inner.lockNestLock(outer));
      expect([e.argument, e.object]).toEqual(["this", inner.label]);
      expect(inner.isLocked()).toBe(false);
    });
  }

  it("WwMutex.lock(ctx) on another Sim's mutex names this, the mutex", () => {
    const mine = collectingSim();
    const theirs = collectingSim();
    const cls = new WwClass(theirs, "c", { algorithm: "wait-die" });
    const m = new WwMutex(theirs, cls, { name: "m" });
    const e = thrownIn(mine, () => m.lock(null));
    expect([e.argument, e.object]).toEqual(["this", m.label]);
    expect(m.isLocked()).toBe(false);
  });

  it("a defineOp() op names the position of the foreign argument", () => {
    const mine = collectingSim();
    const theirs = collectingSim();
    const bo = new SimObject(theirs, "Bo");
    let ran = 0;
    const use = defineOp("use_two", function* (_a: number, _b: SimObject) {
      ran++;
      yield* [];
    });
    const e = thrownIn(mine, () => use(1, bo));
    expect([e.argument, e.object, e.op]).toEqual(["arguments[1]", bo.label, "use_two"]);
    expect(ran).toBe(0);
  });
});
