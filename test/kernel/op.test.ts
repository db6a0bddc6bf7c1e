import { describe, expect, it } from "vitest";
import { condResched, defineOp, Sim, UsageError, type Effect, type Report } from "../../src/index.js";
import { Bo, freeIt } from "../fixtures.js";

type Unstarted = Extract<Report, { kind: "unstarted-op" }>;

describe("Op", () => {
  it("defineOp makes ops that run with yield* and return their value", () => {
    const double = defineOp("double", function* (n: number) {
      yield* condResched();
      return n * 2;
    });
    const sim = new Sim();
    expect(sim.run(function* () { return yield* double(21); })).toBe(42);
  });

  it("reports an op created and never started before the task yields again", () => {
    // 1. main creates kref_get without yield*   2. main yields (cond_resched) -> report
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const bo = new Bo(sim);
      bo.kref.get("lost");
      yield* condResched();
      yield* bo.kref.put(freeIt);
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["unstarted-op"]);
    const r = sim.reports[0] as Unstarted;
    expect(r.op).toBe("kref_get");
    expect(r.noticed).toBe("yield");
    expect(r.created).toEqual({ task: "main/1", step: 1, op: "kref_get" });
  });

  it("reports an op still unstarted when its task ends", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const bo = new Bo(sim);
      yield* bo.kref.get();
      bo.kref.put(freeIt);
    });
    const r = sim.reports[0] as Unstarted;
    expect(r).toMatchObject({ kind: "unstarted-op", op: "kref_put", noticed: "exit" });
  });

  it("reports `yield op` written for `yield* op`", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      yield condResched() as unknown as Effect;
    });
    const r = sim.reports[0] as Unstarted;
    expect(r).toMatchObject({ kind: "unstarted-op", op: "cond_resched", noticed: "yielded-op" });
  });

  it("user ops from defineOp get the same protection", () => {
    const touch = defineOp("touch_bo", function* () {
      yield* condResched();
    });
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      touch();
      yield* condResched();
    });
    expect((sim.reports[0] as Unstarted).op).toBe("touch_bo");
  });

  it("still reports when one step creates more ops than it remembers", () => {
    const sim = new Sim({ onReport: "collect" });
    const noop = defineOp("noop", function* () {
      // returns without a single effect
    });
    sim.run(function* () {
      // 20 ops in one step; only the first is never started, and the ring of
      // 16 has forgotten it by the time the task yields.
      const ops = Array.from({ length: 20 }, () => noop());
      for (const op of ops.slice(1)) yield* op;
      yield* condResched();
    });
    expect(sim.reports.map((r) => (r as Unstarted).op)).toEqual(["(not remembered)"]);
  });

  it("runs at most once", () => {
    const sim = new Sim();
    expect(() => { sim.run(function* () {
        const op = condResched();
        yield* op;
        yield* op;
      }); },
    ).toThrow(UsageError);
  });

  it("ops created outside any task are not tracked", () => {
    const sim = new Sim({ onReport: "collect" });
    const op = condResched();
    sim.run(function* () {
      yield* op;
    });
    expect(sim.reports).toEqual([]);
  });

  it("captures the creating stack when captureStacks is on", () => {
    const sim = new Sim({ onReport: "collect", captureStacks: true });
    sim.run(function* () {
      condResched();
      yield* condResched();
    });
    expect((sim.reports[0] as Unstarted).created.stack).toContain("op.test.ts");
  });

  it("does not report with the unstartedOps check off", () => {
    const sim = new Sim({ onReport: "collect", checks: { unstartedOps: false } });
    sim.run(function* () {
      condResched();
      yield* condResched();
    });
    expect(sim.reports).toEqual([]);
  });
});
