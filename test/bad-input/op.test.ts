import { describe, expect, it } from "vitest";
import { ArgumentError, condResched, defineOp, ForeignSimError, Lockdep, Mutex, RwSemaphore, Sim, SpinLock, UsageError } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("bad input: ops (defineOp, driving ops, choose)", () => {
  it("defineOp(): a bad name or body names the argument", () => {
    expectThrows(() => defineOp("", function* () {
      yield* [];
    }), ArgumentError, "name");
    expectThrows(() => defineOp(5 as never, function* () {
      yield* [];
    }), ArgumentError, "name");
    expectThrows(() => defineOp("x", 5 as never), ArgumentError, "fn");
  });

  it("an op driven outside any task (for-of, spread, next()) is a UsageError; its body never runs", () => {
    let ran = 0;
    const op = defineOp("count", function* () {
      ran++;
      yield* condResched();
    });
    expectThrows(() => {
      for (const e of op()) expect(e).toBeUndefined();
    }, UsageError);
    expectThrows(() => [...op()], UsageError);
    expectThrows(() => op()[Symbol.iterator]().next(), UsageError);
    expectThrows(() => (condResched() as unknown as Iterator<unknown>).next(), UsageError);
    expect(ran).toBe(0);
  });

  it("next(), return() and throw() on any op outside a task are a UsageError, and the op still runs once under yield*", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    const s = new SpinLock(sim, "s");
    let ran = 0;
    const mine = defineOp("mine", function* () {
      ran++;
      yield* condResched();
    });
    type Hand = Record<"next" | "return" | "throw", (x?: unknown) => unknown>;
    const ops = {
      reinit: m.reinit(), // generator op
      defineOp: mine(), // generator op of driver code
      lockIrqsave: s.lockIrqsave(), // generator op
      mutexLock: m.lock(), // step op
      condResched: condResched(), // step op
    };
    for (const [name, op] of Object.entries(ops)) {
      for (const method of ["next", "return", "throw"] as const) {
        const e = expectThrows(() => (op as unknown as Hand)[method](new Error("x")), UsageError);
        expect(e.message, `${name}.${method}()`).toContain(`op ${op.name} driven outside a simulated task`);
      }
      expect(op.started, name).toBe(false);
    }
    sim.run(function* () {
      yield* ops.reinit;
      yield* ops.defineOp;
      const flags = yield* ops.lockIrqsave;
      yield* s.unlockIrqrestore(flags);
      yield* ops.mutexLock;
      yield* m.unlock();
      yield* ops.condResched;
    });
    expect([ran, m.isLocked(), s.isLocked(), sim.reports]).toEqual([1, false, false, []]);
  });

  it("next() on a generator op inside a task is a UsageError too (only yield* drives it)", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    sim.run(function* () {
      const op = m.reinit();
      expectThrows(() => (op as unknown as { next(): unknown }).next(), UsageError);
      yield* op;
    });
    expect(sim.reports).toEqual([]);
  });

  it("an op started twice is a UsageError", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const op = condResched();
      yield* op;
      expectThrows(() => op[Symbol.iterator](), UsageError);
    });
    expect(sim.reports).toEqual([]);
  });

  it("another Sim's choose() in a task is a ForeignSimError naming both Sims; no choice is made", () => {
    const sim = collectingSim();
    const other = new Sim();
    sim.run(function* () {
      let e: unknown;
      try {
        yield* other.choose(2);
      } catch (error) {
        e = error;
      }
      expect(e).toBeInstanceOf(ForeignSimError);
      expect((e as ForeignSimError).argument).toBe("this");
      expect((e as Error).message).toContain(other.label);
    });
    expect([sim.step, other.step, other.choices.length]).toEqual([1, 0, 0]);
  });

  it("a lock's options that are not an object name 'options' (SimObject's check); nothing is allocated", () => {
    const sim = new Sim({ lockdep: new Lockdep() });
    expectThrows(() => new Mutex(sim, "m", null as never), ArgumentError, "options");
    expectThrows(() => new SpinLock(sim, "s", { nmae: "x" } as never), ArgumentError, "nmae");
    expect(sim.liveObjects()).toEqual([]);
  });

  it("lock ops go through the same machinery: outside a task a UsageError, on another Sim's lock a ForeignSimError; no lock is taken", () => {
    const theirs = new Sim({ lockdep: new Lockdep() });
    const locks = [new Mutex(theirs, "m", { static: true }), new SpinLock(theirs, "s", { static: true }), new RwSemaphore(theirs, "r", { static: true })];
    const ops = [() => (locks[0] as Mutex).lock(), () => (locks[1] as SpinLock).lock(), () => (locks[2] as RwSemaphore).downWrite(), () => (locks[0] as Mutex).unlock()];
    for (const op of ops) expectThrows(() => [...op()], UsageError);
    const mine = collectingSim();
    mine.run(function* () {
      for (const op of ops) {
        let e: unknown;
        try {
          yield* op();
        } catch (error) {
          e = error;
        }
        expect(e).toBeInstanceOf(ForeignSimError);
        expect((e as ForeignSimError).argument).toBe("this");
      }
    });
    expect(locks.map((l) => l.holder)).toEqual([null, null, null]);
    expect(mine.reports).toEqual([]);
    expect(theirs.reports).toEqual([]);
  });
});
