import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  callRcu,
  ForeignSimError,
  kfreeRcu,
  RcuPointer,
  rcuReadLock,
  rcuReadLockHeld,
  rcuReadUnlock,
  Sim,
  SimObject,
  synchronizeRcu,
  UsageError,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

describe("bad input: RCU", () => {
  it("new RcuPointer(): a bad sim or bad options name the argument; nothing is allocated", () => {
    const sim = new Sim();
    const id = nextId(sim);
    expectThrows(() => new RcuPointer({} as never), ArgumentError, "sim");
    expectThrows(() => new RcuPointer(sim, null, null as never), ArgumentError, "options");
    expectThrows(() => new RcuPointer(sim, null, { nam: "p" } as never), ArgumentError, "nam");
    expectThrows(() => new RcuPointer(sim, null, { static: "yes" } as never), ArgumentError, "static");
    expect(sim.liveObjects()).toEqual([]);
    expect(nextId(sim)).toBe(id + 1);
  });

  it("callRcu(): a non-object names 'obj', a non-function names 'fn'; nothing is queued", () => {
    const sim = collectingSim();
    const o = new SimObject(sim, "Obj");
    sim.run(function* () {
      expectThrows(() => callRcu({} as never, () => undefined), ArgumentError, "obj");
      expectThrows(() => callRcu(null as never, () => undefined), ArgumentError, "obj");
      expectThrows(() => callRcu(o, "kfree" as never), ArgumentError, "fn");
      yield* synchronizeRcu();
    });
    expect(sim.tasks.map((t) => t.name)).toEqual(["main"]);
    expect(o.isFreed).toBe(false);
    expect(sim.reports).toEqual([]);
  });

  it("kfreeRcu(): not a SimObject, embedded or static names 'obj'; nothing is queued or freed", () => {
    const sim = collectingSim();
    const box = new SimObject(sim, "Box");
    const inner = new SimObject(sim, "Inner", { embeddedIn: box });
    const global = new SimObject(sim, "Global", { static: true });
    sim.run(function* () {
      expectThrows(() => kfreeRcu(3 as never), ArgumentError, "obj");
      expectThrows(() => kfreeRcu(inner), ArgumentError, "obj");
      expectThrows(() => kfreeRcu(global), ArgumentError, "obj");
      yield* synchronizeRcu();
    });
    expect(sim.tasks.map((t) => t.name)).toEqual(["main"]);
    expect([box.isFreed, inner.isFreed, global.isFreed]).toEqual([false, false, false]);
  });

  it("rcuDereferenceCheck() / rcuDereferenceProtected(): a cond that is neither a lock nor a boolean names 'cond'", () => {
    const sim = collectingSim();
    const p = new RcuPointer<number>(sim, 1, { static: true });
    sim.run(function* () {
      for (const bad of ["lock", null, {}, 1]) {
        expectThrows(() => p.rcuDereferenceCheck(bad as never), ArgumentError, "cond");
        expectThrows(() => p.rcuDereferenceProtected(bad as never), ArgumentError, "cond");
      }
      yield* p.rcuAssignPointer(2);
    });
    expect(sim.reports).toEqual([]);
  });

  it("outside a task: rcuReadLockHeld() and driving an RCU op are UsageErrors; nothing changes", () => {
    const sim = new Sim();
    const p = new RcuPointer<number>(sim, 1, { static: true });
    expectThrows(() => rcuReadLockHeld(), UsageError);
    expectThrows(() => [...rcuReadLock()], UsageError);
    expectThrows(() => [...rcuReadUnlock()], UsageError);
    expectThrows(() => [...p.rcuAssignPointer(5)], UsageError);
    expect(sim.tasks).toEqual([]);
    sim.run(function* () {
      expect(yield* p.rcuAccessPointer()).toBe(1);
      expect(rcuReadLockHeld()).toBe(false);
    });
  });

  it("another Sim's pointer or object in a task is a ForeignSimError naming it; nothing changes", () => {
    const mine = collectingSim();
    const other = new Sim();
    const p = new RcuPointer<number>(other, 1, { static: true });
    const o = new SimObject(other, "Obj");
    mine.run(function* () {
      for (const [op, name] of [
        [() => p.rcuAssignPointer(2), "this"],
        [() => p.rcuDereference(), "this"],
        [() => callRcu(o, () => undefined), "obj"],
        [() => kfreeRcu(o), "obj"],
      ] as const) {
        let e: unknown;
        try {
          yield* op();
        } catch (error) {
          e = error;
        }
        expect(e).toBeInstanceOf(ForeignSimError);
        expect((e as ForeignSimError).argument).toBe(name);
      }
    });
    expect(mine.tasks.map((t) => t.name)).toEqual(["main"]);
    expect(o.isFreed).toBe(false);
    expect(mine.reports).toEqual([]);
    other.run(function* () {
      expect(yield* p.rcuAccessPointer()).toBe(1);
    });
  });
});
