import { describe, expect, it } from "vitest";
import { ArgumentError, ForeignSimError, kfree, Kref, Sim, SimObject, UsageError, type SimObjectOptions } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

const freeIt = function* (o: SimObject) {
  yield* kfree(o);
};

describe("bad input: SimObject, kfree, Kref", () => {
  it("new SimObject(): bad sim, typeName and options name the argument; nothing is allocated", () => {
    const sim = new Sim();
    const other = new Sim();
    const container = new SimObject(other, "Box");
    const live = sim.liveObjects().length;
    expectThrows(() => new SimObject(null as never, "Thing"), ArgumentError, "sim");
    expectThrows(() => new SimObject(sim, ""), ArgumentError, "typeName");
    const cases: [unknown, string][] = [
      [null, "options"],
      [{ nmae: "x" }, "nmae"],
      [{ name: 5 }, "name"],
      [{ static: "yes" }, "static"],
      [{ embeddedIn: {} }, "embeddedIn"],
      [{ embeddedIn: container }, "embeddedIn"],
    ];
    for (const [options, argument] of cases) expectThrows(() => new SimObject(sim, "Thing", options as SimObjectOptions), ArgumentError, argument);
    expect(sim.liveObjects().length).toBe(live);
  });

  it("kfree(): an argument that is not a SimObject names 'obj'", () => {
    expectThrows(() => kfree(5 as never), ArgumentError, "obj");
  });

  it("kfree() driven by hand outside any task is a UsageError; the object stays live", () => {
    const sim = new Sim();
    const bo = new SimObject(sim, "Bo");
    expectThrows(() => {
      for (const e of kfree(bo)) expect(e).toBeUndefined();
    }, UsageError);
    expectThrows(() => [...kfree(bo)], UsageError);
    expect(bo.isFreed).toBe(false);
    expect(sim.liveObjects()).toContain(bo);
    expect(sim.step).toBe(0);
  });

  it("kfree() of another Sim's object in a task is a ForeignSimError naming both Sims; nothing is freed in either", () => {
    const mine = collectingSim();
    const theirs = collectingSim();
    const bo = new SimObject(theirs, "Bo", { name: "theirs" });
    mine.run(function* () {
      let e: unknown;
      try {
        yield* kfree(bo);
      } catch (error) {
        e = error;
      }
      expect(e).toBeInstanceOf(ForeignSimError);
      expect((e as ForeignSimError).argument).toBe("obj");
      expect((e as Error).message).toContain(theirs.label);
      expect((e as Error).message).toContain(mine.label);
    });
    expect(bo.isFreed).toBe(false);
    expect(theirs.liveObjects()).toContain(bo);
    expect(mine.reports).toEqual([]);
  });

  it("uncaught, the ForeignSimError is that task's task-exception report; the object is untouched", () => {
    const mine = collectingSim({}, { taskExceptions: "expected" });
    const theirs = new Sim();
    const bo = new SimObject(theirs, "Bo");
    mine.spawn("t", "process", function* () {
      yield* kfree(bo);
    });
    mine.runAll();
    expect(mine.reports).toMatchObject([{ kind: "task-exception", task: "t/1", error: expect.stringMatching(/^ForeignSimError: invalid argument 'obj': kfree: Bo#1 belongs to Sim#/) as unknown }]);
    expect(bo.isFreed).toBe(false);
  });

  it("new SimObject(sim) inside a task of another Sim is a ForeignSimError", () => {
    const mine = collectingSim();
    const theirs = new Sim();
    mine.run(function* () {
      expectThrows(() => new SimObject(theirs, "Bo"), ForeignSimError, "sim");
      yield* [];
    });
    expect(theirs.liveObjects()).toEqual([]);
  });

  it("new Kref(): bad owner and options name the argument", () => {
    const sim = new Sim();
    const bo = new SimObject(sim, "Bo", { static: true });
    expectThrows(() => new Kref(null as never), ArgumentError, "owner");
    expectThrows(() => new Kref(bo, null as never), ArgumentError, "options");
    expectThrows(() => new Kref(bo, { holdr: "x" } as never), ArgumentError, "holdr");
    expectThrows(() => new Kref(bo, { holder: 5 } as never), ArgumentError, "holder");
    expect(bo.krefs).toBeNull();
  });

  it("kref get/put driven outside a task is a UsageError; the count is unchanged", () => {
    const sim = new Sim();
    const bo = new SimObject(sim, "Bo", { static: true });
    const kref = new Kref(bo);
    expectThrows(() => kref.get()[Symbol.iterator]().next(), UsageError);
    expectThrows(() => (kref.get() as unknown as Iterator<unknown>).next(), UsageError);
    expectThrows(() => [...kref.put(freeIt)], UsageError);
    expect(kref.read()).toBe(1);
  });

  it("kref get/put of another Sim's object in a task is a ForeignSimError; the count is unchanged in both", () => {
    const mine = collectingSim();
    const theirs = new Sim();
    const bo = new SimObject(theirs, "Bo", { static: true });
    const kref = new Kref(bo);
    mine.run(function* () {
      for (const op of [() => kref.get(), () => kref.getUnlessZero(), () => kref.put(freeIt)]) {
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
    expect(kref.read()).toBe(1);
    expect(mine.reports).toEqual([]);
  });
});
